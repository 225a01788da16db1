"""`excluded_addresses`: held by the master, never advertised (Keepalived's
virtual_ipaddress_excluded), either family; and `reverse` weights on trackers."""

from __future__ import annotations

from ipaddress import ip_address, ip_interface

import pytest

from tests.builders import config, instance
from tests.harness import Harness, decoded_adverts
from vrrpd.config.loader import ConfigInvalid, loads
from vrrpd.core.actions import AddAddresses, RemoveAddresses, SendGratuitousArp
from vrrpd.core.config import TrackFile, VirtualAddress
from vrrpd.core.events import ConfigChanged, Shutdown
from vrrpd.core.state import State
from vrrpd.core.tracking import Tracker, TrackerKind, TrackerStatus, trackers

EXCLUDED = (
    VirtualAddress(ip_interface("192.0.2.200/32")),
    VirtualAddress(ip_interface("2001:db8::200/64")),
)


def _owner_v2() -> Harness:
    return Harness(config(instance(priority=255, version=2, excluded_addresses=EXCLUDED)))


def test_the_master_holds_excluded_addresses_but_advertises_only_the_vips() -> None:
    h = _owner_v2()
    assert h.state is State.MASTER
    added = [a for a in h.actions if isinstance(a, AddAddresses)]
    assert [str(v.address) for a in added for v in a.addresses] == [
        "192.0.2.100/24",
        "192.0.2.200/32",
        "2001:db8::200/64",
    ]
    assert [a.addresses for a in decoded_adverts(h.actions)] == [(ip_address("192.0.2.100"),)]
    garp = [a for a in h.actions if isinstance(a, SendGratuitousArp)]
    assert [ip for a in garp for ip in a.addresses] == [
        ip_address("192.0.2.100"),
        ip_address("192.0.2.200"),
    ]  # the IPv6 one is not ARP's
    removed = [a for a in h.feed(Shutdown()) if isinstance(a, RemoveAddresses)]
    assert [str(v.address) for a in removed for v in a.addresses] == [
        "192.0.2.100/24",
        "192.0.2.200/32",
        "2001:db8::200/64",
    ]


def test_a_v2_peer_advertising_only_the_vips_is_not_an_address_mismatch() -> None:
    h = Harness(config(instance(priority=100, version=2, excluded_addresses=EXCLUDED)))
    h.receive(200)  # the harness sends the configured VIPs only, as Keepalived does
    stats = h.node.statistics().instances["web"].counters
    assert stats.get("addr_list_err", 0) == 0
    assert h.router.master_priority == 200


def test_the_loader_reads_excluded_addresses_of_either_family() -> None:
    cfg = loads(
        "instances:\n"
        "  web:\n"
        "    interface: eth0\n"
        "    vrid: 51\n"
        "    version: 2\n"
        "    virtual_addresses: [192.0.2.100/24]\n"
        "    excluded_addresses: [192.0.2.200, {address: '2001:db8::200/64', dev: eth1}]\n"
    )
    inst = cfg.instances[0]
    assert [str(v.address) for v in inst.excluded_addresses] == [
        "192.0.2.200/32",
        "2001:db8::200/64",
    ]
    assert inst.excluded_addresses[1].dev == "eth1"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[192.0.2.999]", "t.yaml:7:26: instances.web.excluded_addresses[0]: must be an address"),
        (
            "[192.0.2.100]",
            "t.yaml:7:26: instances.web.excluded_addresses[0]: 192.0.2.100 is also in virtual_addresses",
        ),
    ],
)
def test_a_bad_excluded_address_is_refused_with_its_position(value: str, message: str) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        loads(
            "instances:\n  web:\n    interface: eth0\n    vrid: 51\n    version: 2\n"
            f"    virtual_addresses: [192.0.2.100/24]\n    excluded_addresses: {value}\n",
            "t.yaml",
        )
    assert str(refused.value).startswith(message), str(refused.value)


def test_reverse_negates_a_weight_as_keepalived_does() -> None:
    """Keepalived 2.2.7 in a namespace: `weight 10 reverse` gives 90 while the check
    succeeds and 100 while it fails; `weight -3 reverse` gives +3 while it fails."""
    up, down = TrackerStatus.UP, TrackerStatus.DOWN
    assert Tracker(TrackerKind.CHECK, "chk", 10, reverse=True).judge(up).delta == -10
    assert Tracker(TrackerKind.CHECK, "chk", 10, reverse=True).judge(down).delta == 0
    assert Tracker(TrackerKind.CHECK, "chk", -3, reverse=True).judge(down).delta == 3
    assert Tracker(TrackerKind.FILE, "/f", 3, reverse=True).judge(5).delta == -15
    inst = instance(track_files=(TrackFile("/f", 3, reverse=True),))
    assert trackers(inst, {})[0].reverse


def test_reverse_without_a_weight_is_refused() -> None:
    with pytest.raises(ConfigInvalid, match="reverse needs a non-zero weight"):
        loads(
            "instances:\n  web:\n    interface: eth0\n    vrid: 51\n"
            "    virtual_addresses: [192.0.2.100/24]\n"
            "    track_interfaces: [{name: eth1, reverse: true}]\n"
        )


def test_a_reload_that_changes_only_excluded_addresses_moves_them_on_the_master() -> None:

    h = _owner_v2()
    changed = config(instance(priority=255, version=2, excluded_addresses=EXCLUDED[:1]))
    actions = h.feed(ConfigChanged(changed))
    removed = [a for a in actions if isinstance(a, RemoveAddresses)]
    assert [str(v.address) for a in removed for v in a.addresses] == ["2001:db8::200/64"]
