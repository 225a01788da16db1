"""``vrrpd simulate a.yaml b.yaml``: the operator's own nodes through the standard drills.

Their real configurations, on the simulated LAN (exact protocol time, no root, no
network): each node crashes and returns, each check of the master fails and
recovers, the master stops gracefully, and a partition splits every node from the
others and heals. A timeline names each node (its ``router_id``, or its file's name when
router_ids clash), and a table gives who holds each instance during and after each
drill and the worst outage of any VIP; a drill whose holders never settle (a sync group
whose members rank the nodes differently flaps until the fault is undone) says so and
counts its takeovers, since a snapshot of who holds the VIPs at its end would name a
node that lost them half a second later. What the simulation cannot know (each node's
own address, unless ``unicast_source`` names it; what the checks really test) is
said plainly and replaced by a stand-in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import methodcaller

from vrrpd.core.config import Config
from vrrpd.sim import Lan, outages


@dataclass(frozen=True)
class Drill:
    title: str
    act: Callable[[Lan], None]
    undo: Callable[[Lan], None] | None = None


def _address(config: Config, index: int, family6: bool) -> str:
    for inst in config.instances:
        if inst.unicast_source is not None:
            return str(inst.unicast_source)
    return f"fe80::{11 + index}" if family6 else f"192.0.2.{11 + index}"


def _drills(
    nodes: Sequence[tuple[str, Config]], masters: Mapping[str, set[tuple[int, str]]]
) -> list[Drill]:
    """Each node crashes; each check of each master's instances fails (``masters``: each
    master and the (VRID, family) it holds); each master stops; a partition."""
    drills = []
    for name, _ in nodes:
        drills.append(
            Drill(
                f"{name} crashes (no priority 0)",
                methodcaller("kill", name),
                methodcaller("start", name),
            )
        )
    configs = dict(nodes)
    for master in masters:
        tracked = {
            t.name
            for i in configs[master].instances
            if (i.vrid, str(i.family)) in masters[master]
            for t in i.track_scripts
        }
        for check in sorted(tracked):
            drills.append(
                Drill(
                    f"check {check} fails on {master}",
                    methodcaller("set_check", master, check, False),
                    methodcaller("set_check", master, check, True),
                )
            )
    for master in masters:
        drills.append(
            Drill(
                f"{master} stops gracefully (priority 0)",
                methodcaller("stop", master),
                methodcaller("start", master),
            )
        )
    names = [n for n, _ in nodes]
    drills.append(
        Drill(
            "partition: every node alone",
            lambda lan: lan.partition(*[[n] for n in names]),
            lambda lan: lan.heal(),
        )
    )
    return drills


def hold_time(nodes: Sequence[tuple[str, Config]]) -> float:
    """How long each half of a drill lasts: long enough for the slowest check to fall
    (fall runs, the last one up to its timeout) or rise, and for the election after it
    (Master_Down_Interval is under 4 advert intervals); a drill shorter than its check
    reports a failure that never happened."""
    interval = max(i.advert_interval for _, c in nodes for i in c.instances)
    election = 4 * interval + 1.0
    checks = [
        max(c.fall, c.rise) * c.interval + c.effective_timeout
        for _, config in nodes
        for c in config.scripts
    ]
    return max(10.0, 8 * interval, max(checks, default=0.0) + election)


def _instances(nodes: Sequence[tuple[str, Config]]) -> dict[tuple[int, str], tuple[str, str]]:
    """Each shared instance (VRID, family): the first node's name for it, its first VIP."""
    seen: dict[tuple[int, str], tuple[str, str]] = {}
    for _, config in nodes:
        for inst in config.instances:
            key = (inst.vrid, str(inst.family))
            seen.setdefault(key, (inst.name, str(inst.virtual_addresses[0].address.ip)))
    return dict(sorted(seen.items()))


