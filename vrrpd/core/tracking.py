"""Health trackers and the effective priority, with Keepalived's vrrp_script semantics.

A tracker is UP or DOWN once enough consecutive results agree (``rise`` successes,
``fall`` failures); until then it is INIT and contributes nothing, so a node never
advertises a bonus it has not earned nor a penalty it has not confirmed.

Its weight then decides what it does to each instance that tracks it:

* weight > 0: added to the priority while UP;
* weight < 0: added (so subtracted) while DOWN;
* weight = 0: the instance is in FAULT while DOWN.

The effective priority is the base plus every contribution, clamped to 1..254.
A configured 255 (address owner) is never changed: an owner that cannot serve
must go to FAULT, not pretend to be a lesser backup.

Check runs are scheduled here as deadlines; the core emits ``RunCheck`` and the
driver answers ``CheckFinished``. A check never runs twice at once: the next run
is due one interval after the previous one *started*, or at once if that run
overran.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from vrrpd.core.config import CheckConfig, InstanceConfig
from vrrpd.core.constants import PRIORITY_MAX_BACKUP, PRIORITY_MIN, PRIORITY_OWNER


class TrackerStatus(enum.Enum):
    INIT = "INIT"
    UP = "UP"
    DOWN = "DOWN"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one tracker does to one instance's priority right now, and why."""

    source: str
    """``check chk_nginx``, ``interface eth1``, ..."""
    status: TrackerStatus
    weight: int
    delta: int
    fault: bool

    def describe(self) -> str:
        return f"{self.source} {str(self.status).lower()} (weight {self.weight:+d})"


def contribution(source: str, status: TrackerStatus, weight: int) -> Contribution:
    delta = 0
    if (weight > 0 and status is TrackerStatus.UP) or (weight < 0 and status is TrackerStatus.DOWN):
        delta = weight
    fault = weight == 0 and status is TrackerStatus.DOWN
    return Contribution(source, status, weight, delta, fault)


FILE_FAULT_AT = -254
"""A track_file's value x weight at or below this is FAULT, not a lower priority
(keepalived.conf(5): "less than -253"): no priority could express it."""


def file_contribution(
    path: str, value: int | None, weight: int, *, reverse: bool = False
) -> Contribution:
    """Keepalived's track_file: the file's integer times the weight (missing counts 0),
    negated with ``reverse``.

    With weight 0, any non-zero value means FAULT (Keepalived's convention); so does a
    product of -254 or less (Keepalived's too: the node must not stay electable at 1).
    """
    number = value or 0
    status = TrackerStatus.UP if value is not None else TrackerStatus.DOWN
    delta = -number * weight if reverse else number * weight
    fault = (weight == 0 and number != 0) or delta <= FILE_FAULT_AT
    return Contribution(f"file {path} = {number}", status, weight, delta, fault)


class TrackerKind(enum.Enum):
    CHECK = "check"
    INTERFACE = "interface"
    FILE = "file"
    PROCESS = "process"


Observation = TrackerStatus | bool | int | None
"""A check's status, a link's carrier, a file's integer (None: unreadable), a process count."""


@dataclass(frozen=True, slots=True)
class Tracker:
    """One thing an instance tracks, and the rule that turns what is seen of it into a
    contribution. ``key`` names it among the instance's contributions and faults."""

    kind: TrackerKind
    name: str
    """The check's name, the interface, the file's path or the process name."""
    weight: int
    quorum: int = 1
    reverse: bool = False
    """Keepalived's ``reverse``: the contribution's delta negated."""

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.name}"

    def judge(self, seen: Observation) -> Contribution:
        if self.kind is TrackerKind.FILE:
            assert seen is None or isinstance(seen, int)
            return file_contribution(self.name, seen, self.weight, reverse=self.reverse)
        judged = self._judge(seen)
        if self.reverse:
            return dataclasses.replace(judged, delta=-judged.delta)
        return judged

    def _judge(self, seen: Observation) -> Contribution:
        if self.kind is TrackerKind.CHECK:
            assert isinstance(seen, TrackerStatus)
            return contribution(f"check {self.name}", seen, self.weight)
        if self.kind is TrackerKind.INTERFACE:
            # No weight: a tracked interface going down is a FAULT (Keepalived's default).
            status = TrackerStatus.UP if seen else TrackerStatus.DOWN
            return contribution(f"interface {self.name}", status, self.weight)
        if self.kind is TrackerKind.FILE:
            assert seen is None or isinstance(seen, int)
            return file_contribution(self.name, seen, self.weight)
        assert isinstance(seen, int)
        status = TrackerStatus.UP if seen >= self.quorum else TrackerStatus.DOWN
        source = f"process {self.name} ({seen} running, quorum {self.quorum})"
        return contribution(source, status, self.weight)


