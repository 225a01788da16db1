"""A restarted node whose service is down must not take the VIP back before its check
has said so (the first result decides, and the start waits for it)."""

from __future__ import annotations

import pytest

from tests.builders import checked, config, instance
from tests.harness import Harness
from vrrpd.core.actions import RunCheck, SendAdvert, StateChanged
from vrrpd.core.events import CheckFinished
from vrrpd.core.state import State
from vrrpd.sim import Lan


@pytest.mark.parametrize("weight", [-20, 0])
def test_a_node_restarted_with_its_service_down_never_preempts(weight: int) -> None:
    """a (120, check weight -20 or 0, fall 3 at 2 s) restarts beside b (110) while its
    service is down. Before: the check counted for nothing until its third failure
    (~4 s), a preempted b within Skew_Time and served a dead service meanwhile."""
    lan = Lan()
    lan.add_host("a", checked(120, weight=weight, fall=3, check_interval=2.0), "192.0.2.11")
    lan.add_host("b", config(instance(priority=110)), "192.0.2.12")
    lan.start("a", "b")
    lan.run_for(10)
    assert lan.holders("192.0.2.100") == ["a"]
    lan.kill("a")
    lan.run_for(5)
    assert lan.holders("192.0.2.100") == ["b"]
    lan.set_check("a", "chk", False)
    restarted = lan.now
    lan.start("a")
    lan.run_for(20)
    assert lan.became("a", "web", State.MASTER, after=restarted) is None
    assert lan.holders("192.0.2.100") == ["b"]


def test_a_node_restarted_with_its_service_up_preempts_after_its_first_result() -> None:
    lan = Lan()
    lan.add_host("a", checked(120, weight=-20, fall=3, check_interval=2.0), "192.0.2.11")
    lan.add_host("b", config(instance(priority=110)), "192.0.2.12")
    lan.start("b")
    lan.run_for(5)
    restarted = lan.now
    lan.start("a")
    lan.run_for(5)
    took = lan.became("a", "web", State.MASTER, after=restarted)
    assert took is not None
    assert took >= restarted + lan.check_duration
    assert lan.holders("192.0.2.100") == ["a"]


def test_the_start_waits_for_the_first_result_and_sends_nothing_meanwhile() -> None:
    h = Harness(checked(120, weight=-20, fall=3))
    assert [a for a in h.actions if isinstance(a, RunCheck)]
    assert not [a for a in h.actions if isinstance(a, SendAdvert | StateChanged)]
    assert h.state is State.INIT
    why = h.node.statistics().instances["web"].last_reason
    assert why == "start waits for the first result of check chk"
    h.feed(CheckFinished("chk", False, 1, 0.01), at=0.01)
    assert "waits" not in h.node.statistics().instances["web"].last_reason
    assert h.state is State.BACKUP
    assert h.router.priority == 100  # one failure of fall 3 decides at the start


def test_a_sync_group_starts_when_every_members_check_answered() -> None:
    from vrrpd.core.config import CheckConfig, SyncGroupConfig, TrackScript

    checks = (CheckConfig("chk", "/bin/true", interval=1.0, weight=-20),)
    cfg = config(
        instance(name="web", priority=120, track_scripts=(TrackScript("chk"),)),
        instance(name="db", vrid=52, priority=120, vips=("192.0.2.101/24",)),
        scripts=checks,
        groups=(SyncGroupConfig("g", ("web", "db")),),
    )
    h = Harness(cfg)
    assert {r.state for r in h.node.routers.values()} == {State.INIT}
    h.feed(CheckFinished("chk", True, 0, 0.01), at=0.01)
    assert {r.state for r in h.node.routers.values()} == {State.BACKUP}
