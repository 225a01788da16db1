"""Several nodes' configurations checked as one cluster (``vrrpd check-config a b c``).

Each file can be valid and the cluster still broken: one node on VRRPv2 and the
other on v3 (both MASTER), intervals that differ (v2 drops the adverts), VIP lists
or passwords that differ, two address owners, equal priorities (the tie goes to
the higher address, which nobody chose), or checks whose weights can never move
mastership. Pure: configurations in, sentences out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vrrpd.core.config import Config, InstanceConfig
from vrrpd.core.constants import PRIORITY_MIN, PRIORITY_OWNER


@dataclass(frozen=True)
class Finding:
    error: bool
    """False: legal, worth knowing (who wins in each failure)."""
    message: str


def _members(
    nodes: Sequence[tuple[str, Config]],
) -> dict[tuple[int, str], list[tuple[str, InstanceConfig]]]:
    by_vrid: dict[tuple[int, str], list[tuple[str, InstanceConfig]]] = {}
    for node, config in nodes:
        for inst in config.instances:
            by_vrid.setdefault((inst.vrid, str(inst.family)), []).append((node, inst))
    return by_vrid


_AGREE = (
    ("version", lambda i: i.version),
    ("advert_interval", lambda i: i.advert_interval),
    ("virtual_addresses", lambda i: sorted(str(v.address) for v in i.virtual_addresses)),
    (
        "authentication",
        lambda i: i.authentication.password.encode()[:8] if i.authentication else None,
    ),
    ("v3_ipv4_checksum", lambda i: i.v3_ipv4_checksum.value),
    ("unicast", lambda i: bool(i.unicast_peers)),
)


def check(nodes: Sequence[tuple[str, Config]]) -> list[Finding]:
    """Every disagreement between ``nodes`` (name, config), then who wins each failure."""
    findings: list[Finding] = []
    for (vrid, family), members in sorted(_members(nodes).items()):
        where = f"VRID {vrid} ({family})"
        if len(members) < 2:
            findings.append(Finding(False, f"{where}: only on {members[0][0]}: no backup for it"))
            continue
        for key, value in _AGREE:
            seen = {node: value(inst) for node, inst in members}
            if len({repr(v) for v in seen.values()}) > 1:
                shown = ", ".join(
                    f"{node} {'(hidden)' if key == 'authentication' else v!s}"
                    for node, v in seen.items()
                )
                findings.append(Finding(True, f"{where}: {key} differs: {shown}"))
        owners = [node for node, inst in members if inst.owner]
        if len(owners) > 1:
            findings.append(
                Finding(
                    True,
                    f"{where}: {len(owners)} address owners (priority 255): {', '.join(owners)}",
                )
            )
        priorities: dict[int, list[str]] = {}
        for node, inst in members:
            priorities.setdefault(inst.priority, []).append(node)
        for priority, same in priorities.items():
            if len(same) > 1:
                findings.append(Finding(True, f"{where}: {', '.join(same)} share priority {priority}: "
                                              "the higher address would win; give each node its own"))  # fmt: skip
        findings += _failures(where, members, dict(nodes))
    return findings


def _worst(inst: InstanceConfig, config: Config) -> tuple[int, list[str]]:
    """The lowest effective priority ``inst`` can fall to, and the checks that can FAULT it."""
    weights = {c.name: c.weight for c in config.scripts}
    total, faults = inst.priority, []
    for track in inst.track_scripts:
        weight = weights.get(track.name, 0) if track.weight is None else track.weight
        if weight < 0:
            total += weight
        elif weight == 0:
            faults.append(f"check {track.name}")
    total += sum(t.weight for t in inst.track_interfaces if t.weight and t.weight < 0)
    total += sum(t.weight for t in inst.track_processes if t.weight and t.weight < 0)
    faults += [f"interface {t.name}" for t in inst.track_interfaces if not t.weight]
    faults += [f"process {t.name}" for t in inst.track_processes if not t.weight]
    if inst.owner:
        return PRIORITY_OWNER, faults
    return max(PRIORITY_MIN, total), faults


def _failures(
    where: str, members: list[tuple[str, InstanceConfig]], configs: dict[str, Config]
) -> list[Finding]:
    """Who is master normally, and who takes over when the master's checks fail."""
    ranked = sorted(members, key=lambda m: m[1].priority, reverse=True)
    (top, inst), others = ranked[0], ranked[1:]
    out = [Finding(False, f"{where}: {top} is master (priority {inst.priority})")]
    worst, faults = _worst(inst, configs[top])
    best_other = max(others, key=lambda m: m[1].priority)
    if faults:
        out.append(
            Finding(
                False,
                f"{where}: {', '.join(faults)} failing on {top} (FAULT) hands over to {best_other[0]}",
            )
        )
    if worst < inst.priority:
        if worst < best_other[1].priority:
            out.append(Finding(False, f"{where}: every weighted check failing on {top} "
                                      f"({inst.priority} -> {worst}) hands over to {best_other[0]} "
                                      f"({best_other[1].priority})"))  # fmt: skip
        elif not faults:
            out.append(Finding(True, f"{where}: {top}'s checks can never move mastership: at worst "
                                     f"{inst.priority} -> {worst}, still above {best_other[0]}'s "
                                     f"{best_other[1].priority}; use larger weights or weight 0"))  # fmt: skip
    elif not faults and inst.track_scripts:
        out.append(Finding(True, f"{where}: {top} tracks checks that cannot lower its priority"))
    if not inst.preempt and worst < inst.priority:
        out.append(Finding(False, f"{where}: {top} has preempt: false, so once it hands over it "
                                  "does not take the VIPs back"))  # fmt: skip
    return out
