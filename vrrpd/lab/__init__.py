"""Network-namespace labs: real agents, real sockets, one machine.

A lab is a switch namespace holding a bridge, and node namespaces each joined to
it by a veth pair (``eth0`` inside the node). Every name starts with a prefix
unique to the run, so parallel or crashed runs never collide; everything the lab
created (namespaces, processes, files) is removed by ``close()``, which the
context manager and the pytest fixtures always call. Only documentation
addresses are used, and nothing touches the host's own interfaces.

Processes are started with ``ip netns exec`` (which execs, so the PID is the
program's) in a new session, and stopped by that PID only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import psutil

T = TypeVar("T")
REQUIRED_TOOLS = ("ip", "ping", "sysctl")


class LabError(RuntimeError):
    pass


def require_root() -> None:
    """Fail (never skip) with what is missing: lab tests run in CI as root."""
    if os.geteuid() != 0:
        raise LabError("network-namespace labs need root: run `make test` as root")
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise LabError(
            f"missing tools {missing}: apt-get install iproute2 iputils-ping procps (make test installs them)"
        )


@dataclass
class Process:
    name: str
    namespace: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Node:
    name: str
    namespace: str
    port: str
    """The veth end in the switch namespace (cut it to unplug the node)."""
    ipv4: str
    ipv6: str
    processes: list[Process] = field(default_factory=list)


class Lab:
    """A throw-away L2 segment. Use as a context manager."""

    def __init__(self, prefix: str | None = None, *, workdir: Path | None = None) -> None:
        require_root()
        self.prefix = prefix or f"vl{secrets.token_hex(3)}"
        self.switch = f"{self.prefix}-sw"
        self.nodes: dict[str, Node] = {}
        self.processes: list[Process] = []
        self._namespaces: list[str] = []
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        try:
            self._netns_add(self.switch)
            self.ip(
                self.switch,
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
            )
            # Forward multicast (224.0.0.18, ff02::12) without snooping surprises.
            self.ip(self.switch, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
            # Promiscuous: the bridge also hands unicast frames between ports to its own
            # stack, where the sniffer listens (unicast VRRP is otherwise invisible).
            self.ip(self.switch, "link", "set", "br0", "promisc", "on")
            self.ip(self.switch, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- topology

    def add_node(self, name: str, ipv4: str, ipv6: str) -> Node:
        """A host with ``eth0`` on the segment: IPv4 ``ipv4/24``, IPv6 ``ipv6/64`` and a link-local."""
        namespace = f"{self.prefix}-{name}"
        port = f"{self.prefix[-6:]}{name}"[:15]
        self._netns_add(namespace)
        self.ip(namespace, "link", "set", "lo", "up")
        run(
            [
                "ip",
                "link",
                "add",
                "eth0",
                "netns",
                namespace,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                self.switch,
            ]
        )
        self.ip(self.switch, "link", "set", port, "master", "br0")
        self.ip(self.switch, "link", "set", port, "up")
        self.sysctl(namespace, "net.ipv6.conf.eth0.accept_dad", "0")
        self.ip(namespace, "addr", "add", f"{ipv4}/24", "dev", "eth0")
        self.ip(namespace, "addr", "add", f"{ipv6}/64", "dev", "eth0", "nodad")
        self.ip(namespace, "link", "set", "eth0", "up")
        node = Node(name, namespace, port, ipv4, ipv6)
        self.nodes[name] = node
        return node

    def unplug(self, name: str) -> None:
        """Cut the node's cable at the switch: it hears nothing and is heard by no one."""
        self.ip(self.switch, "link", "set", self.nodes[name].port, "down")

    def plug(self, name: str) -> None:
        self.ip(self.switch, "link", "set", self.nodes[name].port, "up")

    def isolate(self, *names: str, on: bool = True) -> None:
        """Partition: isolated switch ports cannot reach each other (links stay up), but
        still reach every other node, the client included. ``on=False`` heals."""
        for name in names:
            self.ip(
                self.switch,
                "link",
                "set",
                "dev",
                self.nodes[name].port,
                "type",
                "bridge_slave",
                "isolated",
                "on" if on else "off",
            )

    def link(self, name: str, up: bool) -> None:
        """The node's own eth0 up or down (what its agent sees as a link event)."""
        self.ip(self.nodes[name].namespace, "link", "set", "eth0", "up" if up else "down")

    # ---------------------------------------------------------------- commands

    @staticmethod
    def ip(namespace: str, *args: str) -> str:
        return run(["ip", "-n", namespace, *args])

    @staticmethod
    def sysctl(namespace: str, key: str, value: str) -> None:
        run(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", f"{key}={value}"])

    def exec(
        self, name: str, *argv: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        namespace = self.nodes[name].namespace
        return subprocess.run(
            ["ip", "netns", "exec", namespace, *argv],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        label: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Process:
        """Start a long-running program in a node (new session; stopped by PID only)."""
        node = self.nodes[name]
        label = label or Path(argv[0]).name
        log = self.workdir / f"{name}-{label}-{len(self.processes)}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            ["ip", "netns", "exec", node.namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        handle.close()
        process = Process(label, node.namespace, popen, log)
        node.processes.append(process)
        self.processes.append(process)
        return process

    @staticmethod
    def signal(process: Process, signum: int) -> None:
        if process.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)

    @staticmethod
    def wait(process: Process, timeout: float = 10.0) -> int | None:
        try:
            return process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def crash(self, process: Process, *, unplug: str | None = None) -> None:
        """Freeze the whole process tree, optionally cut the node's cable, then kill it.

        Freezing comes first: an agent that saw its link go down would leave cleanly
        (FAULT, VIPs removed), which is not a crash.
        """
        self.signal(process, signal.SIGSTOP)
        if unplug is not None:
            self.unplug(unplug)
        self.signal(process, signal.SIGKILL)
        self.wait(process, 5)

    def start_sniffer(self, python: str) -> Process:
        """Timestamped adverts seen on the switch (see ``vrrpd.lab.sniff``)."""
        log = self.workdir / f"sniff-{len(self.processes)}.jsonl"
        handle = log.open("wb")
        popen = subprocess.Popen(
            ["ip", "netns", "exec", self.switch, python, "-u", "-m", "vrrpd.lab.sniff", "br0"],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent.parent,
        )
        handle.close()
        process = Process("sniff", self.switch, popen, log)
        self.processes.append(process)
        wait_for(
            lambda: "ready" in process.output() or not process.alive(),
            timeout=10,
            what="the sniffer",
        )
        if not process.alive():
            raise LabError(f"sniffer died: {process.output()}")
        return process

    @staticmethod
    def adverts(sniffer: Process) -> list[dict[str, Any]]:
        records = [
            json.loads(line) for line in sniffer.output().splitlines() if line.startswith("{")
        ]
        return [r for r in records if "ready" not in r]

    # ---------------------------------------------------------------- observation

    def addresses(self, name: str, device: str = "eth0") -> set[str]:
        """The node's addresses on ``device`` (none when the device does not exist)."""
        try:
            out = self.ip(self.nodes[name].namespace, "-j", "addr", "show", "dev", device)
        except LabError as error:
            if "does not exist" in str(error):
                return set()
            raise
        data: list[dict[str, Any]] = json.loads(out or "[]")
        return {a["local"] for entry in data for a in entry.get("addr_info", [])}

    def holders(self, address: str) -> list[str]:
        return sorted(n for n in self.nodes if address in self.addresses(n))

    def neighbour_mac(self, name: str, address: str) -> str | None:
        out = self.ip(self.nodes[name].namespace, "-j", "neigh", "show", address)
        entries: list[dict[str, Any]] = json.loads(out or "[]")
        return next((str(e["lladdr"]) for e in entries if "lladdr" in e), None)

    def mac(self, name: str) -> str:
        out = self.ip(self.nodes[name].namespace, "-j", "link", "show", "eth0")
        return str(json.loads(out)[0]["address"])

    def ping(self, name: str, address: str, *, count: int = 1, wait: float = 1.0) -> bool:
        argv = ["ping", "-n", "-q", "-c", str(count), "-W", f"{wait:g}", address]
        return self.exec(name, *argv, check=False, timeout=count * wait + 5).returncode == 0

    # ---------------------------------------------------------------- teardown

    def _netns_add(self, namespace: str) -> None:
        run(["ip", "netns", "add", namespace])
        self._namespaces.append(namespace)

    def close(self) -> None:
        """Remove everything this lab made, even after a failure halfway."""
        for process in reversed(self.processes):
            self.signal(process, signal.SIGKILL)
            self.wait(process, 5)
        for namespace in reversed(self._namespaces):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        self._namespaces.clear()
        if self._own_workdir and not os.environ.get("VRRPD_LAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pair_and_client() -> Lab:
    """The failover measurements' lab: n1 and n2 (.11, .12) and a client ``cl`` (.50)."""
    lab = Lab()
    try:
        for name, i in (("n1", 11), ("n2", 12), ("cl", 50)):
            lab.add_node(name, f"192.0.2.{i}", f"2001:db8::{i}")
    except BaseException:
        lab.close()
        raise
    return lab


def run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def wait_for(
    predicate: Callable[[], T], *, timeout: float, interval: float = 0.01, what: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy; LabError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- measuring

_REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")
"""An echo reply; not ``From ... icmp_seq=N Destination Net Unreachable``, which a
router sends while it has no route (counting it split an outage into short silences)."""


def answered(probe: Process) -> list[tuple[float, int]]:
    """(wall clock, icmp_seq) of every echo reply a ``ping -D`` probe printed."""
    return [
        (float(m.group(1)), int(m.group(2)))
        for line in probe.output().splitlines()
        if (m := _REPLY.match(line))
    ]


def replies(probe: Process) -> list[float]:
    """Wall-clock times of the replies a ``ping -D`` probe printed."""
    return [at for at, _ in answered(probe)]


def lost_outage(probe: Process, start: float | None = None, end: float | None = None) -> float:
    """The longest silence in which the client lost a probe (its ``icmp_seq`` skips),
    among those that overlap ``start``..``end`` (wall clock) when given.

    A silence without a lost probe is the client's own: on two busy cores ping was not
    scheduled and sent nothing, which measured a planned handover at 25 ms although
    every probe was answered by the same MAC. What the client lost is what counts."""
    low, high = -math.inf if start is None else start, math.inf if end is None else end
    seen = answered(probe)
    return max(
        (
            tb - ta
            for (ta, sa), (tb, sb) in pairwise(seen)
            if (sb - sa) % 65536 > 1 and ta < high and tb > low
        ),
        default=0.0,
    )


def outage(times: list[float], start: float, end: float) -> float:
    """The longest silence the client saw between ``start`` and ``end`` (wall clock)."""
    inside = [start, *(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in pairwise(inside))


def cpu_seconds(process: Process) -> float:
    """CPU time of a process and its children (Keepalived forks a VRRP child), from the
    scheduler's nanosecond account of every thread (/proc/PID/task/TID/schedstat), not
    the 10 ms clock ticks of utime/stime: one instance's adverts cost less than a tick."""
    root = psutil.Process(process.pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        for task in Path(f"/proc/{p.pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(task.read_text().split()[0])
    return total / 1e9


def rss(process: Process) -> int:
    """Resident memory of a process and its children."""
    root = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
