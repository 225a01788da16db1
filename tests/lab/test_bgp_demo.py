"""`vrrpd lab demo --bgp`: the payment entry point through the routed fabric (FRR, BGP,
BFD), its drills with their figures, what FRR advertises as `vrrpd status` shows it,
and nothing left behind."""

from __future__ import annotations

import subprocess

import pytest

from tests.lab.test_demo import ROW
from vrrpd.lab import bgp_demo
from vrrpd.lab.bgp import path_changes
from vrrpd.lab.loadgen import Result

pytestmark = pytest.mark.netns


def _namespaces() -> set[str]:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_bgp_demo_runs_every_drill_with_its_figures_and_cleans_up() -> None:
    before = _namespaces()
    lines: list[str] = []
    seen: list[tuple[list[Result], list[float], float]] = []

    def inspect(demo: bgp_demo.BgpDemo) -> None:
        assert demo.monitor is not None
        flips = [at for at, line in path_changes(demo.monitor) if "Deleted" not in line]
        seen.append((demo.results(), flips, demo.drills[-1].started))

    assert bgp_demo.run(lines.append, inspect=inspect) == 0
    out = "\n".join(lines)
    print(out)  # kept by pytest beside a failure: the drills' figures and the agents' events
    rows = {m.group(1): m.groups()[1:] for m in ROW.finditer(out)}
    handover = "planned handover (vrrpd maintenance on), back (off)"
    check = "lb1's health check fails (the route moves), recovers"
    stop = "graceful stop of lb1 (SIGTERM), started again"
    crash = "lb1 crashes (frozen, link cut at the router, killed)"
    assert list(rows) == ["steady state", handover, check, stop, crash, "overall"], out
    for planned in (handover, check, stop):
        assert float(rows[planned][2]) < 200, out  # ms without an answer
    # make-before-break: the only requests that fail in a planned move are those whose
    # connection was open at the instant the router's path flipped (their next packet
    # reaches the other node, which resets it): 0-3 a drill, in 1-10 ms, never a gap
    results, flips, crashed = seen[0]
    failed = [r for r in results if not r.ok and r.sent < crashed]
    cut = [
        r for r in failed if any(r.sent - 0.02 <= at <= r.sent + r.ms / 1000 + 0.02 for at in flips)
    ]
    assert failed == cut, (failed, flips, out)
    assert float(rows[crash][2]) <= 900 + 300, out  # BFD 300 ms x 3, + 0.3 s
    # what FRR advertises, from each node's `vrrpd status`: lb1 while MASTER, then lb2
    said = [line.split("] ", 1)[1].split() for line in lines if "vrrpd status: ..." in line]
    frr = [(words[0], " ".join(words[-3:])) for words in said]
    assert frr == [
        ("lb1$", "up, VIPs advertised"),
        ("lb2$", "VIPs not advertised"),
        ("lb1$", "VIPs not advertised"),
        ("lb2$", "up, VIPs advertised"),
    ], out
    assert all("Established, BFD up," in " ".join(words) for words in said), out
    assert "the router routes it to lb2" in out
    assert out.rstrip().endswith("lab removed.")
    assert _namespaces() <= before
