"""Hostile packets on the wire: malformed and mutated adverts at a running cluster.

A client in the lab sends frames of known classes (every header field out of range,
wrong lengths and counts, both checksum forms, TTL != 255, unknown VRIDs, v2 to v3
instances and back, wrong authentication, a non-peer at a higher priority) at a
steady rate, then as a flood. Each class lands in exactly one counter, so after the
run each node's counters must have grown by exactly what was sent to it, class by
class; no state may change, the master's adverts may not be delayed, and the log
stays rate-limited. The frames are built with scapy (an encoder independent of
ours) and then broken; they go out of a raw IP socket with our own headers.

``python -m vrrpd.lab.hostile --count 100000`` runs the whole drill in a lab of its
own and prints the report; ``make soak`` does, and the tests run a short profile.
The injector half (``inject``) runs inside the client's namespace.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vrrpd.core.packet import internet_checksum
from vrrpd.core.receive import COUNTER_OF_REASON

MASTER, BACKUP, CLIENT = "192.0.2.11", "192.0.2.12", "192.0.2.50"
GROUP = "224.0.0.18"
PASSWORD = b"hunter2!"

CLASSES: dict[str, tuple[str, str, bool]] = {
    # class: (instance or "router", counter, sent to the master only); the classes in
    # FILTERED never reach the agent (the socket filter drops them) and count nowhere
    "checksum": ("web", "checksum_errors", False),
    "checksum_form": ("web", "checksum_errors", False),
    "checksum_unknown_vrid": ("router", "checksum_errors", False),
    "ttl": ("web", "ip_ttl_errors", False),
    "unknown_vrid": ("router", "vrid_errors", False),
    "v2_to_v3": ("web", "version_errors", False),
    "v3_to_v2": ("legacy", "version_errors", False),
    "bad_version": ("web", "version_errors", False),
    "bad_type": ("web", "rcvd_invalid_type_packets", False),
    "truncated": ("web", "packet_length_errors", False),
    "zero_interval": ("web", "packet_length_errors", False),
    "zero_count": ("web", "address_list_errors", False),
    "auth_failure": ("legacy", "auth_failures", False),
    "auth_type_mismatch": ("legacy", "auth_type_mismatch", False),
    "bad_auth_type": ("legacy", "invalid_auth_type", False),
    "v2_interval": ("legacy", "adv_interval_errors", False),
    "v2_addresses": ("legacy", "address_list_errors", False),
    "not_a_peer": ("uni", "unicast_peer_errors", True),
}
"""Every class, where it must be counted, and whether only the master receives it."""
FILTERED = frozenset(
    {"checksum_unknown_vrid", "ttl", "unknown_vrid", "v2_to_v3", "v3_to_v2", "bad_version",
     "bad_type", "not_a_peer"}
)  # fmt: skip
"""Classes the kernel's socket filter drops (other VRIDs, TTL, version, type, non-peers)."""
_ERROR_COUNTERS = {
    *COUNTER_OF_REASON.values(),
    "packets_dropped",
    "checksum_errors",
    "version_errors",
    "vrid_errors",
    "invalid_packets",
}


def node_config(name: str, priority: int, workdir: str) -> str:
    """The cluster under attack: v3 multicast, v2 with PASS, v3 unicast."""
    peer = BACKUP if name == "n1" else MASTER
    return f"""global:
  router_id: {name}
  control_socket: {workdir}/{name}.sock
  state_file: {workdir}/{name}.state.json
instances:
  web: {{interface: eth0, vrid: 51, priority: {priority}, advert_interval: 0.1,
        virtual_addresses: [192.0.2.100/24]}}
  legacy: {{interface: eth0, vrid: 52, priority: {priority}, version: 2, advert_interval: 1,
           authentication: {{type: pass, password: "{PASSWORD.decode()}"}},
           virtual_addresses: [192.0.2.101/24]}}
  uni: {{interface: eth0, vrid: 53, priority: {priority}, advert_interval: 0.1,
        unicast_peers: [{peer}], virtual_addresses: [192.0.2.102/24]}}
"""


# ---------------------------------------------------------------- frames


def _ip(payload: bytes, *, src: str, dst: str, ttl: int = 255) -> bytes:
    """An IPv4 header around ``payload`` (protocol 112)."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0xC0,
        20 + len(payload),
        random.getrandbits(16),
        0,
        ttl,
        112,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
    return header + payload


def _v3(vrid: int, priority: int, addresses: list[str], *, adv: int = 10, **kw: Any) -> bytes:
    """A VRRPv3 message with scapy's (pseudo-header) checksum, for ``src`` -> ``dst``."""
    from scapy.layers.inet import IP  # noqa: PLC0415 - scapy only for this drill
    from scapy.layers.vrrp import VRRPv3  # noqa: PLC0415

    src, dst = kw.pop("src", CLIENT), kw.pop("dst", GROUP)
    layer = VRRPv3(
        vrid=vrid, priority=priority, ipcount=len(addresses), addrlist=addresses, adv=adv, **kw
    )
    return bytes(IP(src=src, dst=dst) / layer)[20:]


