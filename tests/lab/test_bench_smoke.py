"""`make bench`'s scale harness in miniature, so it cannot rot (issue 10's bench smoke)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vrrpd.lab import scale

pytestmark = pytest.mark.netns


def test_bench_smoke_writes_the_record_and_the_page(tmp_path: Path) -> None:
    """`make bench-smoke`: one interval, 1 run, 20 instances, both implementations; the
    JSON record and the generated page, every figure with both sides where both apply."""
    from vrrpd.lab import bench

    page = tmp_path / "benchmarks.md"
    assert bench.main(["--smoke", "--results", str(tmp_path), "--page", str(page)]) == 0
    [record] = tmp_path.glob("*-smoke.json")
    result = json.loads(record.read_text())
    figures = {f["id"]: f for f in result["figures"]}
    for fid in ("crash_to_vip_0.1", "crash_outage_0.1", "stop_outage_0.1", "preempt_outage_0.1",
                "cpu_master_20_1", "cpu_backup_20", "rss_20", "startup_vip"):  # fmt: skip
        assert {"vrrpd", "keepalived"} <= set(figures[fid]), fid
        assert len(figures[fid]["vrrpd"]["values"]) >= 1
    # 20 instances with a backup: no flap on either side
    assert figures["transitions_20_1"]["vrrpd"]["median"] == 0
    assert figures["transitions_20_1"]["keepalived"]["median"] == 0
    # a crash is taken over after about Master_Down_Interval, not much later
    crash = figures["crash_to_vip_0.1"]
    assert crash["rfc"] < crash["vrrpd"]["median"] < crash["rfc"] + 50
    text = page.read_text()
    assert "| crash: last advert -> VIP on the backup, at 0.1 s | ms |" in text
    assert "## Targets missed" in text


def test_the_core_cost_harness_runs() -> None:
    assert 0 < scale.core_cost(5, adverts=500) < 0.01
    assert 0 < scale.core_cost(5, adverts=500, repeat=False) < 0.01


def test_planned_handover_costs_the_client_under_10_ms() -> None:
    """Issue 9's target (the benchmark compares it with Keepalived's SIGTERM)."""
    from vrrpd.lab import handover

    outage = handover.handover("vrrpd", 0.1)
    print(f"\nmaintenance handover at 0.1 s adverts: {outage * 1000:.1f} ms of client outage")
    assert outage < 0.010


def test_a_failed_check_moves_the_vip_without_waiting_master_down_interval() -> None:
    """nginx dies: two failed checks (~2 s at 1 s) then Skew_Time, not Master_Down_Interval
    (which alone is 3.53 s at priority 120): under 3.5 s in all, check time included."""
    from vrrpd.lab import handover

    outage = handover.check_failover("vrrpd")
    print(f"\nnginx killed on the master: {outage:.3f} s of HTTP outage")
    assert outage < 3.5
