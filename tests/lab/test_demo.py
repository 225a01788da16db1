"""`make demo` runs the real drill and prints a timeline with client-observed outages."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess

import pytest

from vrrpd.lab import demo

pytestmark = pytest.mark.netns


def test_demo_prints_every_step_with_its_outage_and_cleans_up() -> None:
    before = set(
        subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert demo.run() == 0
    out = buffer.getvalue()
    assert (
        "lb2  BACKUP -> MASTER (priority 100): master down timer expired: no advert from 192.0.2.11"
        in out
    )
    assert "master 192.0.2.11 released (priority 0)" in out
    rows = dict(re.findall(r"^  (\S.*?)\s{2,}\S+\s+(\d+\.\d) ms$", out, re.MULTILINE))
    assert set(rows) == {
        "master crash (lb1 frozen, killed, unplugged)",
        "lb1 returns and preempts",
        "graceful stop of lb1 (SIGTERM, priority 0)",
    }
    assert (
        float(rows["master crash (lb1 frozen, killed, unplugged)"]) < 360.9 + 150
    )  # MDI + generous slack
    assert (
        float(rows["graceful stop of lb1 (SIGTERM, priority 0)"]) < 60.9 + 150
    )  # Skew_Time + slack
    after = set(
        subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert after <= before, f"left behind: {after - before}"
