"""Hostile packets at a running cluster (short profile; `make soak` sends 100,000)."""

from __future__ import annotations

import pytest

from vrrpd.lab import hostile

pytestmark = pytest.mark.netns


def test_every_hostile_class_is_counted_once_and_changes_nothing() -> None:
    report = hostile.drill(4000, 1000)
    print("\n" + "\n".join(report.lines()))
    assert report.violations == []
    assert set(report.sent) == set(hostile.CLASSES)
    assert sum(report.sent.values()) == 5000


def test_expected_counts_follow_the_classes() -> None:
    sent = {"checksum": 3, "unknown_vrid": 2, "not_a_peer": 5}
    assert hostile.expected(sent, "n1") == {
        "web.checksum_errors": 3,
        "web.packets_dropped": 3,
        "router.vrid_errors": 2,
        "uni.unicast_peer_errors": 5,
        "uni.packets_dropped": 5,
    }
    assert "uni.unicast_peer_errors" not in hostile.expected(sent, "n2")
