"""Issue 17's bar in `make bench`: small clusters' CPU beside Keepalived, as a share of a core."""

from __future__ import annotations

import pytest

from vrrpd.lab import bench, scale


def _run(count: int, master: float, backup: float) -> scale.Scale:
    return scale.Scale("vrrpd", count, 0.5, master, backup, 0, 40_000_000, 0.1)


def test_the_share_of_a_core_from_the_cost_per_1000_adverts() -> None:
    run = _run(5, master=0.2, backup=0.05)  # 50 adverts/s: 1/20 of the per-1000 figure
    assert bench.core_share(run, "master") == pytest.approx(1.0)
    assert bench.core_share(run, "backup") == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("count", "vrrpd", "keepalived", "met"),
    [
        (1, 0.19, 0.13, True),  # 1.46 x
        (1, 0.50, 0.13, False),  # 3.8 x and above the floor
        (5, 0.29, 0.07, True),  # 4 x but under 0.3 % of a core
        (50, 3.0, 2.0, True),
        (50, 3.1, 2.0, False),
    ],
)
def test_met_at_1_5_50_by_the_ratio_or_the_floor(
    count: int, vrrpd: float, keepalived: float, met: bool
) -> None:
    figure = bench.small_cluster_target(count, vrrpd, keepalived)
    assert figure["met"] is met
    assert figure["target"] == "ratio <= 1.5 or < 0.3 % of a core"


def test_no_such_target_at_200() -> None:
    assert bench.small_cluster_target(200, 9.0, 1.0) == {}


def test_the_footprint_summary_gives_each_side_its_ratio_to_keepalived() -> None:
    from vrrpd.lab.bench_footprint import summary

    rows = [
        {"who": who, "k": 1, "backup": True, "master_pct": m, "backup_pct": b, "rss_mb": 0}
        for who, m, b in (
            ("keepalived", 0.1, 0.04),
            ("before", 0.6, 0.4),
            ("after", 0.3, 0.2),
            ("after", 0.5, 0.2),
        )
    ] + [
        {
            "who": "after",
            "k": 200,
            "backup": False,
            "master_pct": 0,
            "backup_pct": 0,
            "rss_mb": 38.8,
        }
    ]
    lines = summary(rows)
    assert (
        lines[0]
        == "K=1 master_pct: keepalived 0.1 (0.1-0.1, 1); before 0.6 (0.6-0.6, 1), 6.0 x; after 0.4 (0.3-0.5, 2), 4.0 x"
    )
    assert lines[2] == "K=200 rss_mb: after 38.8 (38.8-38.8, 1)"
