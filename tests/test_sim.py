"""Election properties on the simulated LAN (virtual time: exact)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from tests.builders import checked, config, instance
from vrrpd.core.state import State
from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.sim import Lan, outages

V4 = {"a": "192.0.2.11", "b": "192.0.2.12", "c": "192.0.2.13"}
V6 = {"a": "fe80::11", "b": "fe80::12", "c": "fe80::13"}


def lan_of(
    priorities: dict[str, int],
    *,
    version: int = 3,
    v6: bool = False,
    unicast: bool = False,
    **kw: object,
) -> Lan:
    lan = Lan()
    vip = "2001:db8::100/64" if v6 else "192.0.2.100/24"
    addresses = V6 if v6 else V4
    for name, priority in priorities.items():
        peers = tuple(ip_address(addresses[p]) for p in priorities if p != name) if unicast else ()
        cfg = config(
            instance(priority=priority, version=version, vips=(vip,), unicast_peers=peers, **kw)
        )
        lan.add_host(name, cfg, addresses[name], "fe80::ff" if not v6 else "192.0.2.99")
    return lan


VARIANTS = [
    pytest.param({}, id="v3-ipv4-multicast"),
    pytest.param({"version": 2}, id="v2-ipv4"),
    pytest.param({"v6": True}, id="v3-ipv6"),
    pytest.param({"unicast": True}, id="v3-ipv4-unicast"),
    pytest.param({"v6": True, "unicast": True}, id="v3-ipv6-unicast"),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("priorities", [{"a": 100, "b": 200}, {"a": 150, "b": 100, "c": 120}])
def test_one_master_the_highest_priority(
    variant: dict[str, object], priorities: dict[str, int]
) -> None:
    lan = lan_of(priorities, **variant)  # type: ignore[arg-type]
    lan.start(*priorities)
    lan.run_for(20)
    best = max(priorities, key=priorities.__getitem__)
    assert lan.masters("web") == [best]
    vip = "2001:db8::100" if variant.get("v6") else "192.0.2.100"
    assert lan.holders(vip) == [best]


def test_equal_priorities_tie_break_on_the_highest_address() -> None:
    """All three time out together and become masters; then the highest address wins."""
    lan = lan_of({"a": 100, "b": 100, "c": 100})
    lan.delay = 0.001
    lan.start("a", "b", "c")
    lan.run_for(20)
    assert lan.masters("web") == ["c"]  # 192.0.2.13
    assert {lan.became(n, "web", State.MASTER) for n in "abc"} == {
        master_down_interval(100, 100, 3)
    }


def test_an_established_master_is_not_displaced_by_an_equal_priority_higher_address() -> None:
    """RFC 5798 6.4.2: a backup follows any advert with priority >= its own (Keepalived agrees)."""
    lan = lan_of({"a": 100, "c": 100})
    lan.start("a")
    lan.run_for(10)
    lan.start("c")
    lan.run_for(20)
    assert lan.masters("web") == ["a"]


def test_silent_master_death_takeover_exactly_at_master_down_interval() -> None:
    lan = lan_of({"a": 200, "b": 150, "c": 100})
    lan.start("a", "b", "c")
    lan.run_for(10)
    lan.kill("a")
    lan.run_for(10)
    assert lan.masters("web") == ["b"]
    took_over = lan.became("b", "web", State.MASTER)
    last = lan.last_heard("b", "web", before=10.0)
    assert last is not None
    assert took_over == last + master_down_interval(150, 100, 3)
    # the client sees an outage from the death to the takeover only
    assert outages(lan, "192.0.2.100", 10.0, 20.0) == [(10.0, took_over)]


def test_v3_backup_uses_the_interval_learned_from_the_master() -> None:
    lan = Lan()
    lan.add_host("a", config(instance(priority=200, advert_interval=0.1)), "192.0.2.11")
    lan.add_host("b", config(instance(priority=100, advert_interval=1.0)), "192.0.2.12")
    lan.start("a", "b")
    lan.run_for(10)
    lan.kill("a")
    lan.run_for(5)
    last = lan.last_heard("b", "web", before=10.0)
    assert last is not None
    assert lan.became("b", "web", State.MASTER) == last + master_down_interval(100, 10, 3)


def test_graceful_release_takeover_after_skew_time() -> None:
    lan = lan_of({"a": 200, "b": 150, "c": 100})
    lan.start("a", "b", "c")
    lan.run_for(10)
    lan.stop("a")
    lan.run_for(5)
    assert lan.masters("web") == ["b"]
    assert lan.became("b", "web", State.MASTER) == 10.0 + skew_time(150, 100, 3)
    assert lan.holders("192.0.2.100") == ["b"]


def test_preempt_the_returning_higher_priority_node_takes_over() -> None:
    """RFC 5798's timer: Master_Down_Interval after the returning node started."""
    lan = lan_of({"a": 200, "b": 100}, fast_preempt=False)
    lan.start("b")
    lan.run_for(10)
    lan.start("a")
    lan.run_for(10)
    assert lan.masters("web") == ["a"]
    assert lan.became("a", "web", State.MASTER) == 10.0 + master_down_interval(200, 100, 3)
    assert outages(lan, "192.0.2.100", 10.0, 20.0) == []  # a adds before b removes


def test_fast_preempt_the_returning_node_takes_over_skew_time_after_hearing_the_master() -> None:
    lan = lan_of({"a": 200, "b": 100})
    lan.start("b")
    lan.run_for(10)
    lan.start("a")
    lan.run_for(10)
    assert lan.masters("web") == ["a"]
    heard = min(d.time for d in lan.deliveries if d.receiver == "a" and d.time >= 10.0)
    assert lan.became("a", "web", State.MASTER) == pytest.approx(heard + skew_time(200, 100, 3))
    assert outages(lan, "192.0.2.100", 10.0, 20.0) == []


