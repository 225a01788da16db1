"""Skew_Time and Master_Down_Interval, against the values in the protocol notes."""

from __future__ import annotations

import pytest

from vrrpd.core.timers import master_down_interval, skew_time


@pytest.mark.parametrize(
    ("priority", "skew", "down"),
    [
        (100, 0.609375, 3.609375),
        (200, 0.21875, 3.21875),
        (250, 0.0234375, 3.0234375),
        (254, 0.0078125, 3.0078125),
    ],
)
def test_one_second_interval(priority: int, skew: float, down: float) -> None:
    for version in (2, 3):
        assert skew_time(priority, 100, version) == skew
        assert master_down_interval(priority, 100, version) == down


def test_v3_skew_scales_with_the_master_interval_but_v2_does_not() -> None:
    assert skew_time(100, 10, 3) == pytest.approx(0.0609375)
    assert master_down_interval(100, 10, 3) == pytest.approx(0.3609375)
    assert skew_time(100, 200, 2) == 0.609375
    assert master_down_interval(100, 200, 2) == pytest.approx(6.609375)