def _v2(
    vrid: int,
    priority: int,
    addresses: list[str],
    *,
    auth: int = 1,
    password: bytes = PASSWORD,
    adv: int = 1,
) -> bytes:
    from scapy.layers.vrrp import VRRP  # noqa: PLC0415

    auth1, auth2 = struct.unpack("!II", password.ljust(8, b"\0")[:8])
    layer = VRRP(
        vrid=vrid, priority=priority, ipcount=len(addresses), addrlist=addresses,
        authtype=auth, adv=adv, auth1=auth1, auth2=auth2,
    )  # fmt: skip
    return bytes(layer)


def _fix(message: bytes, *, pseudo: tuple[str, str] | None = None) -> bytes:
    """Recompute the checksum of a message we changed (pseudo-header form when given)."""
    zeroed = message[:6] + b"\0\0" + message[8:]
    data = zeroed
    if pseudo is not None:
        src, dst = pseudo
        data = (
            socket.inet_aton(src)
            + socket.inet_aton(dst)
            + struct.pack("!BBH", 0, 112, len(zeroed))
            + zeroed
        )
    return zeroed[:6] + struct.pack("!H", internet_checksum(data)) + zeroed[8:]


def frame(kind: str, rng: random.Random) -> tuple[bytes, str]:
    """One frame of ``kind`` (the whole IP packet) and its destination."""
    prio = rng.randrange(1, 255)
    vip = ["192.0.2.100"]
    dst = GROUP
    ttl = 255
    pseudo = (CLIENT, GROUP)
    if kind == "checksum":
        message = bytearray(_v3(51, prio, vip))
        message[6] ^= 1 + rng.randrange(255)
    elif kind == "checksum_form":
        message = bytearray(_fix(_v3(51, prio, vip)))  # RFC 9568 message-only form
    elif kind == "checksum_unknown_vrid":
        message = bytearray(_v3(rng.randrange(100, 256), prio, vip))
        message[7] ^= 1 + rng.randrange(255)
    elif kind == "ttl":
        # 1..254: Linux never sends a multicast packet with TTL 0 (ip_mc_output drops it)
        message, ttl = bytearray(_v3(51, prio, vip)), rng.randrange(1, 255)
    elif kind == "unknown_vrid":
        message = bytearray(_v3(rng.randrange(100, 256), prio, vip))
    elif kind == "v2_to_v3":
        message = bytearray(_v2(51, prio, vip, auth=0))
    elif kind == "v3_to_v2":
        message = bytearray(_v3(52, prio, ["192.0.2.101"], adv=100))
    elif kind == "bad_version":
        message = bytearray(_v3(51, prio, vip))
        message[0] = (rng.choice([0, 1, 4, 5, 9, 15]) << 4) | 1
        message = bytearray(_fix(bytes(message), pseudo=pseudo))
    elif kind == "bad_type":
        message = bytearray(_v3(51, prio, vip))
        message[0] = 0x30 | rng.choice([0, 2, 3, 7, 15])
        message = bytearray(_fix(bytes(message), pseudo=pseudo))
    elif kind == "truncated":
        message = bytearray(_v3(51, prio, vip))
        message[3] = rng.randrange(2, 256)  # claims more addresses than it carries
    elif kind == "zero_interval":
        message = bytearray(_fix(_v3(51, prio, vip, adv=0), pseudo=pseudo))
    elif kind == "zero_count":
        message = bytearray(_v3(51, prio, []))
    elif kind == "auth_failure":
        wrong = bytes(rng.randrange(33, 127) for _ in range(8))
        message = bytearray(
            _v2(52, prio, ["192.0.2.101"], password=wrong if wrong != PASSWORD else b"x")
        )
    elif kind == "auth_type_mismatch":
        message = bytearray(_v2(52, prio, ["192.0.2.101"], auth=0, password=b""))
    elif kind == "bad_auth_type":
        message = bytearray(_v2(52, prio, ["192.0.2.101"], auth=rng.randrange(2, 256)))
    elif kind == "v2_interval":
        message = bytearray(_v2(52, prio, ["192.0.2.101"], adv=rng.randrange(2, 256)))
    elif kind == "v2_addresses":
        message = bytearray(_v2(52, prio, [f"198.51.100.{rng.randrange(1, 255)}"]))
    elif kind == "not_a_peer":
        dst = MASTER
        message = bytearray(_v3(53, 254, ["192.0.2.102"], dst=dst))
    else:
        raise ValueError(f"unknown class {kind}")
    return _ip(bytes(message), src=CLIENT, dst=dst, ttl=ttl), dst


