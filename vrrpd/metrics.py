"""Prometheus text exposition (format 0.0.4) of the node's statistics.

Pure: ``render`` turns the frozen statistics record into text; the HTTP serving is
in ``vrrpd.adapters.http``. Names follow Prometheus conventions, with the RFC 6527
counter names underneath (``vrrpd_rcvd_advertisements_total`` and friends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vrrpd.core.node import NodeStatistics
from vrrpd.core.state import State
from vrrpd.core.tracking import TrackerStatus

_STATE_VALUE = {State.INIT: 0, State.BACKUP: 1, State.MASTER: 2, State.FAULT: 3}
_COUNTERS = (
    ("master_transitions", "Times the instance became master."),
    ("rcvd_advertisements", "Advertisements received and accepted."),
    ("sent_advertisements", "Advertisements sent."),
    ("rcvd_pri_zero_packets", "Priority-0 advertisements received."),
    ("sent_pri_zero_packets", "Priority-0 advertisements sent."),
    ("adv_interval_errors", "Advertisements with another interval."),
    ("ip_ttl_errors", "Advertisements with a TTL / hop limit other than 255."),
    ("checksum_errors", "Advertisements with a bad or refused checksum."),
    ("version_errors", "Advertisements of the other VRRP version."),
    ("packet_length_errors", "Truncated or malformed advertisements."),
    ("rcvd_invalid_type_packets", "Packets of an unknown VRRP type."),
    ("address_list_errors", "Advertisements whose address list differs from ours."),
    ("auth_failures", "VRRPv2 advertisements with a wrong password."),
    ("auth_type_mismatch", "VRRPv2 advertisements with another authentication type."),
    ("unicast_peer_errors", "Advertisements from a source that is not a unicast peer."),
    ("own_address_packets", "Advertisements from one of our own addresses (a shared address)."),
    ("packets_dropped", "Packets refused for this instance, whatever the reason (each once)."),
)


def _escape(value: str) -> str:
    """Label values escape backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(
    stats: NodeStatistics,
    *,
    send_errors: int = 0,
    removal_retries: int = 0,
    socket_drops: dict[str, int] | None = None,
    announced: dict[str, bool] | None = None,
    frr: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP vrrpd_{name} {help_text}")
        out.append(f"# TYPE vrrpd_{name} {kind}")
        out.extend(f"vrrpd_{name}{labels} {value:g}" for labels, value in samples)

    def labels(name: str) -> str:
        s = stats.instances[name]
        return f'{{vrrp_instance="{_escape(name)}",interface="{_escape(s.interface)}",vrid="{s.vrid}",family="ip{s.family}"}}'

    names = sorted(stats.instances)
    metric("state", "gauge", "Instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
           [(labels(n), _STATE_VALUE[stats.instances[n].state]) for n in names])  # fmt: skip
    metric("is_master", "gauge", "1 while the instance is master.",
           [(labels(n), float(stats.instances[n].state is State.MASTER)) for n in names])  # fmt: skip
    metric(
        "priority",
        "gauge",
        "Configured priority.",
        [(labels(n), stats.instances[n].base_priority) for n in names],
    )
    metric("maintenance", "gauge", "1 while the instance is in maintenance (vrrpd maintenance on).",
           [(labels(n), int(stats.instances[n].maintenance)) for n in names])  # fmt: skip
    metric("effective_priority", "gauge", "Priority after trackers.",
           [(labels(n), stats.instances[n].priority) for n in names])  # fmt: skip
    metric("announce_info", "gauge", "Always 1: how the instance announces its VIPs (arp or bgp, "
           "the device for bgp) and its election (vrrp or none: anycast).",
           [(labels(n)[:-1] + f',announce="{stats.instances[n].announce}",device="'
             f'{_escape(stats.instances[n].announce_device or "")}",election="{stats.instances[n].election}"}}', 1)
            for n in names])  # fmt: skip
    bgp = [n for n in names if stats.instances[n].announce == "bgp" and n in (announced or {})]
    metric("vip_announced", "gauge", "announce: bgp: 1 while every VIP is on the announce "
           "device (the route FRR announces is there), 0 otherwise.",
           [(labels(n), float((announced or {})[n])) for n in bgp])  # fmt: skip
    _frr_metrics(metric, labels, names, frr or {})
    for counter, help_text in _COUNTERS:
        samples = [(labels(n), float(stats.instances[n].counters.get(counter, 0))) for n in names]  # type: ignore[arg-type]
        metric(f"{counter}_total", "counter", help_text, samples)
    checks = sorted(stats.checks)
    metric("check_up", "gauge", "1 while the check is UP, 0 while DOWN, -1 before it decided.",
           [(f'{{check="{_escape(c)}"}}', {TrackerStatus.UP: 1, TrackerStatus.DOWN: 0}.get(stats.checks[c].status, -1))
            for c in checks])  # fmt: skip
    metric(
        "check_runs_total",
        "counter",
        "Check runs finished.",
        [(f'{{check="{_escape(c)}"}}', stats.checks[c].runs) for c in checks],
    )
    metric(
        "router_checksum_errors_total",
        "counter",
        "Packets with a bad checksum (any VRID).",
        [("", stats.checksum_errors)],
    )
    metric(
        "router_version_errors_total",
        "counter",
        "Packets of an unknown or other version.",
        [("", stats.version_errors)],
    )
    metric(
        "router_vrid_errors_total",
        "counter",
        "Packets for a VRID we do not run.",
        [("", stats.vrid_errors)],
    )
    metric(
        "router_invalid_packets_total",
        "counter",
        "Other refused packets no instance can be held to (truncated, bad type, ...).",
        [("", stats.invalid_packets)],
    )
    metric(
        "packets_received_total",
        "counter",
        "VRRP packets received.",
        [("", stats.packets_received)],
    )
    metric(
        "send_errors_total",
        "counter",
        "Advertisements that could not be sent.",
        [("", send_errors)],
    )
    metric(
        "vip_removal_retries_total",
        "counter",
        "VIP removals retried after a failure or a timeout.",
        [("", removal_retries)],
    )
    sockets = sorted((socket_drops or {}).items())
    metric(
        "socket_drops_total",
        "counter",
        "Packets the kernel dropped at a VRRP socket because its queue was full. Packets "
        "the socket filter refuses are counted nowhere (the kernel keeps no count).",
        [(f'{{interface="{_escape(k.split()[0])}",family="ip{k.split()[1][3:]}"}}', v)
         for k, v in sockets],
    )  # fmt: skip
    return "\n".join(out) + "\n"


def _frr_metrics(
    metric: Callable[[str, str, str, list[tuple[str, float]]], None],
    labels: Callable[[str], str],
    names: list[str],
    frr: Mapping[str, Mapping[str, Any]],
) -> None:
    """What FRR last said (``vrrpd.bgp.instance_status``), for ``announce: bgp`` instances."""
    asked = [n for n in names if n in frr and frr[n]["age"] is not None]

    def per_neighbor(key: str, value: Callable[[Any], float | None]) -> list[tuple[str, float]]:
        out = []
        for n in asked:
            for neighbor, entry in frr[n]["neighbors"].items():
                got = value(entry[key])
                if got is not None:
                    out.append((f'{labels(n)[:-1]},neighbor="{_escape(neighbor)}"}}', got))
        return out

    metric("frr_up", "gauge", "announce: bgp: 1 when FRR answered the last question (vtysh), 0 "
           "when it did not (not installed, not running, not reachable: see the status).",
           [(labels(n), float(not frr[n]["error"])) for n in asked])  # fmt: skip
    metric("frr_answer_age_seconds", "gauge", "Seconds since FRR's last answer (asked at most "
           "every 5 s, on a scrape or a status).",
           [(labels(n), float(frr[n]["age"])) for n in asked])  # fmt: skip
    metric("bgp_vip_advertised", "gauge", "1 while bgpd advertises this node's own route for "
           "every VIP of the instance to the neighbor, 0 otherwise.",
           per_neighbor("advertised", float))  # fmt: skip
    metric("bgp_vip_advertised_neighbors", "gauge", "Neighbors bgpd advertises this node's "
           "own route for every VIP of the instance to (0: to no one, also when no neighbor "
           "of the VIPs' family exists); absent when FRR could not be asked.",
           [(labels(n), float(sum(bool(e["advertised"]) for e in frr[n]["neighbors"].values())))
            for n in asked if not frr[n]["error"] or frr[n]["neighbors"]])  # fmt: skip
    metric("bgp_session_established", "gauge", "1 while the BGP session with the neighbor is "
           "Established.",
           per_neighbor("session", lambda s: float(s == "Established")))  # fmt: skip
    metric("bfd_session_up", "gauge", "1 while the BFD session with the neighbor is up, 0 "
           "otherwise; absent without a BFD session.",
           per_neighbor("bfd", lambda s: None if s is None else float(s == "up")))  # fmt: skip
