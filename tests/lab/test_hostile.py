"""Hostile packets at a running cluster (short profiles; `make soak` runs the long ones)."""

from __future__ import annotations

import json
import sys

import pytest

from vrrpd.lab import Lab, hostile

pytestmark = pytest.mark.netns


def test_every_hostile_class_is_counted_once_and_changes_nothing() -> None:
    report = hostile.drill(4000, 1000)
    print("\n" + "\n".join(report.lines()))
    assert report.violations == []
    assert set(report.sent) == set(hostile.CLASSES)
    assert sum(report.sent.values()) == 5000


def test_expected_counts_follow_the_classes() -> None:
    sent = {"checksum": 3, "unknown_vrid": 2, "not_a_peer": 5, "auth_failure": 4}
    assert hostile.expected(sent, "n1") == {
        "web.checksum_errors": 3,
        "web.packets_dropped": 3,
        "legacy.auth_failures": 4,
        "legacy.packets_dropped": 4,
    }  # other VRIDs and non-peers are dropped by the socket filter: counted nowhere


def test_the_socket_filter_works_in_a_real_kernel() -> None:
    with Lab() as lab:
        lab.add_node("n1", hostile.MASTER, "2001:db8::11")
        done = lab.exec("n1", sys.executable, "-m", "vrrpd.lab.hostile", "--filter-check")
    assert json.loads(done.stdout) == {
        "v4": [True, False, False, False],  # ours; TTL 254; another VRID; v2 to a v3 VRID
        "v6": [True, False, False, False],  # the same with the hop limit
        "v4_peers": [True, False],  # unicast_max_hops 2: TTL 253 yes, 252 no
        "v4_not_a_peer": [False],
        "v6_not_a_peer": [False],
    }


def test_hostile_load_leaves_the_pair_alone() -> None:
    """Issue 16: 20,000 malformed adverts from 20,000 sources, valid-looking ones from
    40,000, one sender flooding as fast as it can for 5 s, a spoofed TTL-7 advert from the
    unicast peer's address: no move, few log lines, bounded memory, status answers."""
    report = hostile.load_drill(20_000, 40_000, 5.0, rate=10_000)
    print("\n" + "\n".join(report.lines()))
    assert report.violations == []
