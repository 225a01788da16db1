"""The node: validation, routing by (interface, family, VRID), counters, sync groups."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.builders import config, instance
from tests.harness import ME, ME6, PEER, changes, kinds
from vrrpd.core.actions import PacketDropped, RunNotify, StateChanged
from vrrpd.core.config import NotifyConfig, SyncGroupConfig
from vrrpd.core.constants import Family
from vrrpd.core.errors import ConfigurationError
from vrrpd.core.events import DatagramReceived, LinkChanged, Startup, TimerFired
from vrrpd.core.node import Node
from vrrpd.core.packet import Advertisement, encode
from vrrpd.core.state import State

MCAST = IPv4Address("224.0.0.18")


def _started(cfg: object, *interfaces: str) -> Node:
    node = Node(cfg)  # type: ignore[arg-type]
    for iface in interfaces or ("eth0",):
        node.handle(LinkChanged(iface, True, (ME, ME6)), now=0.0)
    node.handle(Startup(), now=0.0)
    return node


def _advert(
    vrid: int, priority: int = 200, version: int = 3, addresses: tuple[str, ...] = ("192.0.2.100",)
) -> bytes:
    from ipaddress import ip_address

    advert = Advertisement(version, vrid, priority, 100, tuple(ip_address(a) for a in addresses))
    return encode(advert, src=PEER, dst=MCAST)


def _rx(node: Node, data: bytes, now: float = 1.0, iface: str = "eth0") -> list[object]:
    return list(node.handle(DatagramReceived(iface, Family.V4, PEER, MCAST, 255, data), now=now))


def test_invalid_config_is_refused_with_every_problem() -> None:
    with pytest.raises(ConfigurationError) as info:
        Node(config(instance(vrid=0, priority=300)))
    assert "instances.web.vrid: must be 1..255 (got 0)" in str(info.value)
    assert "instances.web.priority: must be 1..255 (got 300)" in str(info.value)


def test_routes_by_vrid_and_interface() -> None:
    node = _started(
        config(
            instance("a", vrid=1), instance("b", vrid=2), instance("c", vrid=1, interface="eth1")
        ),
        "eth0",
        "eth1",
    )
    _rx(node, _advert(2, addresses=("192.0.2.100",)))
    assert node.statistics().instances["b"].counters["rcvd_advertisements"] == 1
    assert node.statistics().instances["a"].counters["rcvd_advertisements"] == 0
    _rx(node, _advert(1), iface="eth1")
    assert node.statistics().instances["c"].counters["rcvd_advertisements"] == 1
    assert node.statistics().instances["a"].counters["rcvd_advertisements"] == 0


def test_unknown_vrid_counts_router_wide() -> None:
    node = _started(config(instance()))
    [drop] = _rx(node, _advert(99))
    assert isinstance(drop, PacketDropped)
    assert (drop.instance, drop.reason, drop.detail) == (
        None,
        "no instance for this VRID",
        "VRID 99",
    )
    assert node.statistics().vrid_errors == 1


def test_broken_packet_is_counted_against_its_instance_when_the_vrid_is_readable() -> None:
    node = _started(config(instance()))
    wire = bytearray(_advert(51))
    wire[7] ^= 0xFF
    [drop] = _rx(node, bytes(wire))
    assert isinstance(drop, PacketDropped)
    assert (drop.instance, drop.reason) == ("web", "bad checksum")
    stats = node.statistics()
    assert stats.checksum_errors == 0  # counted once: against the instance, not router-wide too
    assert stats.instances["web"].counters["checksum_errors"] == 1
    assert stats.instances["web"].counters["proto_err_reason"] == "checksumError"
    [drop] = _rx(node, b"\x31")
    assert isinstance(drop, PacketDropped)
    assert (drop.instance, drop.reason) == (None, "truncated")
    [drop] = _rx(node, b"\x41\x63" + bytes(10))  # VRID 99: no instance, so router-wide
    assert isinstance(drop, PacketDropped)
    assert drop.reason == "bad version"
    assert (stats.version_errors, node.statistics().version_errors) == (
        0,
        1,
    )  # snapshots are frozen


@given(st.binary(max_size=64), st.integers(0, 255), st.sampled_from(Family))
def test_any_datagram_never_raises(data: bytes, ttl: int, family: Family) -> None:
    node = _started(config(instance(), instance("v6", vrid=52, vips=("2001:db8::1/64",))))
    src, dst = (PEER, MCAST) if family is Family.V4 else (ME6, family.multicast_group)
    node.handle(DatagramReceived("eth0", family, src, dst, ttl, data), now=1.0)
    node.handle(TimerFired(), now=100.0)


def test_next_deadline_is_none_before_startup() -> None:
    node = Node(config(instance()))
    assert node.next_deadline() is None
    assert node.handle(TimerFired(), now=1.0) == []


# ---------------------------------------------------------------- sync groups


def _group(**notify: str) -> object:
    return config(
        instance("web", vrid=51, priority=150),
        instance("db", vrid=52, priority=150, interface="eth1", vips=("198.51.100.10/24",)),
        groups=(SyncGroupConfig("front", ("web", "db"), NotifyConfig(**notify)),),
    )


def test_sync_group_members_become_master_together() -> None:
    node = _started(_group(), "eth0", "eth1")
    node.handle(
        DatagramReceived(
            "eth1", Family.V4, PEER, MCAST, 255, _advert(52, addresses=("198.51.100.10",))
        ),
        now=0.5,
    )
    actions = node.handle(
        TimerFired(), now=3.5
    )  # web's timer; db heard a master at 0.5 and waits longer
    assert [(a.instance, a.new) for a in actions if isinstance(a, StateChanged)] == [
        ("web", State.MASTER),
        ("db", State.MASTER),
    ]
    assert node.routers["db"].last_reason == "sync group front: web BACKUP → MASTER"


def test_sync_group_fault_in_one_is_fault_in_all_until_it_clears() -> None:
    node = _started(_group(fault="/group-fault", backup="/group-backup"), "eth0", "eth1")
    actions = node.handle(LinkChanged("eth1", False, (ME,)), now=1.0)
    assert {(a.instance, a.new) for a in actions if isinstance(a, StateChanged)} == {
        ("db", State.FAULT),
        ("web", State.FAULT),
    }
    assert node.routers["web"].faults == {"sync:front": "sync group front: db in FAULT"}
    group_hooks = [(a.instance, a.command, a.group) for a in actions if isinstance(a, RunNotify)]
    assert group_hooks == [("front", "/group-fault", "front")]
    actions = node.handle(LinkChanged("eth1", True, (ME,)), now=2.0)
    assert {(a.instance, a.new) for a in actions if isinstance(a, StateChanged)} == {
        ("db", State.BACKUP),
        ("web", State.BACKUP),
    }
    assert [a.command for a in actions if isinstance(a, RunNotify)] == ["/group-backup"]


def test_sync_group_members_leave_mastership_together() -> None:
    node = _started(_group(master="/gm", any="/gany"), "eth0", "eth1")
    actions = node.handle(TimerFired(), now=10.0)
    assert node.routers["web"].state is node.routers["db"].state is State.MASTER
    assert [(a.command, a.keepalived_args) for a in actions if isinstance(a, RunNotify)] == [
        ("/gm", False),
        ("/gany", True),
    ]
    actions = _rx(node, _advert(51, priority=200), now=10.5)
    assert node.routers["web"].state is node.routers["db"].state is State.BACKUP
    assert [c[2] for c in changes(actions)] == [
        f"higher priority 200 from {PEER} (ours 150)",
        "sync group front: web MASTER → BACKUP",
    ]
    later = node.handle(TimerFired(), now=10.52)  # both members' VIPs go after the grace
    assert sorted(a.instance for a in later if type(a).__name__ == "RemoveAddresses") == [
        "db",
        "web",
    ]


def test_group_with_unknown_member_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no instance named 'nope'"):
        Node(config(instance(), groups=(SyncGroupConfig("g", ("web", "nope")),)))


# ---------------------------------------------------------------- reload (ConfigChanged)


def test_reload_keeps_unchanged_instances_and_applies_soft_changes_in_place() -> None:
    from vrrpd.core.actions import Notice, SendAdvert
    from vrrpd.core.events import ConfigChanged

    cfg = config(
        instance("web", priority=150),
        instance("db", vrid=52, priority=150, vips=("192.0.2.200/24",)),
    )
    node = _started(cfg)
    node.handle(TimerFired(), now=10.0)
    assert node.routers["web"].state is node.routers["db"].state is State.MASTER
    web_before, db_before = node.routers["web"], node.routers["db"]
    new = config(
        instance("web", priority=150),  # unchanged
        instance("db", vrid=52, priority=120, vips=("192.0.2.200/24",)),  # priority only: in place
        instance("api", vrid=53, vips=("192.0.2.201/24",)),  # new
    )
    actions = node.handle(ConfigChanged(new), now=10.5)
    assert node.routers["web"] is web_before
    assert node.routers["db"] is db_before
    assert node.routers["db"].state is State.MASTER  # no release, VIPs kept
    moved = [(a.instance, a.old, a.new) for a in actions if isinstance(a, StateChanged)]
    assert moved == [("api", State.INIT, State.BACKUP)]
    assert [a.priority for a in actions if isinstance(a, SendAdvert) and a.instance == "db"] == [
        120
    ]
    assert any(isinstance(a, Notice) and a.message == "priority reload: 150 → 120" for a in actions)
    assert not any(getattr(a, "instance", None) == "web" for a in actions)
    # the VIPs change in place (issue 7: each such reload used to release the instance):
    # only the address that changed moves, announced, and the new list is advertised
    from vrrpd.core.actions import AddAddresses, RemoveAddresses

    newer = config(
        instance("web", priority=150),
        instance("db", vrid=52, priority=120, vips=("192.0.2.200/24", "192.0.2.210/24")),
    )
    actions = node.handle(ConfigChanged(newer), now=10.6)
    moved = [(a.instance, a.old, a.new) for a in actions if isinstance(a, StateChanged)]
    assert moved == [("api", State.BACKUP, State.INIT)]  # only the instance that left
    assert node.routers["db"] is db_before
    assert node.routers["db"].state is State.MASTER
    db = [a for a in actions if getattr(a, "instance", None) == "db"]
    assert [type(a).__name__ for a in db] == [
        "Notice", "AddAddresses", "SendGratuitousArp", "SendAdvert",
    ]  # fmt: skip
    added = next(a for a in db if isinstance(a, AddAddresses))
    assert [str(v.address) for v in added.addresses] == ["192.0.2.210/24"]
    advert = next(a for a in db if isinstance(a, SendAdvert))
    assert advert.data[3] == 2  # two addresses in the advert now
    fewer = config(
        instance("web", priority=150),
        instance("db", vrid=52, priority=120, vips=("192.0.2.210/24",)),
    )
    actions = node.handle(ConfigChanged(fewer), now=10.7)
    removed = [a for a in actions if isinstance(a, RemoveAddresses)]
    assert [[str(v.address) for v in a.addresses] for a in removed] == [["192.0.2.200/24"]]
    assert not any(isinstance(a, StateChanged) for a in actions)
    # a change of identity (here the VRID) is another router: released, then started
    other = config(
        instance("web", priority=150),
        instance("db", vrid=54, priority=120, vips=("192.0.2.210/24",)),
    )
    actions = node.handle(ConfigChanged(other), now=10.8)
    moved = [(a.instance, a.old, a.new) for a in actions if isinstance(a, StateChanged)]
    assert moved == [("db", State.MASTER, State.INIT), ("db", State.INIT, State.BACKUP)]
    assert set(node.routers) == {"web", "db"}


def test_reload_dropping_a_weight_zero_check_clears_its_fault() -> None:
    from vrrpd.core.config import CheckConfig, TrackScript
    from vrrpd.core.events import CheckFinished, ConfigChanged

    check = CheckConfig("chk", "/bin/false", weight=0)
    node = _started(config(instance(track_scripts=(TrackScript("chk"),)), scripts=(check,)))
    node.handle(CheckFinished("chk", False, 1), now=0.1)
    assert node.routers["web"].state is State.FAULT
    node.handle(ConfigChanged(config(instance(), scripts=(check,))), now=1.0)
    assert node.routers["web"].state is State.BACKUP
    assert node.routers["web"].faults == {}


def test_reload_with_an_invalid_config_keeps_running() -> None:
    from vrrpd.core.actions import Notice
    from vrrpd.core.events import ConfigChanged

    node = _started(config(instance()))
    [notice] = node.handle(ConfigChanged(config(instance(vrid=0))), now=1.0)
    assert isinstance(notice, Notice)
    assert notice.message == "reload refused: instances.web.vrid: must be 1..255 (got 0)"
    assert node.routers["web"].state is State.BACKUP


def test_reload_adds_a_check_and_new_instances_see_known_check_results() -> None:
    from vrrpd.core.actions import RunCheck
    from vrrpd.core.config import CheckConfig, TrackScript
    from vrrpd.core.events import CheckFinished, ConfigChanged

    check = CheckConfig("chk", "/bin/false", weight=-30)
    node = _started(config(instance(), scripts=(check,)))
    node.handle(CheckFinished("chk", False, 1), now=0.1)
    new_check = CheckConfig("chk2", "/bin/true")
    cfg = config(
        instance(),
        instance("api", vrid=53, track_scripts=(TrackScript("chk"),)),
        scripts=(check, new_check),
    )
    actions = node.handle(ConfigChanged(cfg), now=1.0)
    assert [a.name for a in actions if isinstance(a, RunCheck)] == ["chk", "chk2"]
    assert node.routers["api"].priority == 70


# ---------------------------------------------------------------- other trackers


def test_tracked_interface_without_weight_is_fault_with_weight_lowers_priority() -> None:
    from vrrpd.core.config import TrackInterface

    node = _started(
        config(
            instance("web", track_interfaces=(TrackInterface("eth1"),)),
            instance(
                "db",
                vrid=52,
                vips=("192.0.2.200/24",),
                track_interfaces=(TrackInterface("eth1", -30),),
            ),
        )
    )
    node.handle(LinkChanged("eth1", False), now=1.0)
    assert node.routers["web"].state is State.FAULT
    assert node.routers["web"].last_reason == "interface eth1 down (weight 0)"
    assert node.routers["db"].priority == 70
    node.handle(LinkChanged("eth1", True), now=2.0)
    assert node.routers["web"].state is State.BACKUP
    assert node.routers["db"].priority == 100


def test_tracked_file_value_times_weight_and_weight_zero_faults_on_nonzero() -> None:
    from vrrpd.core.config import TrackFile
    from vrrpd.core.events import FileRead

    node = _started(
        config(
            instance("web", track_files=(TrackFile("/run/prio", 10),)),
            instance(
                "db", vrid=52, vips=("192.0.2.200/24",), track_files=(TrackFile("/run/prio", 0),)
            ),
        )
    )
    node.handle(FileRead("/run/prio", 3), now=1.0)
    assert node.routers["web"].priority == 130
    assert node.routers["web"].priority_reason == "file /run/prio = 3 up (weight +10): 100 → 130"
    assert node.routers["db"].state is State.FAULT
    node.handle(FileRead("/run/prio", None), now=2.0)  # missing: counts as 0
    assert node.routers["web"].priority == 100
    assert node.routers["db"].state is State.BACKUP


def test_tracked_process_quorum() -> None:
    from vrrpd.core.config import TrackProcess
    from vrrpd.core.events import ProcessesCounted

    node = _started(config(instance(track_processes=(TrackProcess("haproxy", -60, quorum=2),))))
    node.handle(ProcessesCounted("haproxy", 2), now=1.0)
    assert node.routers["web"].priority == 100
    node.handle(ProcessesCounted("haproxy", 1), now=2.0)
    assert node.routers["web"].priority == 40
    stats = node.statistics().instances["web"]
    assert stats.contributions == (("process haproxy (1 running, quorum 2)", "DOWN", -60),)
    node.handle(ProcessesCounted("other", 0), now=3.0)
    assert node.routers["web"].priority == 40


def _accounted(node: Node) -> None:
    """Every packet is an accepted advert or a drop, never both, never neither."""
    stats = node.statistics()
    accepted = sum(int(i.counters["rcvd_advertisements"]) for i in stats.instances.values())  # type: ignore[call-overload]
    assert stats.packets_received == accepted + stats.dropped


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=48),
            st.builds(
                lambda vrid, prio, ver, flip: bytes(
                    b ^ (0xFF if i == flip else 0) for i, b in enumerate(_advert(vrid, prio, ver))
                ),
                st.sampled_from([51, 52, 99, 0]),
                st.integers(0, 255),
                st.sampled_from([2, 3]),
                st.integers(-1, 20),
            ),
        ),
        max_size=30,
    ),
    st.integers(0, 255),
)
def test_each_packet_is_counted_exactly_once(packets: list[bytes], ttl: int) -> None:
    """Issue 8 §3: the error counters summed to 1.29 per invalid frame (router-wide and
    instance counters both counted some drops)."""
    node = _started(config(instance(), instance("b", vrid=52)))
    for i, data in enumerate(packets):
        node.handle(DatagramReceived("eth0", Family.V4, PEER, MCAST, ttl, data), now=1.0 + i / 100)
    _accounted(node)


def test_every_refusal_has_exactly_one_counter() -> None:
    from vrrpd.core.errors import DropReason
    from vrrpd.core.receive import COUNTER_OF_REASON, ROUTER_WIDE

    assert set(COUNTER_OF_REASON) | ROUTER_WIDE == set(DropReason)
    assert not set(COUNTER_OF_REASON) & ROUTER_WIDE


def test_an_instance_kept_unchanged_by_a_reload_still_hears_its_check() -> None:
    """The trackers of instances a reload leaves alone must stay wired to their checks."""
    from vrrpd.core.config import CheckConfig, TrackScript
    from vrrpd.core.events import CheckFinished, ConfigChanged

    check = CheckConfig("chk", "/bin/true", interval=1.0, weight=-50)
    cfg = config(instance(priority=150, track_scripts=(TrackScript("chk"),)), scripts=(check,))
    node = _started(cfg)
    node.handle(ConfigChanged(cfg), now=0.5)  # the same file again: the instance is kept
    node.handle(TimerFired(), now=1.0)
    node.handle(CheckFinished("chk", False, 1, 0.01), now=1.1)
    assert node.statistics().instances["web"].priority == 100


def test_a_reload_changes_a_masters_interval_in_place() -> None:
    from vrrpd.core.actions import SendAdvert
    from vrrpd.core.events import ConfigChanged

    node = _started(config(instance(priority=150, advert_interval=1.0)))
    node.handle(TimerFired(), now=10.0)
    faster = config(instance(priority=150, advert_interval=0.5))
    actions = node.handle(ConfigChanged(faster), now=10.2)
    assert not any(isinstance(a, StateChanged) for a in actions)
    sent = [a for a in actions if isinstance(a, SendAdvert)]
    assert len(sent) == 1
    assert sent[0].data[4:6] == (50).to_bytes(2, "big")  # v3: 50 centiseconds
    assert node.next_deadline() == pytest.approx(10.7)


def test_announce_requested_reaches_only_the_named_masters() -> None:
    from vrrpd.core.actions import SendGratuitousArp
    from vrrpd.core.events import AnnounceRequested

    node = _started(config(instance("web", priority=150), instance("db", vrid=52, priority=150)))
    node.handle(TimerFired(), now=10.0)
    everyone = node.handle(AnnounceRequested(), now=11.0)
    assert {a.instance for a in everyone if isinstance(a, SendGratuitousArp)} == {"web", "db"}
    one = node.handle(AnnounceRequested(("db",)), now=12.0)
    assert {a.instance for a in one if isinstance(a, SendGratuitousArp)} == {"db"}
    backup = _started(config(instance("web")))
    assert backup.handle(AnnounceRequested(), now=1.0) == []  # a backup holds nothing


def test_a_group_forced_master_takes_the_old_masters_trailing_advert_for_no_split_brain() -> None:
    """Issue 14 item 9: db, forced MASTER by web, hears db's old master once more (it has
    not heard us yet). Before, that was a "split brain healed": a second ARP burst."""
    node = _started(_group(), "eth0", "eth1")
    db_advert = _advert(52, addresses=("198.51.100.10",))
    node.handle(DatagramReceived("eth1", Family.V4, PEER, MCAST, 255, db_advert), now=0.5)
    node.handle(TimerFired(), now=3.5)
    assert node.routers["db"].state is State.MASTER
    trailing = _advert(52, priority=100, addresses=("198.51.100.10",))
    actions = node.handle(DatagramReceived("eth1", Family.V4, PEER, MCAST, 255, trailing), now=3.6)
    assert kinds(actions) == ["SendAdvert"]
    # a lower master heard again after it went quiet is a split brain, healed
    actions = node.handle(DatagramReceived("eth1", Family.V4, PEER, MCAST, 255, trailing), now=30.0)
    assert "SendGratuitousArp" in kinds(actions)