def test_no_preempt_keeps_the_current_master() -> None:
    lan = lan_of({"a": 200, "b": 100}, preempt=False)
    lan.start("b")
    lan.run_for(10)
    lan.start("a")
    lan.run_for(30)
    assert lan.masters("web") == ["b"]


def test_preempt_delay() -> None:
    lan = lan_of({"a": 200, "b": 100}, preempt_delay=8.0)
    lan.start("b")
    lan.run_for(10)
    lan.start("a")
    lan.run_for(30)
    assert lan.masters("web") == ["a"]
    became = lan.became("a", "web", State.MASTER)
    first_heard = min(d.time for d in lan.deliveries if d.receiver == "a")
    assert became == first_heard + 8.0


def test_owner_takes_over_at_once() -> None:
    lan = lan_of({"a": 255, "b": 100}, preempt=False)
    lan.start("b")
    lan.run_for(10)
    lan.start("a")
    lan.run_for(0.001)
    assert lan.masters("web") == ["a"]
    assert lan.became("a", "web", State.MASTER) == 10.0


def test_failing_check_with_negative_weight_hands_mastership_over() -> None:
    lan = Lan()
    lan.add_host("a", checked(150, weight=-60), "192.0.2.11")
    lan.add_host("b", checked(100, weight=-60), "192.0.2.12")
    lan.start("a", "b")
    lan.run_for(10)
    assert lan.masters("web") == ["a"]
    lan.set_check("a", "chk", False)
    lan.run_for(10)
    assert lan.masters("web") == ["b"]
    took = lan.became("b", "web", State.MASTER, after=10.0)
    assert took is not None
    # detection within one check interval, then the RFC wait from the last accepted advert
    assert took <= 10.0 + 1.0 + master_down_interval(100, 100, 3)
    lan.set_check("a", "chk", True)
    lan.run_for(10)
    assert lan.masters("web") == ["a"]


def test_failing_check_with_weight_zero_puts_the_node_in_fault() -> None:
    lan = Lan()
    lan.add_host("a", checked(150, weight=0), "192.0.2.11")
    lan.add_host("b", checked(100, weight=0), "192.0.2.12")
    lan.start("a", "b")
    lan.run_for(10)
    lan.set_check("a", "chk", False)
    lan.run_for(3)
    assert lan.hosts["a"].state("web") is State.FAULT
    assert lan.masters("web") == ["b"]
    # a master going to FAULT sends priority 0: b takes over after its skew time
    fault_at = lan.became("a", "web", State.FAULT)
    assert fault_at is not None
    assert lan.became("b", "web", State.MASTER) == fault_at + skew_time(100, 100, 3)


def test_partition_two_masters_then_heal_to_the_right_one() -> None:
    lan = lan_of({"a": 200, "b": 150, "c": 100})
    lan.start("a", "b", "c")
    lan.run_for(10)
    lan.partition({"a"}, {"b", "c"})
    lan.run_for(10)
    assert lan.masters("web") == ["a", "b"]
    lan.heal()
    lan.run_for(5)
    assert lan.masters("web") == ["a"]
    assert lan.holders("192.0.2.100") == ["a"]


def test_link_down_on_the_master_moves_the_vip() -> None:
    lan = lan_of({"a": 200, "b": 100})
    lan.start("a", "b")
    lan.run_for(10)
    lan.link("a", False)
    lan.run_for(5)
    assert lan.masters("web") == ["b"]
    assert lan.hosts["a"].state("web") is State.FAULT
    assert lan.holders("192.0.2.100") == ["b"]
    lan.link("a", True)
    lan.run_for(10)
    assert lan.masters("web") == ["a"]


def test_loss_never_leaves_zero_masters_for_long_and_converges_after() -> None:
    lan = lan_of({"a": 200, "b": 150, "c": 100})
    lan.loss = 0.3
    lan.start("a", "b", "c")
    lan.run_for(60)
    lan.loss = 0.0
    lan.run_for(10)
    assert lan.masters("web") == ["a"]


def test_delay_shifts_takeover_by_the_delay() -> None:
    lan = lan_of({"a": 200, "b": 100})
    lan.delay = 0.005
    lan.start("a", "b")
    lan.run_for(10)
    lan.kill("a")
    lan.run_for(10)
    last = lan.last_heard("b", "web", before=10.0)
    assert last is not None
    assert lan.became("b", "web", State.MASTER) == pytest.approx(
        last + master_down_interval(100, 100, 3)
    )


def test_sync_group_moves_together_on_the_lan() -> None:
    from vrrpd.core.config import SyncGroupConfig

    def cfg(priority: int) -> object:
        return config(
            instance("web", vrid=51, priority=priority),
            instance("db", vrid=52, priority=priority, vips=("192.0.2.200/24",)),
            groups=(SyncGroupConfig("front", ("web", "db")),),
        )

    lan = Lan()
    lan.add_host("a", cfg(200), "192.0.2.11")  # type: ignore[arg-type]
    lan.add_host("b", cfg(100), "192.0.2.12")  # type: ignore[arg-type]
    lan.start("a", "b")
    lan.run_for(10)
    assert lan.masters("web") == lan.masters("db") == ["a"]
    lan.kill("a")
    lan.run_for(10)
    assert lan.masters("web") == lan.masters("db") == ["b"]
