"""Keepalived's vrrp_script semantics: rise/fall, weights, clamping, the owner."""

from __future__ import annotations

import pytest

from vrrpd.core.config import CheckConfig
from vrrpd.core.tracking import CheckTracker, TrackerStatus, contribution, effective_priority

UP, DOWN, INIT = TrackerStatus.UP, TrackerStatus.DOWN, TrackerStatus.INIT


@pytest.mark.parametrize(
    ("status", "weight", "delta", "fault"),
    [
        (UP, 20, 20, False),
        (DOWN, 20, 0, False),
        (UP, -50, 0, False),
        (DOWN, -50, -50, False),
        (DOWN, 0, 0, True),
        (UP, 0, 0, False),
        (INIT, -50, 0, False),
        (INIT, 20, 0, False),
        (INIT, 0, 0, False),
    ],
)
def test_contribution(status: TrackerStatus, weight: int, delta: int, fault: bool) -> None:
    c = contribution("check chk", status, weight)
    assert (c.delta, c.fault) == (delta, fault)


def test_describe() -> None:
    assert (
        contribution("check chk_nginx", DOWN, -50).describe() == "check chk_nginx down (weight -50)"
    )


@pytest.mark.parametrize(
    ("base", "deltas", "expected"),
    [
        (150, [-50], 100),
        (100, [-200], 1),
        (200, [+100], 254),
        (255, [-100], 255),
        (100, [20, -30], 90),
    ],
)
def test_effective_priority(base: int, deltas: list[int], expected: int) -> None:
    contributions = [contribution("x", UP if d > 0 else DOWN, d) for d in deltas]
    assert effective_priority(base, contributions) == expected


def _tracker(rise: int = 2, fall: int = 3, interval: float = 1.0) -> CheckTracker:
    return CheckTracker(
        CheckConfig("chk", "true", interval=interval, rise=rise, fall=fall), "nobody"
    )


def _run(tracker: CheckTracker, now: float, ok: bool, duration: float = 0.1) -> bool:
    assert tracker.due(now)
    return tracker.finished(
        success=ok,
        exit_code=0 if ok else 1,
        duration=duration,
        output="",
        now=now + duration,
        active=True,
    )


def test_rise_and_fall_counting() -> None:
    t = _tracker()
    t.start(0.0)
    assert t.status is INIT
    assert _run(t, 0.0, True)  # the first result decides (Keepalived: one is enough)
    assert t.status is UP
    assert not _run(t, 1.0, True)
    assert not _run(t, 2.0, False)
    assert not _run(t, 3.0, False)
    assert t.status is UP
    assert _run(t, 4.0, False)
    assert t.status is DOWN
    assert t.statistics().consecutive == 3
    assert t.statistics().last_exit == 1


def test_never_two_runs_at_once_and_next_run_after_an_overrun() -> None:
    t = _tracker(interval=1.0)
    t.start(0.0)
    assert t.due(0.0)
    assert t.deadline() is None  # running: no deadline until it finishes
    assert not t.due(5.0)
    t.finished(success=True, exit_code=0, duration=2.5, output="", now=2.5, active=True)
    assert t.deadline() == 2.5  # it overran its interval: next run at once
    assert t.due(2.5)
    t.finished(success=True, exit_code=0, duration=0.1, output="", now=2.6, active=True)
    assert t.deadline() == 3.5  # one interval after the start


def test_stopped_tracker_does_not_reschedule() -> None:
    t = _tracker()
    t.start(0.0)
    assert t.due(0.0)
    t.stop()
    t.finished(success=True, exit_code=0, duration=0.1, output="", now=0.1, active=False)
    assert t.deadline() is None
    assert not t.due(10.0)
    assert t.user == "nobody"


def test_each_tracker_owns_its_key_and_rule() -> None:
    from tests.builders import instance
    from vrrpd.core.config import TrackFile, TrackInterface, TrackProcess, TrackScript
    from vrrpd.core.tracking import Tracker, TrackerKind, trackers

    inst = instance(
        track_scripts=(TrackScript("chk"), TrackScript("other", weight=5)),
        track_interfaces=(TrackInterface("eth1"),),
        track_files=(TrackFile("/run/prio", weight=2),),
        track_processes=(TrackProcess("haproxy", weight=-30, quorum=2),),
    )
    found = trackers(inst, {"chk": -50, "other": 0})
    assert [(t.key, t.weight) for t in found] == [
        ("check:chk", -50),
        ("check:other", 5),
        ("interface:eth1", 0),
        ("file:/run/prio", 2),
        ("process:haproxy", -30),
    ]
    chk, _, eth1, prio, haproxy = found
    assert chk.judge(TrackerStatus.DOWN).delta == -50
    assert eth1.judge(False).fault
    assert not eth1.judge(True).fault
    assert prio.judge(7).delta == 14
    assert prio.judge(None).delta == 0
    assert haproxy.judge(1).delta == -30  # below quorum
    assert haproxy.judge(2).delta == 0
    assert Tracker(TrackerKind.PROCESS, "x", 0).judge(0).fault
