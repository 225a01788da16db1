"""``vrrpd simulate a.yaml b.yaml``: the operator's own nodes through the standard drills.

Their real configurations, on the simulated LAN (exact protocol time, no root, no
network): each node crashes and returns, each check of the master fails and
recovers, the master stops gracefully, and a partition splits every node from the
others and heals. A timeline names each node (its ``router_id``, or its file's name when
router_ids clash), and a table gives who holds each instance during and after each
drill and the worst outage of any VIP. What the simulation cannot know (each node's
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
    elected = _held(lan, instances)
    masters = {
        n: {key for key, (_, vip) in instances.items() if n in lan.holders(vip)} for n, _ in nodes
    }
    masters = {n: held for n, held in masters.items() if held}
    rows: list[tuple[str, str, str, float]] = []
    t = hold
    for drill in _drills(nodes, masters or {nodes[0][0]: set(instances)}):
        start = t
        drill.act(lan)
        lan.run_until(t + hold)
        during = _held(lan, instances)
        if drill.undo is not None:
            drill.undo(lan)
        lan.run_until(t + 2 * hold)
        t += 2 * hold
        worst = max(sum(b - a for a, b in outages(lan, vip, start, t - 1e-9)) for vip in vips)
        rows.append((drill.title, during, _held(lan, instances), worst))
    lines = [f"vrrpd simulate: {len(nodes)} nodes from their own files, on the simulated LAN "
             "(virtual time, exact)", *[f"  note: {n}" for n in notes], "", "timeline:"]  # fmt: skip
    width = max(8, *(len(n) for n, _ in nodes))
    lines += [f"  {e.time:8.3f}s  {e.host:{width}}  {e.text}" for e in lan.timeline]
    held = max(14, *(len(r[1]) for r in rows), *(len(r[2]) for r in rows))
    lines += ["", f"master after the election: {elected}; VIPs: {', '.join(vips)}",
              f"  {'drill':44} {'held during':{held}} {'then held by':{held}} worst VIP outage"]  # fmt: skip
    lines += [
        f"  {title:44} {during:{held}} {after:{held}} {outage:.3f} s"
        for title, during, after, outage in rows
    ]
    return lines
