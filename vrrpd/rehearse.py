"""``vrrpd simulate a.yaml b.yaml``: the operator's own nodes through the standard drills.

Their real configurations, on the simulated LAN (exact protocol time, no root, no
network): each node crashes and returns, each check of the master fails and
recovers, the master stops gracefully, and a partition splits every node from the
others and heals. A timeline names each node by its ``router_id``, and a table gives
the outage of every VIP in each drill. What the simulation cannot know (each node's
own address, unless ``unicast_source`` names it; what the checks really test) is
said plainly and replaced by a stand-in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def _drills(nodes: Sequence[tuple[str, Config]], master: str) -> list[Drill]:
    drills = []
    for name, _ in nodes:
        drills.append(
            Drill(
                f"{name} crashes (no priority 0)",
                methodcaller("kill", name),
                methodcaller("start", name),
            )
        )
    config = dict(nodes)[master]
    for check in sorted({t.name for i in config.instances for t in i.track_scripts}):
        drills.append(
            Drill(
                f"check {check} fails on {master}",
                methodcaller("set_check", master, check, False),
                methodcaller("set_check", master, check, True),
            )
        )
    drills.append(
        Drill(
            f"{master} stops gracefully (priority 0)",
            lambda lan: lan.stop(master),
            lambda lan: lan.start(master),
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


def run(nodes: Sequence[tuple[str, Config]]) -> list[str]:
    """The drills for ``nodes`` (name, config): the notes, the timeline and the table."""
    lan = Lan()
    interval = max(i.advert_interval for _, c in nodes for i in c.instances)
    hold = max(10.0, 8 * interval)
    notes = []
    for index, (name, config) in enumerate(nodes):
        family6 = all(":" in str(i.virtual_addresses[0].address) for i in config.instances)
        address = _address(config, index, family6)
        interfaces = sorted({i.interface for i in config.instances})
        if len(interfaces) > 1:
            notes.append(f"{name}: instances on {', '.join(interfaces)}; simulated on one segment")
        lan.add_host(name, config, address, interface=interfaces[0])
        notes.append(f"{name}: address {address} (the simulation's; its own is not in the file)")
    vips = sorted({str(i.virtual_addresses[0].address.ip) for _, c in nodes for i in c.instances})
    if any(c.scripts for _, c in nodes):
        notes.append("checks are stand-ins that pass, and fail only when a drill says so")
    lan.start(*[n for n, _ in nodes])
    lan.run_until(hold)
    masters = lan.holders(vips[0])
    master = masters[0] if masters else nodes[0][0]
    rows: list[tuple[str, str, float]] = []
    t = hold
    for drill in _drills(nodes, master):
        start = t
        drill.act(lan)
        lan.run_until(t + hold)
        if drill.undo is not None:
            drill.undo(lan)
        lan.run_until(t + 2 * hold)
        t += 2 * hold
        worst = max(sum(b - a for a, b in outages(lan, vip, start, t - 1e-9)) for vip in vips)
        holder = ",".join(lan.holders(vips[0])) or "nobody"
        rows.append((drill.title, holder, worst))
    lines = [f"vrrpd simulate: {len(nodes)} nodes from their own files, on the simulated LAN "
             "(virtual time, exact)", *[f"  note: {n}" for n in notes], "", "timeline:"]  # fmt: skip
    lines += [f"  {e.time:8.3f}s  {e.host:8}  {e.text}" for e in lan.timeline]
    lines += ["", f"master after the election: {master}; VIPs: {', '.join(vips)}",
              f"  {'drill':44} {'then held by':14} worst VIP outage"]  # fmt: skip
    lines += [f"  {title:44} {holder:14} {outage:.3f} s" for title, holder, outage in rows]
    return lines