def pool(per_class: int, seed: int = 5798) -> dict[str, list[tuple[bytes, str]]]:
    """``per_class`` mutated frames of every class (built once, sent round-robin)."""
    rng = random.Random(seed)
    return {kind: [frame(kind, rng) for _ in range(per_class)] for kind in CLASSES}


# ---------------------------------------------------------------- the injector (in the client)


def inject(count: int, rate: float, flood: int, flood_rate: float) -> dict[str, Any]:
    """Send ``count`` frames at ``rate``/s, then ``flood`` at ``flood_rate``/s, round-robin over
    the classes; meanwhile record the master's adverts (VRID 51) as they arrive."""
    frames = pool(64)
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    out.setsockopt(socket.SOL_SOCKET, 25, b"eth0")  # SO_BINDTODEVICE
    seen: list[float] = []
    stop = threading.Event()
    listener = threading.Thread(target=_listen, args=(seen, stop), daemon=True)
    listener.start()
    time.sleep(0.5)
    sent: Counter[str] = Counter()
    started = time.monotonic()
    _send(out, frames, sent, count=count, rate=rate)
    flood_started = time.monotonic()
    _send(out, frames, sent, count=flood, rate=flood_rate)
    ended = time.monotonic()
    time.sleep(0.5)
    stop.set()
    listener.join(2)
    during = [t for t in seen if started - 0.2 <= t <= ended + 0.2]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    return {
        "sent": dict(sent),
        "seconds": round(ended - started, 3),
        "rate": round(count / max(flood_started - started, 1e-9), 1),
        "flood_rate": round(flood / max(ended - flood_started, 1e-9), 1) if flood else 0,
        "master_adverts": len(during),
        "max_advert_gap": round(max(gaps), 4) if gaps else None,
    }


