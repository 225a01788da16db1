"""What ``vrrpd status`` shows: the JSON document (a contract, CONFIG.md) and its table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vrrpd.core.node import NodeStatistics


def status_document(
    stats: NodeStatistics,
    *,
    send_errors: int = 0,
    announced: Mapping[str, bool] | None = None,
    frr: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``{"instances": {NAME: {"state", "priority", "effective_priority", "master", ...}}}``.

    ``announced``: for ``announce: bgp`` instances, whether every VIP is on the
    announce device in the driver's view of the kernel (the route FRR announces is
    there); ``None`` where vrrpd does not know (``announce: arp``, or no view given).
    ``frr``: for ``announce: bgp`` instances, what FRR last said (``vrrpd.bgp.instance_status``)."""
    instances = {}
    for name, s in stats.instances.items():
        instances[name] = {
            "state": s.state.value,
            "priority": s.base_priority,
            "effective_priority": s.priority,
            "priority_reason": s.priority_reason,
            "master": str(s.master) if s.master else None,
            "master_priority": s.master_priority,
            "interface": s.interface,
            "family": f"IP{s.family}",
            "vrid": s.vrid,
            "version": s.version,
            "source": str(s.source) if s.source else None,
            "last_transition": s.last_reason,
            "faults": list(s.faults),
            "maintenance": s.maintenance,
            "draining": s.draining,
            "trackers": [{"name": n, "status": st, "delta": d} for n, st, d in s.contributions],
            "master_down_interval": round(s.master_down_interval, 6),
            "skew_time": round(s.skew_time, 6),
            "master_adver_interval": s.master_adver_interval,
            "counters": dict(s.counters),
            "announce": s.announce,
            "announce_device": s.announce_device,
            "election": s.election,
            "announced": (announced or {}).get(name) if s.announce == "bgp" else None,
            "frr": (frr or {}).get(name) if s.announce == "bgp" else None,
        }
    checks = {
        name: {
            "status": c.status.value,
            "runs": c.runs,
            "consecutive": c.consecutive,
            "last_exit": c.last_exit,
            "last_duration": c.last_duration,
            "running": c.running,
        }
        for name, c in stats.checks.items()
    }
    router = {
        "checksum_errors": stats.checksum_errors,
        "version_errors": stats.version_errors,
        "vrid_errors": stats.vrid_errors,
        "invalid_packets": stats.invalid_packets,
        "packets_received": stats.packets_received,
        "send_errors": send_errors,
    }
    return {"instances": instances, "checks": checks, "router": router}


def status_table(document: dict[str, Any]) -> str:
    """A table for people; every figure comes from the same JSON document."""
    header = (
        f"{'INSTANCE':12} {'STATE':7} {'PRIO':>4} {'EFF':>4} {'MASTER':24} {'IFACE':8} VRID  WHY"
    )
    lines = [header]
    for name, i in document.get("instances", {}).items():
        lines.append(
            f"{name:12} {i['state']:7} {i['priority']:>4} {i['effective_priority']:>4} "
            f"{i['master'] or '-':24} {i['interface']:8} {i['vrid']:>4}  {i['last_transition']}"
        )
        if i["effective_priority"] != i["priority"]:
            lines.append(f"{'':12} priority: {i['priority_reason']}")
        for fault in i["faults"]:
            lines.append(f"{'':12} fault: {fault}")
        if i.get("announce") == "bgp":
            held = {True: "VIPs on the device (route announced)",
                    False: "VIPs not on the device (no route)", None: "unknown"}[i.get("announced")]  # fmt: skip
            anycast = ", election: none (anycast)" if i.get("election") == "none" else ""
            lines.append(f"{'':12} announce: bgp on {i['announce_device']}{anycast}: {held}")
            lines.extend(f"{'':12} {line}" for line in _frr_lines(i.get("frr")))
    for name, c in document.get("checks", {}).items():
        lines.append(
            f"check {name}: {c['status']} ({c['consecutive']} in a row, last exit {c['last_exit']})"
        )
    return "\n".join(lines)


def _frr_lines(frr: dict[str, Any] | None) -> list[str]:
    """What FRR said of an instance's VIPs, one line per BGP neighbour."""
    if frr is None:
        return []
    if frr["age"] is None or (frr["error"] and not frr["neighbors"]):
        return [f"frr: unknown ({frr['error']})"]
    said = f"frr ({frr['age']:g} s ago)"
    lines = [
        f"{said}: neighbor {name} {n['session']}, "
        f"{'BFD ' + n['bfd'] if n['bfd'] else 'no BFD session'}, "
        f"VIPs {'advertised' if n['advertised'] else 'not advertised'}"
        for name, n in frr["neighbors"].items()
    ] or [f"{said}: no BGP neighbor"]
    if frr["error"]:
        lines.append(f"frr: {frr['error']}")
    return lines