def trackers(inst: InstanceConfig, check_weights: Mapping[str, int]) -> tuple[Tracker, ...]:
    """Everything ``inst`` tracks, with each weight resolved (a track_scripts entry without
    one takes its check's; an interface or process without one means FAULT while down)."""
    kinds = TrackerKind
    return (
        *(
            Tracker(
                kinds.CHECK,
                t.name,
                check_weights[t.name] if t.weight is None else t.weight,
                reverse=t.reverse,
            )
            for t in inst.track_scripts
        ),
        *(
            Tracker(kinds.INTERFACE, t.name, t.weight or 0, reverse=t.reverse)
            for t in inst.track_interfaces
        ),
        *(Tracker(kinds.FILE, t.path, t.weight, reverse=t.reverse) for t in inst.track_files),
        *(
            Tracker(kinds.PROCESS, t.key, t.weight or 0, t.quorum, reverse=t.reverse)
            for t in inst.track_processes
        ),
    )


def effective_priority(base: int, contributions: list[Contribution]) -> int:
    """Base plus every delta, clamped to 1..254; an owner's 255 stays 255."""
    if base == PRIORITY_OWNER:
        return PRIORITY_OWNER
    total = base + sum(c.delta for c in contributions)
    return max(PRIORITY_MIN, min(PRIORITY_MAX_BACKUP, total))


@dataclass(frozen=True, slots=True)
class CheckStatistics:
    name: str
    status: TrackerStatus
    runs: int
    consecutive: int
    """Successes in a row if the last run succeeded, failures in a row otherwise."""
    last_exit: int | None
    last_duration: float | None
    running: bool


class CheckTracker:
    """One configured check: its schedule and its rise/fall state."""

    def __init__(self, config: CheckConfig, default_user: str | None = None) -> None:
        self.config = config
        self.user = config.user or default_user
        self.status = TrackerStatus.INIT
        self.running = False
        self.next_run: float | None = None
        self._started_at = 0.0
        self._successes = 0
        self._failures = 0
        self.runs = 0
        self.last_exit: int | None = None
        self.last_duration: float | None = None
        self.last_output = ""

    def start(self, now: float) -> None:
        self.next_run = now

    def stop(self) -> None:
        self.next_run = None

    def deadline(self) -> float | None:
        return None if self.running else self.next_run

    def due(self, now: float) -> bool:
        """Whether a run should start now; marks it running (the caller emits RunCheck)."""
        if self.running or self.next_run is None or self.next_run > now:
            return False
        self.running = True
        self._started_at = now
        self.next_run = None
        return True

    def finished(
        self,
        *,
        success: bool,
        exit_code: int | None,
        duration: float,
        output: str,
        now: float,
        active: bool,
    ) -> bool:
        """Record a result; True when the status changed (UP/DOWN, never back to INIT)."""
        self.running = False
        self.runs += 1
        self.last_exit, self.last_duration, self.last_output = exit_code, duration, output
        if success:
            self._successes, self._failures = self._successes + 1, 0
        else:
            self._successes, self._failures = 0, self._failures + 1
        if active:
            self.next_run = max(self._started_at + self.config.interval, now)
        old = self.status
        if old is TrackerStatus.INIT:
            # The first result decides (Keepalived: "one success is enough", one failure
            # fails): a restarted node must not wait rise or fall runs to know.
            self.status = TrackerStatus.UP if success else TrackerStatus.DOWN
        elif self._successes >= self.config.rise:
            self.status = TrackerStatus.UP
        elif self._failures >= self.config.fall:
            self.status = TrackerStatus.DOWN
        return self.status is not old

    def statistics(self) -> CheckStatistics:
        return CheckStatistics(
            name=self.config.name,
            status=self.status,
            runs=self.runs,
            consecutive=max(self._successes, self._failures),
            last_exit=self.last_exit,
            last_duration=self.last_duration,
            running=self.running,
        )