def _held(lan: Lan, instances: Mapping[tuple[int, str], tuple[str, str]]) -> str:
    """Who holds each instance's VIP: one name when one node holds them all."""
    holders = [(name, ",".join(lan.holders(vip)) or "nobody") for name, vip in instances.values()]
    if len({h for _, h in holders}) == 1:
        return holders[0][1]
    return " ".join(f"{name}={holder}" for name, holder in holders)


def _changes(
    lan: Lan, vip: str, start: float, end: float
) -> tuple[frozenset[str], list[tuple[float, frozenset[str]]]]:
    """Who held ``vip`` at ``start``, then when its holders changed within (start, end]
    and to whom: the set after every event of one instant."""
    events = sorted((e for e in lan.vip_log if str(e[2]) == vip), key=lambda e: e[0])
    current: set[str] = set()
    for _, host, _, added in (e for e in events if e[0] <= start):
        (current.add if added else current.discard)(host)
    held = first = frozenset(current)
    changes: list[tuple[float, frozenset[str]]] = []
    window = [e for e in events if start < e[0] <= end]
    for index, (t, host, _, added) in enumerate(window):
        if added:
            current.add(host)
        else:
            current.discard(host)
        if index + 1 < len(window) and window[index + 1][0] == t:
            continue  # the rest of this instant first
        now = frozenset(current)
        if now != held:
            changes.append((t, now))
            held = now
    return first, changes


@dataclass(frozen=True)
class Flap:
    """A VIP whose holders kept changing to the end of a half drill."""

    takeovers: int
    holders: tuple[str, ...]
    period: float
    first: float


def _flap(
    held: frozenset[str], changes: Sequence[tuple[float, frozenset[str]]], end: float
) -> Flap | None:
    """Holders that went back to a node they had left, and kept changing to ``end``: a
    settled drill moves the VIPs once (a crash, a check) or splits them (a partition),
    it never brings them back while the fault lasts. A takeover is a node gaining the
    VIP (``held``: the holders before ``changes``; the old holder keeps it a moment
    longer, make-before-break). "To the end": the last takeover no more than two of its
    own periods before ``end``, so a flap that settles is not one."""
    takeovers: list[tuple[float, str]] = []
    before = held
    for t, now in changes:
        takeovers += [(t, node) for node in sorted(now - before)]
        before = now
    gained = [node for _, node in takeovers]
    if len(takeovers) < 3 or len(set(gained)) == len(gained):
        return None
    period = (takeovers[-1][0] - takeovers[0][0]) / (len(takeovers) - 1)
    if end - takeovers[-1][0] > 2 * period:
        return None
    names = sorted(set(gained) | held)
    return Flap(len(takeovers), tuple(names), period, takeovers[0][0])


@dataclass(frozen=True)
class Unsettled:
    """A half drill (or the election) whose holders never settled."""

    cell: str
    """The table's cell: ``flaps node1/node2`` (which instances, if not all)."""
    takeovers: int
    """The most takeovers of any one VIP: each moves it, so each is an outage for the
    connections the old holder served, even when no instant finds the VIP unheld."""
    detail: str


def _unsettled(
    lan: Lan, instances: Mapping[tuple[int, str], tuple[str, str]], start: float, end: float
) -> Unsettled | None:
    flapping = {
        name: flap
        for name, vip in instances.values()
        if (flap := _flap(*_changes(lan, vip, start, end), end)) is not None
    }
    if not flapping:
        return None
    worst = max(flapping.values(), key=lambda f: f.takeovers)
    names = "/".join(sorted({n for f in flapping.values() for n in f.holders}))
    which = "" if len(flapping) == len(instances) else f" ({','.join(flapping)})"
    first = min(f.first for f in flapping.values())
    detail = (
        f"{worst.takeovers} takeovers{which} from {first:.3f} s to {end:g} s, one every "
        f"{worst.period:.2f} s, holders alternate {names}"
    )
    return Unsettled(f"flaps{which} {names}", worst.takeovers, detail)


_WHY_FLAPS = (
    "  each takeover moves the VIPs, and the connections the old holder served are lost. "
    "A sync group whose members rank the nodes differently (a weight or tracker on some "
    "members only) does this: `vrrpd check-config` names the group; give its members the "
    "same weights and trackers."
)


