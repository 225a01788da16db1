"""`make demo`: the payment entry point (client -> VIP -> nginx -> three apps) through
its drills, with the figures per drill, and nothing left behind."""

from __future__ import annotations

import re
import subprocess

import pytest

from vrrpd.lab import demo
from vrrpd.lab.loadgen import Result

pytestmark = pytest.mark.netns

ROW = re.compile(
    r"^  (\S.*?)\s+(\d+)\s+(\d+)\s+([\d.]+)ms\s+([\d.]+)%\s+([\d.]+)\s+([\d.]+)ms\s+([\d.]+)ms$",
    re.MULTILINE,
)


def _namespaces() -> set[str]:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_demo_runs_every_drill_with_its_figures_and_cleans_up() -> None:
    before = _namespaces()
    lines: list[str] = []
    assert demo.run(lines.append) == 0
    out = "\n".join(lines)
    rows = {m.group(1): m.groups()[1:] for m in ROW.finditer(out)}
    assert list(rows) == [
        "steady state",
        "app2 dies (nginx balances around it), back 3 s later",
        "nginx dies on lb1 (check fails: the VIP moves), back",
        "lb1 crashes (frozen, killed, link cut), comes back",
        "planned handover (vrrpd maintenance on), back (off)",
        "graceful stop of lb1 (SIGTERM: priority 0)",
        "overall",
    ], out
    sent, failed, outage, avail, rate = (float(v) for v in rows["overall"][:5])
    assert sent > 2000
    assert failed < 0.1 * sent
    assert outage < 1000  # ms: no drill leaves the client a second without an answer
    assert rate > 150  # of 200 requests/s sent
    assert avail > 90
    # nginx balances around a dead backend: no request fails, the VIP does not move
    assert rows["app2 dies (nginx balances around it), back 3 s later"][1] == "0", out
    # The planned handover is make-before-break: the VIP always answers. Only a connection
    # being opened at the instant the client's ARP entry flips can be cut (its next
    # packet reaches the new holder, which knows nothing of it): 0 or 1 of ~650 here.
    assert int(rows["planned handover (vrrpd maintenance on), back (off)"][1]) <= 2, out
    # a crash costs about Master_Down_Interval (361 ms at 100 ms adverts), with slack
    assert float(rows["lb1 crashes (frozen, killed, link cut), comes back"][2]) < 361 + 300
    assert (
        "lb2: [web eth0 v4] BACKUP -> MASTER (priority 100): preempting lower-priority master"
        in out
    )
    assert "answers from app1" in out
    assert _namespaces() <= before, f"left behind: {_namespaces() - before}"


def test_availability_is_time_in_service_over_total_time() -> None:
    """Out of service from the first failed request after a success to the next success."""
    results = [Result(t / 10, 1.0, ok=t not in (3, 4)) for t in range(10)]  # 0.0 .. 0.9 s
    f = demo.Figures.of(results, 0.0, 1.0)
    assert f.availability == pytest.approx(0.8)  # down from 0.3 to 0.5
    assert (f.sent, f.failed) == (10, 2)
    assert f.throughput == pytest.approx(8.0)
    assert f.outage == pytest.approx(0.3 - 1 / demo.RATE, abs=1e-6)  # 0.201 -> 0.501
