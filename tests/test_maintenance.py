"""Planned handover without an outage (`vrrpd maintenance on|off`), on the simulated LAN.

Make-before-break: the master releases with priority 0 so the best backup takes over
after its Skew_Time, and keeps answering on the VIP until it hears the new master's
first advert. If nobody takes over within Master_Down_Interval, it stays MASTER and
says so, rather than leaving the address dead.
"""

from __future__ import annotations

import pytest

from tests.test_sim import lan_of
from vrrpd.core.state import State
from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.sim import outages

VIP = "192.0.2.100"


def _notices(lan: object, host: str) -> list[str]:
    return [e.text for e in lan.timeline if e.host == host]  # type: ignore[attr-defined]


@pytest.mark.parametrize("interval", [1.0, 0.1, 0.01])
def test_maintenance_hands_over_without_an_outage_and_back(interval: float) -> None:
    lan = lan_of({"a": 150, "b": 100}, advert_interval=interval)
    lan.start("a", "b")
    lan.run_until(20.0)
    assert lan.holders(VIP) == ["a"]
    lan.maintenance("a", True)
    lan.run_until(20.0 + skew_time(100, round(interval * 100), 3) + 2 * interval)
    assert lan.holders(VIP) == ["b"]
    assert lan.hosts["a"].state("web") is State.BACKUP
    took = lan.became("b", "web", State.MASTER, after=20.0)
    assert took == pytest.approx(20.0 + skew_time(100, round(interval * 100), 3))
    lan.run_until(40.0)
    assert lan.holders(VIP) == ["b"]  # the drained node stays out, even with the better priority
    stats = lan.hosts["a"].node.statistics().instances["web"]  # type: ignore[union-attr]
    assert stats.maintenance
    assert stats.last_reason.startswith("maintenance: handed over to")
    lan.maintenance("a", False)
    lan.run_until(50.0)
    assert lan.holders(VIP) == ["a"]  # back, by preemption
    assert outages(lan, VIP, 19.0, 50.0) == []  # never without a holder


def test_with_no_backup_the_master_keeps_the_vip_and_says_so() -> None:
    lan = lan_of({"a": 150})
    lan.start("a")
    lan.run_until(10.0)
    lan.maintenance("a", True)
    lan.run_until(10.0 + master_down_interval(150, 100, 3) + 1.0)
    assert lan.holders(VIP) == ["a"]
    assert outages(lan, VIP, 9.0, lan.now) == []
    stats = lan.hosts["a"].node.statistics().instances["web"]  # type: ignore[union-attr]
    assert not stats.maintenance  # the request failed: it is not in maintenance
    assert any("no backup took over within" in text for text in _notices(lan, "a"))


def test_a_backup_in_maintenance_never_takes_over_until_it_is_off() -> None:
    lan = lan_of({"a": 150, "b": 100})
    lan.start("a", "b")
    lan.run_until(10.0)
    lan.maintenance("b", True)
    lan.kill("a")
    lan.run_until(30.0)
    assert lan.holders(VIP) == []  # the operator took b out: it does not serve
    lan.maintenance("b", False)
    lan.run_until(30.5)
    assert lan.holders(VIP) == ["b"]  # no master heard for long: at once


def test_maintenance_survives_a_reload() -> None:
    """Issue 9 §1: the drained node stays out across a reload (the router is kept)."""
    from tests.builders import config, instance
    from vrrpd.core.events import ConfigChanged, MaintenanceRequested
    from vrrpd.core.node import Node

    node = Node(config(instance(priority=150)))
    from tests.harness import ME
    from vrrpd.core.events import LinkChanged, Startup, TimerFired

    node.handle(LinkChanged("eth0", True, (ME,)), now=0.0)
    node.handle(Startup(), now=0.0)
    node.handle(MaintenanceRequested(True), now=1.0)
    node.handle(ConfigChanged(config(instance(priority=160))), now=2.0)  # a soft change
    node.handle(TimerFired(), now=60.0)  # no master heard for a minute
    stats = node.statistics().instances["web"]
    assert stats.maintenance
    assert str(stats.state) == "BACKUP"
