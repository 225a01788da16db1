"""Scale beside Keepalived: many instances at 0.1 s with a backup listening (issue 10).

For each implementation, in one lab: the master starts alone (time to all instances
MASTER), the backup joins, and for a window both are measured from /proc: CPU per
1000 adverts/s (sent by the master, received by the backup), resident memory, and
every state transition (there must be none). Then SIGTERM: time to exit.

Also the core alone (no I/O): what one received advert and the next deadline cost
a backup of K instances, for the repeat path and the full decode path.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from pathlib import Path

from vrrpd.lab import Lab, Process, cpu_seconds, rss, wait_for
from vrrpd.lab.peers import Peer, start_vrrpd

INTERVAL = 0.1


@dataclass
class Scale:
    impl: str
    instances: int
    start_to_all_master: float
    master_cpu_per_1000: float
    """Fraction of a core per 1000 adverts/s sent."""
    backup_cpu_per_1000: float
    """Fraction of a core per 1000 adverts/s received."""
    transitions: int
    master_rss: int
    exit_after_sigterm: float


def keepalived_conf(node: str, priority: int, count: int) -> str:
    lines = ["global_defs {", f"  router_id {node}", "  vrrp_version 3", "}"]
    for v in range(1, count + 1):
        lines += [
            f"vrrp_instance i{v} {{", "  state BACKUP", "  interface eth0",
            f"  virtual_router_id {v}", f"  priority {priority}", f"  advert_int {INTERVAL}",
            f"  virtual_ipaddress {{ {_vip(v)} }}", "}",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _vip(v: int) -> str:
    return f"198.51.100.{v}/24" if v < 255 else f"203.0.113.{v - 254}/24"


def _start(lab: Lab, impl: str, node: str, priority: int, count: int) -> Process:
    if impl == "vrrpd":
        more = tuple((f"i{v}", v, _vip(v)) for v in range(2, count + 1))
        return start_vrrpd(
            lab, Peer(node, priority, vrid=1, vips=(_vip(1),), instances=more, interval=INTERVAL)
        )
    base = lab.workdir / f"{node}-keepalived"
    conf = base.with_suffix(".conf")
    conf.write_text(keepalived_conf(node, priority, count))
    argv = ["keepalived", "-n", "-l", "-D", "-P", "-f", str(conf), "-p", f"{base}.pid",
            "-r", f"{base}.vrrp.pid", "-c", f"{base}.checkers.pid", "--no-syslog"]  # fmt: skip
    return lab.start(node, argv, label="keepalived")


_MASTER = {"vrrpd": r"-> MASTER", "keepalived": r"Entering MASTER STATE"}
_ANY = {
    "vrrpd": r" -> (MASTER|BACKUP|FAULT)",
    "keepalived": r"Entering (MASTER|BACKUP|FAULT) STATE",
}


def measure(impl: str, count: int = 200, window: float = 10.0, *, backup: bool = True) -> Scale:
    """Without ``backup`` the master alone (its received figure is then 0)."""
    with Lab() as lab:
        for name, i in (("n1", 11), ("n2", 12)):
            lab.add_node(name, f"192.0.2.{i}", f"2001:db8::{i}")
        started = time.monotonic()
        master = _start(lab, impl, "n1", 150, count)
        wait_for(
            lambda: len(re.findall(_MASTER[impl], master.output())) >= count,
            timeout=60,
            interval=0.005,
            what=f"{impl}: all {count} instances MASTER",
        )
        all_master = time.monotonic() - started
        second = _start(lab, impl, "n2", 100, count) if backup else None

        def logs() -> str:
            return master.output() + (second.output() if second else "")

        def cpu() -> tuple[float, float]:
            return cpu_seconds(master), cpu_seconds(second) if second else 0.0

        time.sleep(3.0)
        before = len(re.findall(_ANY[impl], logs()))
        at_start = cpu()
        time.sleep(window)
        used = tuple(b - a for a, b in zip(at_start, cpu(), strict=True))
        after = len(re.findall(_ANY[impl], logs()))
        memory = rss(master)
        per_second = count / INTERVAL
        stopping = time.monotonic()
        lab.signal(master, 15)
        lab.wait(master, 10)
        exited = time.monotonic() - stopping
        return Scale(
            impl, count, all_master,
            used[0] / window / (per_second / 1000), used[1] / window / (per_second / 1000),
            after - before, memory, exited,
        )  # fmt: skip


@dataclass
class Cluster:
    """Three nodes of one implementation, ``count`` instances each, for a long window."""

    impl: str
    instances: int
    seconds: float
    transitions: dict[str, int]
    """Per node, state changes during the window (after all settled): must be 0."""
    cpu_per_1000: dict[str, float]
    """Per node, fraction of a core per 1000 adverts/s on the wire."""


def three_nodes(impl: str, count: int = 200, seconds: float = 180.0) -> Cluster:
    """``make soak``'s scale run: priorities 150/100/50, every instance on all three."""
    nodes = {"n1": 150, "n2": 100, "n3": 50}
    with Lab() as lab:
        for i, name in enumerate(nodes, start=11):
            lab.add_node(name, f"192.0.2.{i}", f"2001:db8::{i}")
        agents = {
            name: _start(lab, impl, name, priority, count) for name, priority in nodes.items()
        }
        wait_for(
            lambda: len(re.findall(_MASTER[impl], agents["n1"].output())) >= count,
            timeout=60, interval=0.05, what=f"{impl}: n1 master of all {count}",
        )  # fmt: skip
        time.sleep(5.0)
        before = {n: len(re.findall(_ANY[impl], a.output())) for n, a in agents.items()}
        cpu = {n: cpu_seconds(a) for n, a in agents.items()}
        time.sleep(seconds)
        per_second = count / INTERVAL
        return Cluster(
            impl, count, seconds,
            {n: len(re.findall(_ANY[impl], a.output())) - before[n] for n, a in agents.items()},
            {n: (cpu_seconds(a) - cpu[n]) / seconds / (per_second / 1000) for n, a in agents.items()},
        )  # fmt: skip


