"""Conformance cases as data: ``tests/conformance/*.yaml``, timed events in, expected
actions, states, transitions and counters out (in the manner of holo-vrrp's cases).

Each file is one scenario an operator or the RFC cares about, or one fixed defect.
The config goes through the real loader; adverts are really encoded; time only
moves by the node's own deadlines, as the driver's single timer would move it.

A case file has ``title``, ``reference``, ``config`` (YAML text), ``steps`` and the
expected ``transitions`` (every state change of the run, in order: ``[at, old, new,
reason substring]``) and optionally ``counters``. A step happens ``at`` a time: an
``event`` (startup, shutdown), an ``advert`` (``src``, ``priority``, and any other
field; ``every``/``until`` repeat it), a ``reload`` (YAML text of the new config), or
nothing but the clock; ``emits`` lists the kinds of the actions of that instant,
``sent`` the priorities of the adverts sent then (the payload, not only the kind),
``state`` the state after it. Events: startup, shutdown,
maintenance_on, maintenance_off, link_down, link_up.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ME, ME6, Harness, kinds, sent_priorities
from vrrpd.config.loader import loads
from vrrpd.core.actions import Action, StateChanged
from vrrpd.core.events import (
    ConfigChanged,
    Event,
    LinkChanged,
    MaintenanceRequested,
    Shutdown,
    Startup,
)

CASES = sorted((Path(__file__).parent / "conformance").glob("*.yaml"))
EVENTS: dict[str, Event] = {
    "startup": Startup(),
    "shutdown": Shutdown(),
    "maintenance_on": MaintenanceRequested(True),
    "maintenance_off": MaintenanceRequested(False),
    "link_down": LinkChanged("eth0", False, (ME, ME6)),
    "link_up": LinkChanged("eth0", True, (ME, ME6)),
}


def _timeline(steps: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """Expand repeated adverts; keep each step's own fields for the first instance."""
    out: list[tuple[float, int, dict[str, Any]]] = []
    for order, step in enumerate(steps):
        at = float(step["at"])
        out.append((at, order, step))
        if "every" in step:
            t, n = at + step["every"], 1
            while t <= step["until"] + 1e-9:
                out.append((round(t, 9), order, {"advert": step["advert"]}))
                n += 1
                t = at + n * step["every"]
    out.sort(key=lambda e: (e[0], e[1]))
    return [(at, step) for at, _, step in out]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    assert case.get("title"), "every case says what it shows"
    assert case.get("reference"), "and why (the RFC section or the defect)"
    h = Harness(loads(case["config"], str(path)), start=False)
    seen: list[Action] = []
    for at, step in _timeline(case["steps"]):
        # The clock's own deadlines up to ``at``, then the step's event or advert.
        emitted = h.advance(at)
        seen += emitted
        if "event" in step or "advert" in step or "reload" in step:
            emitted = _apply(h, step, at, path)
            seen += emitted
        where = f"{path.name} at {at}"
        if "emits" in step:
            assert kinds(emitted) == step["emits"], where
        if "sent" in step:
            assert sent_priorities(emitted) == step["sent"], where
        if "state" in step:
            assert str(h.state) == step["state"], where
    transitions = [a for a in seen if isinstance(a, StateChanged)]
    expected = case["transitions"]
    assert len(transitions) == len(expected), [(t.at, str(t.old), str(t.new)) for t in transitions]
    for change, want in zip(transitions, expected, strict=True):
        at, old, new, *reason = want
        assert (change.at, str(change.old), str(change.new)) == (pytest.approx(at), old, new)
        if reason:
            assert reason[0] in change.reason, change.reason
    for name, counters in case.get("counters", {}).items():
        got = h.node.statistics().instances[name].counters
        assert {k: got[k] for k in counters} == counters


def _apply(h: Harness, step: dict[str, Any], at: float, path: Path) -> list[Action]:
    if "event" in step:
        return h.feed(EVENTS[step["event"]], at=at)
    if "reload" in step:
        return h.feed(ConfigChanged(loads(step["reload"], str(path))), at=at)
    fields = dict(step["advert"])
    src = ip_address(fields.pop("src"))
    return h.receive(int(fields.pop("priority")), src=src, at=at, **fields)
