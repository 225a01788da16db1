"""Prometheus text exposition (format 0.0.4) of the node's statistics.

Pure: ``render`` turns the frozen statistics record into text; the HTTP serving is
in ``vrrpd.adapters.http``. Names follow Prometheus conventions, with the RFC 6527
counter names underneath (``vrrpd_rcvd_advertisements_total`` and friends).
"""

from __future__ import annotations

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