# ---------------------------------------------------------------- the core alone


def core_cost(instances: int, adverts: int = 20_000, *, repeat: bool = True) -> float:
    """Seconds per received advert (handle + next_deadline) for a backup of ``instances``.
    ``repeat=False`` changes every advert's priority, so each is decoded in full."""
    from ipaddress import ip_interface  # noqa: PLC0415

    from vrrpd.core.config import Config, InstanceConfig, VirtualAddress  # noqa: PLC0415
    from vrrpd.core.constants import Family  # noqa: PLC0415
    from vrrpd.core.events import DatagramReceived, LinkChanged, Startup  # noqa: PLC0415
    from vrrpd.core.node import Node  # noqa: PLC0415
    from vrrpd.core.packet import Advertisement, encode  # noqa: PLC0415

    peer, group = IPv4Address("192.0.2.12"), IPv4Address("224.0.0.18")
    config = Config(
        instances=tuple(
            InstanceConfig(f"i{v}", "eth0", v, 100, advert_interval=INTERVAL,
                           virtual_addresses=(VirtualAddress(ip_interface(_vip(v))),))
            for v in range(1, instances + 1)
        )
    )  # fmt: skip
    node = Node(config)
    node.handle(LinkChanged("eth0", True, (ip_address("192.0.2.11"),)), now=0.0)
    node.handle(Startup(), now=0.0)
    packets = [
        [
            encode(Advertisement(3, v, 200 - (k % 2 if not repeat else 0), 10,
                                 (ip_interface(_vip(v)).ip,)), src=peer, dst=group)
            for k in range(2)
        ]
        for v in range(1, instances + 1)
    ]  # fmt: skip
    now = 0.05
    begin = time.perf_counter()
    for n in range(adverts):
        v = n % instances
        data = packets[v][(n // instances) % 2]
        node.handle(DatagramReceived("eth0", Family.V4, peer, group, 255, data), now=now)
        node.next_deadline()
        if v == instances - 1:
            now += INTERVAL
    return (time.perf_counter() - begin) / adverts


def machine() -> str:
    return (
        f"{os.cpu_count()} cores, {Path('/proc/cpuinfo').read_text().count('processor')} processors"
    )
