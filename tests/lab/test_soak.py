"""Short profiles of the chaos soak and the restart drill (`make soak` runs the long ones)."""

from __future__ import annotations

import time

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab, wait_for
from vrrpd.lab import soak as chaos
from vrrpd.lab.peers import Peer

pytestmark = pytest.mark.netns


def test_thirty_seconds_of_chaos_with_three_vrrpd_nodes() -> None:
    report = chaos.soak(30, seed=20261201)
    print("\n" + "\n".join(report.lines()))
    assert [f"t={v.at:.1f}s {v.what}" for v in report.violations] == []
    assert sum(report.faults.values()) >= 7  # one every 1-3 s, each healed in turn
    assert len(report.heal_times) == sum(report.faults.values())


def test_fifteen_seconds_of_chaos_with_keepalived_on_the_third_node() -> None:
    report = chaos.soak(15, keepalived=True, seed=3768)
    print("\n" + "\n".join(report.lines()))
    assert [f"t={v.at:.1f}s {v.what}" for v in report.violations] == []


def test_six_kill_9_restarts_of_the_master_leave_no_stale_vip() -> None:
    report = chaos.restarts(6)
    print("\n" + "\n".join(report.lines()))
    assert report.violations == []


@pytest.mark.parametrize("other", ["vrrpd", "keepalived"])
def test_a_split_brain_heals_within_an_advert_interval(lab: Lab, other: str) -> None:
    """Issue 8 §4: both masters during the partition; at the heal the lower one yields on
    the first advert it hears (0.1 s apart), with vrrpd or Keepalived as the other."""
    start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100), other)
    sole_holder(lab, "192.0.2.100", "n1")
    lab.isolate("n1", "n2")
    wait_for(lambda: lab.holders("192.0.2.100") == ["n1", "n2"], timeout=5, what="two masters")
    time.sleep(0.5)
    healed = time.monotonic()
    lab.isolate("n1", "n2", on=False)
    wait_for(lambda: lab.holders("192.0.2.100") == ["n1"], timeout=5, interval=0.002, what="heal")
    took = time.monotonic() - healed
    print(f"\nsplit brain with {other}: one master {took * 1000:.0f} ms after the heal")
    assert took < 0.1 + 0.15  # one advert interval, plus the time `ip` takes to look