def _send(
    out: socket.socket,
    frames: dict[str, list[tuple[bytes, str]]],
    sent: Counter[str],
    *,
    count: int,
    rate: float,
) -> None:
    kinds = list(frames)
    start = time.monotonic()
    for i in range(count):
        kind = kinds[i % len(kinds)]
        data, dst = frames[kind][(i // len(kinds)) % len(frames[kind])]
        out.sendto(data, (dst, 0))
        sent[kind] += 1
        ahead = start + (i + 1) / rate - time.monotonic()
        if ahead > 0.001:
            time.sleep(ahead)


def _listen(seen: list[float], stop: threading.Event) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
    mreq = struct.pack("4s4si", socket.inet_aton(GROUP), b"\0" * 4, socket.if_nametoindex("eth0"))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data = sock.recv(2048)
        except TimeoutError:
            continue
        if data[12:16] == socket.inet_aton(MASTER) and len(data) > 21 and data[21] == 51:
            seen.append(time.monotonic())


# ---------------------------------------------------------------- the drill (in the lab)


@dataclass
class Report:
    sent: dict[str, int]
    seconds: float
    rate: float
    flood_rate: float
    max_advert_gap: float | None
    cpu: dict[str, float]
    """Each agent's CPU over the injection, as a fraction of one core."""
    counted: dict[str, dict[str, int]] = field(default_factory=dict)
    """Node -> 'instance.counter' -> how much it grew."""
    log_lines: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        total = sum(self.sent.values())
        out = [
            f"hostile frames: {total} in {self.seconds:.1f} s ({len(self.sent)} classes; "
            f"{self.rate:.0f}/s, then a flood at {self.flood_rate:.0f}/s)",
            f"master's longest advert gap during it: {self.max_advert_gap} s (adverts every 0.1 s)",
            "agent CPU during it: " + ", ".join(f"{n} {c:.1%}" for n, c in self.cpu.items()),
            "log lines during it: " + ", ".join(f"{n} {c}" for n, c in self.log_lines.items()),
            f"violations: {len(self.violations)}",
        ]
        return out + [f"  - {v}" for v in self.violations]


def expected(sent: dict[str, int], node: str) -> dict[str, int]:
    """'instance.counter' -> growth that ``sent`` must cause on ``node``."""
    out: Counter[str] = Counter()
    for kind, n in sent.items():
        instance, counter, master_only = CLASSES[kind]
        if (master_only and node != "n1") or kind in FILTERED:
            continue
        out[f"{instance}.{counter}"] += n
        if instance != "router":
            out[f"{instance}.packets_dropped"] += n
    return dict(out)


def counters(status: dict[str, Any]) -> dict[str, int]:
    out = {
        f"router.{k}": int(status["router"][k])
        for k in (
            "checksum_errors",
            "version_errors",
            "vrid_errors",
            "invalid_packets",
            "packets_received",
        )
    }
    for name, inst in status["instances"].items():
        for key, value in inst["counters"].items():
            if isinstance(value, int):
                out[f"{name}.{key}"] = value
    return out


def drill(count: int, flood: int, *, rate: float = 2000, flood_rate: float = 5000) -> Report:
    from vrrpd.lab import Lab, LabError, cpu_seconds, wait_for  # noqa: PLC0415

    if importlib.util.find_spec("scapy") is None:
        # scapy is an extra: the package's venv does not carry it.
        raise LabError("the hostile drill builds its frames with scapy: pip install 'vrrpd[lab]'")
    from vrrpd.lab.peers import (  # noqa: PLC0415
        Peer,
        start_vrrpd,
        vrrpd_binary,
    )

    with Lab() as lab:
        for name, address in (("n1", MASTER), ("n2", BACKUP), ("cl", CLIENT)):
            lab.add_node(name, address, f"2001:db8::{address.rsplit('.', 1)[1]}")
        agents = {
            n: start_vrrpd(lab, Peer(n, p), text=node_config(n, p, str(lab.workdir)))
            for n, p in (("n1", 150), ("n2", 100))
        }

        def status(node: str) -> dict[str, Any]:
            sock = str(lab.workdir / f"{node}.sock")
            done = lab.exec(node, vrrpd_binary(), "status", "--json", "--socket", sock, check=False)
            return json.loads(done.stdout) if done.returncode == 0 else {}

        def settled() -> bool:
            states = [status(n).get("instances", {}) for n in agents]
            return all(
                s.get(i, {}).get("state") == want
                for s, want in zip(states, ("MASTER", "BACKUP"), strict=True)
                for i in ("web", "legacy", "uni")
            )

        wait_for(settled, timeout=15, what="n1 master and n2 backup of every instance")
        time.sleep(1.0)
        before = {n: counters(status(n)) for n in agents}
        logs = {n: len(a.output().splitlines()) for n, a in agents.items()}
        transitions = {n: a.output().count(" -> ") for n, a in agents.items()}
        cpu0 = {n: cpu_seconds(a) for n, a in agents.items()}
        done = lab.exec(
            "cl", sys.executable, "-m", "vrrpd.lab.hostile", "--inject",
            "--count", str(count), "--rate", str(rate), "--flood", str(flood), "--flood-rate", str(flood_rate),
            timeout=count / rate + flood / flood_rate + 120,
        )  # fmt: skip
        result = json.loads(done.stdout.strip().splitlines()[-1])
        cpu = {
            n: (cpu_seconds(a) - cpu0[n]) / max(result["seconds"], 1e-9) for n, a in agents.items()
        }
        time.sleep(0.5)
        after = {n: counters(status(n)) for n in agents}
        report = Report(
            result["sent"], result["seconds"], result["rate"], result["flood_rate"],
            result["max_advert_gap"], cpu,
        )  # fmt: skip
        for node, agent in agents.items():
            grown = {k: after[node][k] - before[node].get(k, 0) for k in after[node]}
            report.counted[node] = {k: v for k, v in grown.items() if v}
            report.log_lines[node] = len(agent.output().splitlines()) - logs[node]
            for key, want in expected(result["sent"], node).items():
                if grown.get(key, 0) != want:
                    report.violations.append(
                        f"{node}: {key} grew by {grown.get(key, 0)}, {want} sent"
                    )
            errors = {k for k, v in grown.items() if v and k.split(".", 1)[1] in _ERROR_COUNTERS}
            unexpected = errors - set(expected(result["sent"], node))
            for key in sorted(unexpected):
                report.violations.append(
                    f"{node}: {key} grew by {grown[key]}, nothing of that class sent"
                )
            if agent.output().count(" -> ") != transitions[node]:
                report.violations.append(f"{node}: a state changed during the injection")
            if not agent.alive():
                report.violations.append(f"{node}: the agent died")
            if "Traceback" in agent.output():
                report.violations.append(f"{node}: a traceback in the log")
        limit = 2 * len(CLASSES) * (result["seconds"] / 10 + 1)
        for node, lines in report.log_lines.items():
            if lines > limit:
                report.violations.append(
                    f"{node}: {lines} log lines (rate limit allows {limit:.0f})"
                )
        gap = result["max_advert_gap"]
        if gap is None or gap > 0.25:
            report.violations.append(f"the master's adverts stalled: longest gap {gap} s")
        return report


# ---------------------------------------------------------------- hostile load (issue 16)

V6_GROUP = "ff02::12"
SPOOFED_V6 = "2001:db8:ff"
"""Spoofed IPv6 sources are 2001:db8:ff::<n>: tens of thousands of distinct documentation
addresses (IPv4's three documentation /24s hold 762)."""


def load_config(name: str, priority: int, workdir: str) -> str:
    """A pair at 0.1 s adverts on both families, and a unicast instance."""
    peer = BACKUP if name == "n1" else MASTER
    return f"""global:
  router_id: {name}
  control_socket: {workdir}/{name}.sock
  state_file: {workdir}/{name}.state.json
instances:
  web: {{interface: eth0, vrid: 51, priority: {priority}, advert_interval: 0.1,
        virtual_addresses: [192.0.2.100/24]}}
  web6: {{interface: eth0, vrid: 61, priority: {priority}, advert_interval: 0.1,
         virtual_addresses: ["2001:db8::100/64"]}}
  uni: {{interface: eth0, vrid: 53, priority: {priority}, advert_interval: 0.1,
        unicast_peers: [{peer}], virtual_addresses: [192.0.2.102/24]}}
"""


def _ip6(payload: bytes, *, src: str, dst: str = V6_GROUP, hop: int = 255) -> bytes:
    return (
        struct.pack("!IHBB", 0x60000000, len(payload), 112, hop)
        + socket.inet_pton(socket.AF_INET6, src)
        + socket.inet_pton(socket.AF_INET6, dst)
        + payload
    )


def _v3_message(vrid: int, priority: int, addresses: list[bytes], *, adv: int = 10) -> bytes:
    head = struct.pack("!BBBBH", 0x31, vrid, priority, len(addresses), adv)
    return head + b"\0\0" + b"".join(addresses)


def _checksummed6(message: bytes, src: str, dst: str = V6_GROUP) -> bytes:
    pseudo = (
        socket.inet_pton(socket.AF_INET6, src)
        + socket.inet_pton(socket.AF_INET6, dst)
        + struct.pack("!I3xB", len(message), 112)
    )
    zeroed = message[:6] + b"\0\0" + message[8:]
    return zeroed[:6] + struct.pack("!H", internet_checksum(pseudo + zeroed)) + zeroed[8:]


def spray(kind: str, count: int, rate: float) -> dict[str, Any]:
    """``count`` IPv6 adverts to VRID 61, each from a new spoofed source: ``malformed``
    (a bad checksum) or ``valid`` (a lower priority, another interval and address list:
    each source is worth a notice and a checksum-form entry to a naive agent)."""
    out = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    out.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
    out.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    index = socket.if_nametoindex("eth0")
    start = time.monotonic()
    for i in range(count):
        src = f"{SPOOFED_V6}::{i // 65536 + 1:x}:{i % 65536:x}"
        vip = socket.inet_pton(socket.AF_INET6, f"2001:db8:1::{i % 65536:x}")
        message = _checksummed6(_v3_message(61, 50, [vip], adv=20), src)
        if kind == "malformed":
            message = message[:6] + bytes([message[6] ^ 0x5A]) + message[7:]
        out.sendto(_ip6(message, src=src), (V6_GROUP, 0, 0, index))
        ahead = start + (i + 1) / rate - time.monotonic()
        if ahead > 0.001:
            time.sleep(ahead)
    return {"sent": count, "seconds": round(time.monotonic() - start, 3)}


def flood_for(seconds: float, master_ll: str) -> dict[str, Any]:
    """As fast as one sender goes for ``seconds``: other VRIDs and broken adverts on both
    families. Meanwhile the master's adverts (v4 VRID 51, v6 VRID 61) are timed by the
    kernel (SO_TIMESTAMPNS: the sender hogging this process cannot skew them)."""
    rng = random.Random(16)
    v4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    v4.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
    v4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    v6.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    index = socket.if_nametoindex("eth0")
    vip4, vip6 = socket.inet_aton("192.0.2.100"), socket.inet_pton(socket.AF_INET6, "2001:db8::100")
    frames: list[tuple[socket.socket, bytes, Any]] = []
    for n in range(64):
        other4 = _fix(_v3_message(100 + n, 200, [vip4]), pseudo=(CLIENT, GROUP))
        broken4 = bytearray(_fix(_v3_message(51, 200, [vip4]), pseudo=(CLIENT, GROUP)))
        broken4[6] ^= 1 + n
        src6 = "2001:db8::50"
        other6 = _checksummed6(_v3_message(100 + n, 200, [vip6]), src6)
        broken6 = bytearray(_checksummed6(_v3_message(61, 200, [vip6]), src6))
        broken6[6] ^= 1 + n
        frames += [
            (v4, _ip(other4, src=CLIENT, dst=GROUP), (GROUP, 0)),
            (v4, _ip(bytes(broken4), src=CLIENT, dst=GROUP, ttl=rng.choice([7, 255])), (GROUP, 0)),
            (v6, _ip6(other6, src=src6), (V6_GROUP, 0, 0, index)),
            (v6, _ip6(bytes(broken6), src=src6), (V6_GROUP, 0, 0, index)),
        ]
    from ipaddress import ip_address  # noqa: PLC0415

    from vrrpd.adapters.rawsock import Accept, attach_filter, filter_program  # noqa: PLC0415
    from vrrpd.core.constants import Family  # noqa: PLC0415

    seen: dict[str, list[float]] = {"v4": [], "v6": []}
    stop = threading.Event()
    listeners = []
    for family, vrid, master in ((Family.V4, 51, MASTER), (Family.V6, 61, master_ll)):
        af = socket.AF_INET if family is Family.V4 else socket.AF_INET6
        sock = socket.socket(af, socket.SOCK_RAW, 112)
        sock.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
        if family is Family.V4:
            mreq = struct.pack("4s4si", socket.inet_aton(GROUP), b"\0" * 4, index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            mreq6 = socket.inet_pton(socket.AF_INET6, V6_GROUP) + struct.pack("@I", index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq6)
        # Only the master's adverts, so the flood cannot fill this socket either.
        attach_filter(sock, filter_program(family, [Accept(vrid, 3, 255, (ip_address(master),))]))
        sock.settimeout(0.2)
        key = "v4" if family is Family.V4 else "v6"
        thread = threading.Thread(target=_stamps, args=(sock, seen[key], stop), daemon=True)
        thread.start()
        listeners.append(thread)
    time.sleep(0.5)
    sent = 0
    started = time.monotonic()
    wall0 = time.time()
    deadline = started + seconds
    while time.monotonic() < deadline:
        for out, data, address in frames:
            try:
                out.sendto(data, address)
                sent += 1
            except OSError:  # a full transmit queue: the next one
                pass
    ended = time.monotonic()
    wall1 = time.time()
    time.sleep(0.5)
    stop.set()
    for thread in listeners:
        thread.join(2)
    gaps = {}
    for key, stamps in seen.items():
        during = sorted(t for t in stamps if wall0 - 0.2 <= t <= wall1 + 0.2)
        pairs = [b - a for a, b in itertools.pairwise(during)]
        gaps[key] = round(max(pairs), 4) if pairs else None
    return {
        "sent": sent,
        "seconds": round(ended - started, 3),
        "frames_per_second": round(sent / max(ended - started, 1e-9)),
        "max_advert_gap": gaps,
    }


def _stamps(sock: socket.socket, stamps: list[float], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            _data, ancillary, _flags, _address = sock.recvmsg(2048, 64)
        except TimeoutError:
            continue
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == 35:
                seconds, nanoseconds = struct.unpack("@qq", value[:16])
                stamps.append(seconds + nanoseconds / 1e9)


def spoof_ttl(count: int) -> dict[str, Any]:
    """The backup's address, TTL 7, priority 255, to the unicast master (VRID 53)."""
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    out.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
    message = _fix(_v3_message(53, 255, [socket.inet_aton("192.0.2.102")]), pseudo=(BACKUP, MASTER))
    for _ in range(count):
        out.sendto(_ip(message, src=BACKUP, dst=MASTER, ttl=7), (MASTER, 0))
        time.sleep(0.01)
    return {"sent": count}


def filter_check() -> dict[str, list[bool]]:
    """Which of a few probes pass a socket with our filter, in a real kernel, over ``lo``
    (the IPv4 header at offset 0, IPv6's through SKF_NET_OFF)."""
    from ipaddress import ip_address  # noqa: PLC0415

    from vrrpd.adapters.rawsock import Accept, attach_filter, filter_program  # noqa: PLC0415
    from vrrpd.core.constants import Family  # noqa: PLC0415

    def probe(family: Family, accepts: list[Accept], cases: list[tuple[int, bytes]]) -> list[bool]:
        af, dst = (socket.AF_INET, "127.0.0.1") if family is Family.V4 else (socket.AF_INET6, "::1")
        rx, tx = socket.socket(af, socket.SOCK_RAW, 112), socket.socket(af, socket.SOCK_RAW, 112)
        rx.settimeout(0.1)
        attach_filter(rx, filter_program(family, accepts))
        out = []
        for ttl, payload in cases:
            if family is Family.V4:
                tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            else:
                tx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
            tx.sendto(payload, (dst, 0))
            try:
                rx.recv(2048)
                out.append(True)
            except TimeoutError:
                out.append(False)
        rx.close()
        tx.close()
        return out

    ours, other, v2 = (bytes([b, v, 100, 1, 0, 100, 0, 0, 0, 0, 0, 0]) for b, v in
                       ((0x31, 51), (0x31, 52), (0x21, 51)))  # fmt: skip
    cases = [(255, ours), (254, ours), (255, other), (255, v2)]
    return {
        "v4": probe(Family.V4, [Accept(51, 3, 255)], cases),
        "v6": probe(Family.V6, [Accept(51, 3, 255)], cases),
        "v4_peers": probe(
            Family.V4, [Accept(51, 3, 253, (ip_address("127.0.0.1"),))], [(253, ours), (252, ours)]
        ),
        "v4_not_a_peer": probe(
            Family.V4, [Accept(51, 3, 255, (ip_address("127.0.0.2"),))], cases[:1]
        ),
        "v6_not_a_peer": probe(Family.V6, [Accept(51, 3, 255, (ip_address("::2"),))], cases[:1]),
    }


@dataclass
class LoadReport:
    filtering: bool
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"socket filter {'on' if self.filtering else 'off'}"]
        out += [f"{k}: {v}" for k, v in self.figures.items()]
        out.append(f"violations: {len(self.violations)}")
        return out + [f"  - {v}" for v in self.violations]


def load_drill(
    malformed: int = 20_000,
    valid: int = 40_000,
    flood_seconds: float = 5.0,
    *,
    rate: float = 5000,
    filtering: bool = True,
) -> LoadReport:
    """Issue 16's hostile load at a pair at 0.1 s adverts; the figures and what broke."""
    from vrrpd.lab import Lab, rss, wait_for  # noqa: PLC0415
    from vrrpd.lab.peers import Peer, start_vrrpd, vrrpd_binary  # noqa: PLC0415

    report = LoadReport(filtering)
    env = None if filtering else {"VRRPD_SOCKET_FILTER": "off"}
    with Lab() as lab:
        for name, address in (("n1", MASTER), ("n2", BACKUP), ("cl", CLIENT)):
            lab.add_node(name, address, f"2001:db8::{address.rsplit('.', 1)[1]}")
        agents = {
            n: start_vrrpd(lab, Peer(n, p), text=load_config(n, p, str(lab.workdir)), env=env)
            for n, p in (("n1", 150), ("n2", 100))
        }

        def status(node: str) -> tuple[dict[str, Any], float, int]:
            sock = str(lab.workdir / f"{node}.sock")
            t0 = time.monotonic()
            done = lab.exec(node, vrrpd_binary(), "status", "--json", "--socket", sock, check=False)
            took = time.monotonic() - t0
            body = json.loads(done.stdout) if done.returncode == 0 else {}
            return body, took, len(done.stdout)

        def settled() -> bool:
            states = [status(n)[0].get("instances", {}) for n in agents]
            return all(
                s.get(i, {}).get("state") == want
                for s, want in zip(states, ("MASTER", "BACKUP"), strict=True)
                for i in ("web", "web6", "uni")
            )

        wait_for(settled, timeout=20, what="n1 master and n2 backup of every instance")
        time.sleep(1.0)
        links = json.loads(
            lab.exec("n1", "ip", "-6", "-j", "addr", "show", "dev", "eth0", "scope", "link").stdout
        )
        master_ll = next(a["local"] for link in links for a in link["addr_info"] if "local" in a)
        logs = {n: len(a.output().splitlines()) for n, a in agents.items()}
        moves = {n: a.output().count(" -> ") for n, a in agents.items()}
        memory = {n: rss(a) for n, a in agents.items()}

        def inject(*args: str, timeout: float) -> dict[str, Any]:
            argv = [sys.executable, "-m", "vrrpd.lab.hostile", *args]
            done = lab.exec("cl", *argv, timeout=timeout)
            result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
            return result

        figures = report.figures
        for kind, count in (("malformed", malformed), ("valid", valid)):
            if count:
                figures[f"{kind}_spray"] = inject(
                    "--spray", kind, "--count", str(count), "--rate", str(rate),
                    timeout=count / rate + 60,
                )  # fmt: skip
        time.sleep(0.5)
        figures["log_lines"] = {
            n: len(a.output().splitlines()) - logs[n] for n, a in agents.items()
        }
        figures["rss_growth_kib"] = {n: (rss(a) - memory[n]) // 1024 for n, a in agents.items()}
        answers = {n: status(n) for n in agents}
        figures["status_seconds"] = {n: round(a[1], 3) for n, a in answers.items()}
        figures["status_bytes"] = {n: a[2] for n, a in answers.items()}
        if flood_seconds:
            figures["flood"] = inject(
                "--flood-for", str(flood_seconds), "--master-ll", master_ll,
                timeout=flood_seconds + 60,
            )  # fmt: skip
        time.sleep(0.5)
        figures["socket_drops"] = {  # what the kernel dropped at full queues (and v6 filters)
            n: status(n)[0].get("router", {}).get("socket_drops") for n in agents
        }
        figures["spoofed_ttl"] = inject("--spoof-ttl", "20", timeout=30)
        time.sleep(0.5)
        for node, agent in agents.items():
            new = agent.output().splitlines()[logs[node] :]
            shapes = Counter(
                re.sub(r"[0-9a-f.:]{4,}|\d+", "N", line.split(" ", 2)[-1]) for line in new
            )
            figures[f"{node}_commonest_lines"] = shapes.most_common(3)
            if agent.output().count(" -> ") != moves[node]:
                changes = [line for line in new if " -> " in line]
                report.violations.append(f"{node}: a state changed under the load: {changes[:3]}")
            if not agent.alive():
                report.violations.append(f"{node}: the agent died")
            if "Traceback" in agent.output():
                report.violations.append(f"{node}: a traceback in the log")
            if figures["log_lines"][node] >= 300:
                report.violations.append(f"{node}: {figures['log_lines'][node]} log lines")
            if figures["rss_growth_kib"][node] >= 5 * 1024:
                report.violations.append(f"{node}: RSS grew {figures['rss_growth_kib'][node]} KiB")
            seconds, size = figures["status_seconds"][node], figures["status_bytes"][node]
            if not size or seconds >= 2:
                report.violations.append(f"{node}: status took {seconds} s ({size} bytes)")
        if "flood" in figures:
            for key, gap in figures["flood"]["max_advert_gap"].items():
                if gap is None or gap >= 0.3:
                    report.violations.append(f"master's longest {key} advert gap {gap} s")
        settled_after = settled()
        if not settled_after:
            report.violations.append("not n1 master and n2 backup of every instance afterwards")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inject", action="store_true", help="the injector half (in the client)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--flood", type=int, default=0)
    parser.add_argument("--flood-rate", type=float, default=5000)
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument("--load", action="store_true", help="issue 16's hostile load drill")
    parser.add_argument("--no-filter", action="store_true", help="load drill: filter off")
    parser.add_argument("--malformed", type=int, default=20_000)
    parser.add_argument("--valid", type=int, default=40_000)
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--spray", choices=("malformed", "valid"), help=argparse.SUPPRESS)
    parser.add_argument("--flood-for", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--master-ll", help=argparse.SUPPRESS)
    parser.add_argument("--spoof-ttl", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--filter-check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    injected: dict[str, Any] | None = None
    if args.filter_check:
        injected = filter_check()
    elif args.spray:
        injected = spray(args.spray, args.count, args.rate)
    elif args.flood_for is not None:
        injected = flood_for(args.flood_for, args.master_ll)
    elif args.spoof_ttl is not None:
        injected = spoof_ttl(args.spoof_ttl)
    if injected is not None:
        print(json.dumps(injected), flush=True)
        return 0
    if args.load:
        load = load_drill(
            args.malformed, args.valid, args.flood_seconds, filtering=not args.no_filter
        )
        for line in load.lines():
            print(line)
        if args.json:
            from pathlib import Path  # noqa: PLC0415

            Path(args.json).write_text(json.dumps(load.__dict__, indent=1) + "\n")
        return 1 if load.violations else 0
    if args.inject:
        print(json.dumps(inject(args.count, args.rate, args.flood, args.flood_rate)), flush=True)
        return 0
    flood = args.flood or args.count // 4
    report = drill(args.count - flood, flood, rate=args.rate, flood_rate=args.flood_rate)
    for line in report.lines():
        print(line)
    if args.json:
        from pathlib import Path  # noqa: PLC0415

        Path(args.json).write_text(json.dumps(report.__dict__, indent=1, sort_keys=True) + "\n")
    return 1 if report.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
