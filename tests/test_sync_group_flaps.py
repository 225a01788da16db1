"""Sync groups whose members rank the nodes differently: `simulate` says the drill never
settles, `check-config` names the group; well-made groups give neither (issue 15,
review h15r2 findings 11 and 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vrrpd.cli import main

PAIR = """\
global: {{router_id: {node}, script_security: false}}
scripts:
  chk: {{command: /bin/true, weight: -30}}
instances:
  a:
    interface: eth0
    vrid: 7
    priority: {a}
    unicast_source: {me}
    unicast_peers: [{peer}]
    virtual_addresses: [192.0.2.7/24]
{a_track}  b:
    interface: eth0
    vrid: 8
    priority: {b}
    unicast_source: {me}
    unicast_peers: [{peer}]
    virtual_addresses: [192.0.2.8/24]
{b_track}sync_groups:
  g: {{instances: [a, b]}}
"""

TRACK = "    track_scripts: [chk]\n"


def _pair(
    tmp_path: Path, priorities: dict[str, tuple[int, int]], track: tuple[bool, bool]
) -> list[str]:
    """node -> (a's priority, b's priority); which of a and b track chk (on both nodes)."""
    files = []
    for index, (node, (a, b)) in enumerate(priorities.items()):
        path = tmp_path / f"{node}.yaml"
        path.write_text(
            PAIR.format(
                node=node,
                a=a,
                b=b,
                me=f"192.0.2.{11 + index}",
                peer=f"192.0.2.{12 - index}",
                a_track=TRACK if track[0] else "",
                b_track=TRACK if track[1] else "",
            )
        )
        files.append(str(path))
    return files


def _cluster(files: list[str]) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["check-config", *files])
    return result.exit_code, [line for line in result.output.splitlines() if "cluster:" in line]


def test_members_ranking_the_nodes_differently_from_the_start(tmp_path: Path) -> None:
    """a prefers lb2, b prefers lb1, nothing failing: the election itself never ends.
    simulate named a master after the election (lb2, a snapshot) and check-config
    predicted each VRID alone, without an error."""
    files = _pair(tmp_path, {"lb1": (110, 120), "lb2": (120, 110)}, (False, False))
    out = CliRunner().invoke(main, ["simulate", *files]).output
    assert "master after the election: flaps lb1/lb2;" in out
    assert "  the election: " in out
    code, lines = _cluster(files)
    assert code == 1
    errors = [line for line in lines if "ERROR" in line]
    assert len(errors) == 1, lines
    assert "sync group g: its members elect different masters with every tracker up" in errors[0]
    assert "a (VRID 7: lb1 110, lb2 120) -> lb2; b (VRID 8: lb1 120, lb2 110) -> lb1" in errors[0]
    assert "Give every member the same priority on each node" in errors[0]


def test_a_check_on_one_member_only_splits_the_group_when_it_fails(tmp_path: Path) -> None:
    """Only a tracks chk (weight -30): when it fails on lb1, a goes to lb2 (120 > 90),
    b stays on lb1 (120 > 110)."""
    files = _pair(tmp_path, {"lb1": (120, 120), "lb2": (110, 110)}, (True, False))
    code, lines = _cluster(files)
    assert code == 1
    (error,) = [line for line in lines if "ERROR" in line]
    assert "sync group g: its members elect different masters when check chk fails on lb1" in error
    assert "a (VRID 7: lb1 90, lb2 110) -> lb2; b (VRID 8: lb1 120, lb2 110) -> lb1" in error
    assert "flap between lb1 and lb2" in error
    assert "on lb1, a tracks check chk (weight -30) and b not" in error
    rows = CliRunner().invoke(main, ["simulate", *files]).output
    row = next(line for line in rows.splitlines() if line.startswith("  check chk fails on lb1"))
    assert "flaps lb1/lb2" in row


@pytest.mark.parametrize(
    "priorities",
    [
        {"lb1": (120, 120), "lb2": (110, 110)},
        {"lb1": (150, 140), "lb2": (125, 115)},  # rank alike, the weight crosses both gaps
    ],
    ids=["same-priorities", "same-ranking"],
)
def test_a_well_made_group_is_no_error_and_settles(
    tmp_path: Path, priorities: dict[str, tuple[int, int]]
) -> None:
    """Every member tracks the same check with the same weight: they move together."""
    files = _pair(tmp_path, priorities, (True, True))
    code, lines = _cluster(files)
    assert code == 0, lines
    assert not any("sync group" in line for line in lines), lines
    out = CliRunner().invoke(main, ["simulate", *files]).output
    assert "flaps" not in out
    assert "never settled" not in out
    assert "master after the election: lb1;" in out


def test_same_trackers_but_a_gap_one_weight_crosses_and_the_other_not(tmp_path: Path) -> None:
    """Both track chk (-30), but a's gap is 50 and b's 20: when chk fails on lb1, a stays
    (120 > 100) and b moves (110 < 120). The trackers match, so the priorities are what
    to change."""
    files = _pair(tmp_path, {"lb1": (150, 140), "lb2": (100, 120)}, (True, True))
    code, lines = _cluster(files)
    assert code == 1
    (error,) = [line for line in lines if "ERROR: sync group" in line]
    assert "when check chk fails on lb1" in error
    assert "Give every member the same priority on each node" in error


def test_preempt_false_keeps_a_split_group_still(tmp_path: Path) -> None:
    """Without preemption no backup takes a member back: legal, said as a note."""
    files = _pair(tmp_path, {"lb1": (120, 120), "lb2": (110, 110)}, (True, False))
    for path in files:
        text = Path(path).read_text()
        Path(path).write_text(text.replace("    priority:", "    preempt: false\n    priority:"))
    code, lines = _cluster(files)
    assert code == 0, lines
    assert any("note: sync group g" in line and "preempt: false" in line for line in lines)


def test_groups_named_differently_on_each_node_are_one_group(tmp_path: Path) -> None:
    files = _pair(tmp_path, {"lb1": (110, 120), "lb2": (120, 110)}, (False, False))
    Path(files[1]).write_text(Path(files[1]).read_text().replace("  g: {", "  web: {"))
    code, lines = _cluster(files)
    assert code == 1
    assert any("ERROR: sync group g on lb1, web on lb2:" in line for line in lines), lines


def test_a_fault_in_one_member_takes_the_whole_group_over(tmp_path: Path) -> None:
    """A weight-0 check on a alone: when it fails on lb1, a is FAULT there and so is the
    whole group (b too), so both members go to lb2 together: no split."""
    files = _pair(tmp_path, {"lb1": (120, 120), "lb2": (110, 110)}, (True, False))
    for path in files:
        text = Path(path).read_text()
        Path(path).write_text(text.replace(TRACK, "    track_scripts: [{name: chk, weight: 0}]\n"))
    code, lines = _cluster(files)
    assert code == 0, lines
    assert not any("sync group" in line for line in lines), lines
    out = CliRunner().invoke(main, ["simulate", *files]).output
    assert "never settled" not in out


def _moves(
    *holders: str, every: float = 0.5, start: float = 10.0
) -> list[tuple[float, frozenset[str]]]:
    return [(start + i * every, frozenset(h.split(","))) for i, h in enumerate(holders)]


@pytest.mark.parametrize(
    ("changes", "end", "flaps"),
    [
        (_moves("a,b", "b"), 20.0, False),  # one takeover: a crash, a failing check
        (_moves("a,b", "b", "a,b", "a"), 11.6, False),  # back once: two takeovers
        (_moves("a,b", "b", "a,b", "a", "a,b", "b"), 20.0, False),  # settled long before the end
        (_moves("a,b", "b", "a,b", "a", "a,b", "b"), 12.6, True),  # back and forth to the end
        (_moves("a,c", "c", "c,b", "b"), 11.6, False),  # a, c, b: never back to one it left
    ],
    ids=["moved", "back-once", "settled", "flapping", "onward"],
)
def test_what_counts_as_a_flap(
    changes: list[tuple[float, frozenset[str]]], end: float, flaps: bool
) -> None:
    """A drill flaps when its holders go back to a node they left and keep changing to
    its end (the last takeover within two of their periods of it)."""
    from vrrpd.rehearse import _flap

    flap = _flap(frozenset({"a"}), changes, end)
    assert (flap is not None) == flaps
    if flap is not None:
        assert flap.takeovers == 3
        assert flap.holders == ("a", "b")
        assert flap.period == pytest.approx(1.0)
