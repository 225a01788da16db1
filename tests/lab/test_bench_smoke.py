"""`make bench`'s scale harness in miniature, so it cannot rot (issue 10's bench smoke)."""

from __future__ import annotations

import pytest

from vrrpd.lab import scale

pytestmark = pytest.mark.netns


@pytest.mark.parametrize("impl", ["vrrpd", "keepalived"])
def test_the_scale_harness_measures_both_implementations(impl: str) -> None:
    result = scale.measure(impl, count=20, window=2.0)
    print(f"\n{result}")
    assert result.transitions == 0
    assert result.master_cpu_per_1000 > 0
    assert result.backup_cpu_per_1000 >= 0  # may be under one clock tick in a short window
    assert 0 < result.start_to_all_master < 30
    assert result.master_rss > 1 << 20


def test_the_core_cost_harness_runs() -> None:
    assert 0 < scale.core_cost(5, adverts=500) < 0.01
    assert 0 < scale.core_cost(5, adverts=500, repeat=False) < 0.01
