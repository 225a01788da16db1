"""Several nodes' configurations checked as one cluster (``vrrpd check-config a b c``).

Each file can be valid and the cluster still broken: one node on VRRPv2 and the
other on v3 (both MASTER), intervals that differ (v2 drops the adverts), VIP lists
or passwords that differ, two address owners, or checks whose weights can never move
mastership. Equal priorities are legal (some installers give every node the same
one): the higher primary address wins, and the check says so. Each VRID is predicted
alone, then each sync group as a whole: members that would elect different masters
(under no failure, or one the check considers) drag each other back and forth, and
the group's VIPs flap between the nodes. Pure, but for ``missing_programs``:
configurations in, sentences out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vrrpd.core.config import Config, InstanceConfig
from vrrpd.core.constants import PRIORITY_MIN, PRIORITY_OWNER, Family, IPAddress
from vrrpd.core.tracking import (
    Observation,
    Tracker,
    TrackerKind,
    TrackerStatus,
    effective_priority,
    trackers,
)


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
    # held by the master without being advertised: a backup with others would take over
    # the VIPs and leave these behind (or bring addresses the old master never held)
    ("excluded_addresses", lambda i: sorted(str(v.address) for v in i.excluded_addresses)),
    (
        "authentication",
        lambda i: i.authentication.password.encode()[:8] if i.authentication else None,
    ),
    ("v3_ipv4_checksum", lambda i: i.v3_ipv4_checksum.value),
    ("unicast", lambda i: bool(i.unicast_peers)),
)


def check(
    nodes: Sequence[tuple[str, Config]], locations: Mapping[tuple[str, str], str] | None = None
) -> list[Finding]:
    """Every disagreement between ``nodes`` (name, config), then who wins each failure.

    ``locations`` maps (node, instance name) to where that instance is written (FILE:LINE
    of a keepalived.conf), named beside the node in what disagrees."""
    findings: list[Finding] = []
    located = locations or {}

    def label(node: str, inst: InstanceConfig) -> str:
        where = located.get((node, inst.name))
        return f"{node} ({where})" if where else node

    for (vrid, family), members in sorted(_members(nodes).items()):
        where = f"VRID {vrid} ({family})"
        if len(members) < 2:
            only = label(*members[0])
            findings.append(Finding(False, f"{where}: only on {only}: no backup for it"))
            continue
        labels = {node: label(node, inst) for node, inst in members}
        for key, value in _AGREE:
            seen = {node: value(inst) for node, inst in members}
            if len({repr(v) for v in seen.values()}) > 1:
                shown = ", ".join(
                    f"{labels[node]} {'(hidden)' if key == 'authentication' else v!s}"
                    for node, v in seen.items()
                )
                # VRRPv3 backups learn the master's interval (RFC 5798 6.4.2; Keepalived
                # and vrrpd accept the advert): legal, only their failover times differ
                legal = key == "advert_interval" and all(i.version == 3 for _, i in members)
                why = (
                    ": legal in VRRPv3 (a backup times the master by the master's "
                    "interval), but each master is detected at its own pace"
                    if legal
                    else ""
                )
                findings.append(Finding(not legal, f"{where}: {key} differs: {shown}{why}"))
        findings += _unicast_reach(where, members, labels)
        findings += _keepalived_hop_limit(where, members, labels, located)
        owners = [node for node, inst in members if inst.owner]
        if len(owners) > 1:
            findings.append(
                Finding(
                    True,
                    f"{where}: {len(owners)} address owners (priority 255): {', '.join(owners)}",
                )
            )
        configs = dict(nodes)
        addresses = _addresses(members)
        priorities: dict[int, list[str]] = {}
        for node, inst in members:
            priorities.setdefault(_healthy(inst, configs[node]), []).append(node)
        for priority, same in priorities.items():
            if len(same) > 1:
                findings.append(Finding(False, f"{where}: {', '.join(same)} share priority "
                                               f"{priority}: legal; {_tie(same, addresses)}"))  # fmt: skip
        findings += _failures(where, members, configs, addresses)
    return findings + _sync_groups(nodes)


KEEPALIVED_V6_UNICAST_HOPS = 64
"""The hop limit of Keepalived 2.2.7's IPv6 unicast adverts without ``unicast_ttl``
(the socket's default; seen in a namespace): they arrive below 255 on the same link."""


def _keepalived_hop_limit(
    where: str,
    members: list[tuple[str, InstanceConfig]],
    labels: Mapping[str, str],
    located: Mapping[tuple[str, str], str],
) -> list[Finding]:
    """A vrrpd node beside a live Keepalived node (a keepalived.conf among the files:
    located) on IPv6 unicast: Keepalived sends with hop limit 64, so a vrrpd node that
    takes 255 only (``unicast_max_hops: 0``, the default of a hand-written file) drops
    every advert and both are MASTER."""
    senders = [
        node
        for node, inst in members
        if (node, inst.name) in located and inst.unicast_peers and inst.family is Family.V6
    ]
    need = 255 - KEEPALIVED_V6_UNICAST_HOPS
    return [
        Finding(
            True,
            f"{where}: {labels[node]} takes unicast adverts with hop limit >= "
            f"{255 - inst.unicast_max_hops} only (unicast_max_hops "
            f"{inst.unicast_max_hops}), but Keepalived on {', '.join(senders)} sends "
            f"IPv6 unicast adverts with hop limit {KEEPALIVED_V6_UNICAST_HOPS} unless "
            f"its unicast_ttl says otherwise: {node} drops them and both are MASTER; "
            f"set unicast_max_hops: {need} or more on {node} (or unicast_ttl 255 "
            "in the keepalived.conf)",
        )
        for node, inst in members
        if senders
        and (node, inst.name) not in located
        and inst.unicast_peers
        and inst.unicast_max_hops < need
    ]


def _unicast_reach(
    where: str, members: list[tuple[str, InstanceConfig]], labels: Mapping[str, str]
) -> list[Finding]:
    """A unicast node whose peers leave out another node's own address (its
    ``unicast_source``): it never sends that node its adverts, and drops the ones it
    gets (vrrpd takes unicast adverts from its listed peers only, Keepalived too with
    vrrp_check_unicast_src): both can be MASTER."""
    findings = []
    sources = {node: inst.unicast_source for node, inst in members if inst.unicast_source}
    for node, inst in members:
        if not inst.unicast_peers:
            continue
        for other, source in sources.items():
            if other != node and source not in inst.unicast_peers:
                peers = ", ".join(str(p) for p in inst.unicast_peers)
                findings.append(Finding(True, f"{where}: {labels[node]} unicast_peers ({peers}) "
                                              f"leave out {other}'s address {source}: {node} "
                                              f"never sends {other} its adverts and drops "
                                              f"{other}'s; both can be MASTER"))  # fmt: skip
    return findings


def _addresses(members: list[tuple[str, InstanceConfig]]) -> dict[str, IPAddress]:
    """Each node's own address where the files tell it: its ``unicast_source``, or the one
    peer address the other nodes list and it does not (its own is never its peer)."""
    known: dict[str, IPAddress] = {}
    for node, inst in members:
        if inst.unicast_source is not None:
            known[node] = inst.unicast_source
            continue
        others = {p for n, i in members if n != node for p in i.unicast_peers}
        candidates = others - set(inst.unicast_peers)
        if len(candidates) == 1:
            known[node] = candidates.pop()
    return known


def _tie(same: list[str], addresses: dict[str, IPAddress]) -> str:
    """Who wins a tie: the higher primary address (RFC 5798 6.4.3, RFC 3768 6.4.3)."""
    if all(node in addresses for node in same):
        winner = max(same, key=lambda n: int(addresses[n]))
        return f"between them the higher primary address wins: {winner} ({addresses[winner]})"
    return (
        "between them the node with the higher primary address on the interface wins "
        "(RFC 5798 6.4.3); the files do not name every address (unicast_source would)"
    )


def _weight(track_weight: int | None, default: int | None) -> int:
    return (default or 0) if track_weight is None else track_weight


def _weights(inst: InstanceConfig, config: Config) -> list[tuple[str, int]]:
    """Every tracker of ``inst`` and its weight (0: FAULT while down)."""
    scripts = {c.name: c.weight for c in config.scripts}
    out = [(f"check {t.name}", _weight(t.weight, scripts.get(t.name))) for t in inst.track_scripts]
    out += [(f"interface {t.name}", _weight(t.weight, 0)) for t in inst.track_interfaces]
    out += [(f"process {t.name}", _weight(t.weight, 0)) for t in inst.track_processes]
    return out


def _clamp(inst: InstanceConfig, total: int) -> int:
    return PRIORITY_OWNER if inst.owner else max(PRIORITY_MIN, min(PRIORITY_OWNER - 1, total))


def _healthy(inst: InstanceConfig, config: Config) -> int:
    """The priority ``inst`` advertises with every tracker up: positive weights count."""
    return _clamp(inst, inst.priority + sum(w for _, w in _weights(inst, config) if w > 0))


def _worst(inst: InstanceConfig, config: Config) -> tuple[int, list[str]]:
    """The lowest effective priority ``inst`` can fall to (every tracker down: positive
    weights lost, negative ones added), and the trackers that can FAULT it."""
    weights = _weights(inst, config)
    total = inst.priority + sum(w for _, w in weights if w < 0)
    return _clamp(inst, total), [name for name, w in weights if w == 0]


def _rank(
    members: list[tuple[str, InstanceConfig]],
    configs: dict[str, Config],
    addresses: dict[str, IPAddress],
) -> list[tuple[str, InstanceConfig]]:
    """Highest healthy priority first; a tie to the higher known address (RFC 5798 6.4.3)."""
    return sorted(
        members,
        key=lambda m: (_healthy(m[1], configs[m[0]]), int(addresses.get(m[0], 0))),
        reverse=True,
    )


def _failures(
    where: str,
    members: list[tuple[str, InstanceConfig]],
    configs: dict[str, Config],
    addresses: dict[str, IPAddress],
) -> list[Finding]:
    """Who is master normally, and who takes over when the master's checks fail."""
    (top, inst), *others = _rank(members, configs, addresses)
    healthy = _healthy(inst, configs[top])
    (other, other_inst) = others[0]
    other_priority = _healthy(other_inst, configs[other])
    shown = f"priority {healthy}" if healthy == inst.priority else (
        f"priority {healthy}: {inst.priority} + its positive weights while their trackers are up")  # fmt: skip
    if other_priority == healthy and not (top in addresses and other in addresses):
        out = [Finding(False, f"{where}: {top} or {other} is master ({shown}; the higher "
                              "primary address wins)")]  # fmt: skip
    else:
        out = [Finding(False, f"{where}: {top} is master ({shown})")]
    worst, faults = _worst(inst, configs[top])
    if faults:
        out.append(
            Finding(
                False,
                f"{where}: {', '.join(faults)} failing on {top} (FAULT) hands over to {other}",
            )
        )
    if worst < healthy:
        if worst < other_priority:
            out.append(Finding(False, f"{where}: every weighted check failing on {top} "
                                      f"({healthy} -> {worst}) hands over to {other} "
                                      f"({other_priority})"))  # fmt: skip
        elif not faults:
            out.append(Finding(True, f"{where}: {top}'s checks can never move mastership: at worst "
                                     f"{healthy} -> {worst}, still above {other}'s "
                                     f"{other_priority}; use larger weights or weight 0"))  # fmt: skip
    if not inst.preempt and worst < healthy:
        out.append(Finding(False, f"{where}: {top} has preempt: false, so once it hands over it "
                                  "does not take the VIPs back"))  # fmt: skip
    return out


def missing_programs(config: Config) -> list[str]:
    """The checks whose program is not on this host, or not executable.

    The loader looks for them only under ``script_security`` (and converted files turn it
    off): without this, a missing script passes the check and the instance goes to FAULT
    (or loses its weight) at run time. Reads the file system: run it on the node itself.
    """
    from vrrpd.config.security import program_of  # noqa: PLC0415

    out = []
    for check in config.scripts:
        program = program_of(check.command)
        if program is None or not os.path.exists(program):
            problem = f"{program or check.command.split()[0]} does not exist on this host"
        elif not os.access(program, os.X_OK) or os.path.isdir(program):
            problem = f"{program} is not executable"
        else:
            continue
        out.append(
            f"scripts.{check.name}: {problem}: vrrpd would run it and count every run as a "
            "failure, so its instances go to FAULT (weight 0) or lose its weight "
            "(Keepalived disables such a check instead)"
        )
    return out


Key = tuple[int, str]
"""An instance as the cluster knows it: (VRID, family)."""

Failure = tuple[str, str | None]
"""A failure the prediction considers: (node, tracker key), None for every weighted one."""


def _seen(tracker: Tracker, down: bool) -> Observation:
    """What a tracker reports: up, or down (a check failing, a link lost, no process); a
    file's integer is not known here, and counts 0 either way."""
    if tracker.kind is TrackerKind.CHECK:
        return TrackerStatus.DOWN if down else TrackerStatus.UP
    if tracker.kind is TrackerKind.INTERFACE:
        return not down
    if tracker.kind is TrackerKind.FILE:
        return 0
    return 0 if down else tracker.quorum


def _priority(
    inst: InstanceConfig, config: Config, failure: Failure | None, node: str
) -> int | None:
    """``inst``'s effective priority on ``node`` under ``failure`` (None: FAULT)."""
    weights = {c.name: c.weight for c in config.scripts}
    contributions = []
    for tracker in trackers(inst, weights):
        down = (
            failure is not None
            and failure[0] == node
            and (failure[1] == tracker.key if failure[1] else tracker.weight != 0)
        )
        contributions.append(tracker.judge(_seen(tracker, down)))
    if any(c.fault for c in contributions):
        return None
    return effective_priority(inst.priority, contributions)


def _groups(nodes: Sequence[tuple[str, Config]]) -> list[dict[str, tuple[str, list[Key]]]]:
    """The sync groups of the cluster: each node's group (name, member keys), joined
    across nodes by the members they share (the names may differ between files)."""
    found: list[tuple[str, str, set[Key]]] = []
    for node, config in nodes:
        keys = {i.name: (i.vrid, str(i.family)) for i in config.instances}
        for group in config.sync_groups:
            members = {keys[m] for m in group.instances if m in keys}
            if len(members) > 1:
                found.append((node, group.name, members))
    joined: list[tuple[set[Key], dict[str, tuple[str, list[Key]]]]] = []
    for node, name, members in found:
        touching = [j for j in joined if j[0] & members]
        merged_keys, merged = set(members), {node: (name, sorted(members))}
        for j in touching:
            merged_keys |= j[0]
            merged = {**j[1], **merged}
            joined.remove(j)
        joined.append((merged_keys, merged))
    return [groups for _, groups in joined]


def _describe(failure: Failure | None) -> str:
    if failure is None:
        return "with every tracker up"
    node, key = failure
    if key is None:
        return f"when every weighted tracker fails on {node}"
    kind, _, name = key.partition(":")
    return f"when {kind} {name} fails on {node}"


def _sync_groups(nodes: Sequence[tuple[str, Config]]) -> list[Finding]:
    """Each sync group's members elected together, under no failure and under each one
    the check considers (one tracker failing on one node; every weighted tracker failing
    on one node). A group whose members would elect masters on different nodes never
    settles: the node that wins one member drags the group to MASTER, the other node wins
    another member back and drags it away again, every Skew_Time or so. Members whose
    winners tie on an unknown address are not called different."""
    configs = dict(nodes)
    by_key = _members(nodes)
    findings = []
    for groups in _groups(nodes):
        keys = sorted({k for _, members in groups.values() for k in members})
        involved = sorted({n for k in keys for n, _ in by_key.get(k, [])})
        failures: list[Failure | None] = [None]
        for node in involved:
            tracked = {
                t.key
                for inst in configs[node].instances
                if (inst.vrid, str(inst.family)) in keys
                for t in trackers(inst, {c.name: c.weight for c in configs[node].scripts})
                if t.kind is not TrackerKind.FILE  # its integer, not up or down
            }
            failures += [(node, key) for key in sorted(tracked)] + [(node, None)]
        for failure in failures:
            finding = _split(groups, keys, by_key, configs, failure)
            if finding is not None:
                findings.append(finding)
                break  # one per group: the first failure that splits it
    return findings


def _split(
    groups: Mapping[str, tuple[str, list[Key]]],
    keys: list[Key],
    by_key: Mapping[Key, list[tuple[str, InstanceConfig]]],
    configs: Mapping[str, Config],
    failure: Failure | None,
) -> Finding | None:
    """The finding when ``failure`` makes the group's members elect different masters."""
    faulted: set[tuple[str, Key]] = set()
    priorities: dict[Key, dict[str, int]] = {}
    for key in keys:
        for node, inst in by_key.get(key, []):
            priority = _priority(inst, configs[node], failure, node)
            if priority is None:
                # FAULT in one member is FAULT in the node's whole group
                grouped = groups[node][1] if key in groups.get(node, ("", []))[1] else [key]
                faulted.update((node, k) for k in grouped)
            else:
                priorities.setdefault(key, {})[node] = priority
    winners: dict[Key, set[str]] = {}
    for key in keys:
        alive = {n: p for n, p in priorities.get(key, {}).items() if (n, key) not in faulted}
        if not alive:
            continue
        top = max(alive.values())
        tied = {n for n, p in alive.items() if p == top}
        addresses = _addresses(by_key[key])
        if len(tied) > 1 and all(n in addresses for n in tied):
            tied = {max(tied, key=lambda n: int(addresses[n]))}
        winners[key] = tied
    distinct = {frozenset(w) for w in winners.values()}
    if not any(not (a & b) for a in distinct for b in distinct):
        return None
    names = {name for name, _ in groups.values()}
    label = (
        f"sync group {names.pop()}"
        if len(names) == 1
        else "sync group " + ", ".join(f"{name} on {node}" for node, (name, _) in groups.items())
    )
    member_names = {k: i.name for k in keys for _, i in by_key.get(k, [])[:1]}
    parts = []
    for key, won in winners.items():
        shown = ", ".join(f"{n} {p}" for n, p in sorted(priorities[key].items())
                          if (n, key) not in faulted)  # fmt: skip
        parts.append(f"{member_names[key]} (VRID {key[0]}: {shown}) -> {'/'.join(sorted(won))}")
    preempting = any(
        inst.preempt for key, won in winners.items() for n, inst in by_key[key] if n in won
    )
    nodes = sorted({n for won in winners.values() for n in won})
    consequence = (
        f"each node's group follows the member it wins and drags the others along: the "
        f"VIPs flap between {' and '.join(nodes)} every Skew_Time or so"
        if preempting
        else "with preempt: false no backup takes a member over, so the group stays where "
        "it is and this failure moves nothing"
    )
    return Finding(
        preempting,
        f"{label}: its members elect different masters {_describe(failure)}: "
        f"{'; '.join(parts)}; {consequence}. {_remedy(keys, by_key, configs)}",
    )


def _remedy(
    keys: list[Key],
    by_key: Mapping[Key, list[tuple[str, InstanceConfig]]],
    configs: Mapping[str, Config],
) -> str:
    """What to change: the trackers some members have and others lack (on each node, by
    the names that node's file gives them), else the priorities that rank the nodes
    differently."""
    unlike = []
    for node in sorted({n for k in keys for n, _ in by_key.get(k, [])}):
        weights = {c.name: c.weight for c in configs[node].scripts}
        tracked = {
            i.name: {(t.key, t.weight, t.reverse) for t in trackers(i, weights)}
            for k in keys
            for n, i in by_key.get(k, [])
            if n == node
        }
        common = set.intersection(*tracked.values()) if tracked else set()
        for member, own in sorted(tracked.items()):
            for key, weight, reverse in sorted(own - common):
                kind, _, what = key.partition(":")
                others = ", ".join(
                    sorted(m for m, o in tracked.items() if (key, weight, reverse) not in o)
                )
                unlike.append(f"on {node}, {member} tracks {kind} {what} (weight {weight:+d}"
                              f"{' reverse' if reverse else ''}) and {others} not")  # fmt: skip
    if unlike:
        return f"Give every member the same trackers with the same weights ({'; '.join(unlike)})"
    return (
        "Give every member the same priority on each node (its trackers already match), "
        "so that whatever fails moves them together"
    )