def run(nodes: Sequence[tuple[str, Config]]) -> list[str]:
    """The drills for ``nodes`` (name, config): the notes, the timeline and the table."""
    lan = Lan()
    hold = hold_time(nodes)
    notes = []
    for index, (name, config) in enumerate(nodes):
        family6 = all(":" in str(i.virtual_addresses[0].address) for i in config.instances)
        address = _address(config, index, family6)
        interfaces = sorted({i.interface for i in config.instances})
        if len(interfaces) > 1:
            notes.append(f"{name}: instances on {', '.join(interfaces)}; simulated on one segment")
        lan.add_host(name, config, address, interface=interfaces[0])
        notes.append(f"{name}: address {address} (the simulation's; its own is not in the file)")
    instances = _instances(nodes)
    vips = sorted({str(v.address.ip) for _, c in nodes for i in c.instances
                   for v in i.virtual_addresses})  # fmt: skip
    if any(c.scripts for _, c in nodes):
        notes.append("checks are stand-ins that pass, and fail only when a drill says so")
    notes.append(f"each drill: {hold:g} s with the fault, {hold:g} s after it is undone "
                 "(the slowest check's fall or rise, then an election)")  # fmt: skip
    lan.start(*[n for n, _ in nodes])
    lan.run_until(hold)
    footnotes: list[str] = []
    election = _unsettled(lan, instances, 0.0, hold)
    if election is not None:
        footnotes.append(f"  the election: {election.detail}")
    elected = election.cell if election else _held(lan, instances)
    masters = {
        n: {key for key, (_, vip) in instances.items() if n in lan.holders(vip)} for n, _ in nodes
    }
    masters = {n: held for n, held in masters.items() if held}
    rows: list[tuple[str, str, str, str]] = []
    t = hold
    for drill in _drills(nodes, masters or {nodes[0][0]: set(instances)}):
        start = t
        drill.act(lan)
        lan.run_until(t + hold)
        during = _unsettled(lan, instances, start, t + hold)
        held_during = _held(lan, instances)
        if drill.undo is not None:
            drill.undo(lan)
        lan.run_until(t + 2 * hold)
        after = _unsettled(lan, instances, t + hold, t + 2 * hold)
        t += 2 * hold
        worst = max(sum(b - a for a, b in outages(lan, vip, start, t - 1e-9)) for vip in vips)
        outage = f"{worst:.3f} s"
        flaps = [u for u in (during, after) if u is not None]
        if flaps:
            outage += f", {sum(u.takeovers for u in flaps)} takeovers"
        if during is not None:
            footnotes.append(f"  {drill.title}: while it lasts, {during.detail}")
        if after is not None:
            footnotes.append(f"  {drill.title}: once it is undone, {after.detail}")
        rows.append((drill.title, during.cell if during else held_during,
                     after.cell if after else _held(lan, instances), outage))  # fmt: skip
    lines = [f"vrrpd simulate: {len(nodes)} nodes from their own files, on the simulated LAN "
             "(virtual time, exact)", *[f"  note: {n}" for n in notes], "", "timeline:"]  # fmt: skip
    width = max(8, *(len(n) for n, _ in nodes))
    lines += [f"  {e.time:8.3f}s  {e.host:{width}}  {e.text}" for e in lan.timeline]
    held = max(14, *(len(r[1]) for r in rows), *(len(r[2]) for r in rows))
    lines += ["", f"master after the election: {elected}; VIPs: {', '.join(vips)}",
              f"  {'drill':44} {'held during':{held}} {'then held by':{held}} worst VIP outage"]  # fmt: skip
    lines += [
        f"  {title:44} {during:{held}} {after:{held}} {outage}"
        for title, during, after, outage in rows
    ]
    if footnotes:
        lines += ["", "never settled (the holders kept changing to the end):", *footnotes,
                  _WHY_FLAPS]  # fmt: skip
    return lines
