"""A routed fabric for ``announce: bgp``: a router running FRR, two load balancers on
their own routed links (no shared L2), each with FRR and vrrpd, and a client.

::

    lb1 eth0 198.51.100.2/30 ── .1 r1 ── r .5 ── 198.51.100.6/30 eth0 lb2
                                      r .9
                                        │
                                 cl 198.51.100.10/30

The router (AS 64496) peers over eBGP with lb1 (AS 64497) and lb2 (AS 64498), BFD on
every session; each load balancer announces the VIP with ``network VIP/32`` and
import-check, so its route exists exactly while vrrpd has the VIP on ``lo``. vrrpd's
unicast adverts cross the router (TTL 254 on arrival: ``unicast_max_hops: 1``).

Every FRR daemon runs with its own config, pid file, vty and zebra sockets in the lab's
work directory, and is stopped by its PID like every other process of the lab. FRR's
own ``vrrpd`` daemon is never started.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from vrrpd.lab import Lab, LabError, Node, Process, answered, run, wait_for
from vrrpd.lab.peers import vrrpd_binary

FRR = Path("/usr/lib/frr")
VIP = "203.0.113.10"
ROUTER_AS = 64496
LINKS = {"lb1": ("198.51.100.1", "198.51.100.2"), "lb2": ("198.51.100.5", "198.51.100.6")}
CLIENT = ("198.51.100.9", "198.51.100.10")
ASN = {"lb1": 64497, "lb2": 64498}
METRICS = "127.0.0.1:9650"
"""Each agent's Prometheus endpoint, inside its node's namespace."""


def require_frr() -> None:
    """Fail (never skip) naming the Debian package."""
    missing = [str(FRR / d) for d in ("zebra", "bgpd", "bfdd") if not (FRR / d).exists()]
    missing += ["vtysh"] if shutil.which("vtysh") is None else []
    if missing:
        raise LabError(
            f"FRR is missing ({', '.join(missing)} not found): the BGP lab runs FRR's zebra, "
            "bgpd and bfdd: apt-get install frr"
        )
    if shutil.which("nft") is None:
        raise LabError(
            "nft is missing (the crash drill cuts links with it): apt-get install nftables"
        )


def _bfd(tx_ms: int, multiplier: int) -> str:
    return (
        "bfd\n profile fabric\n"
        f"  detect-multiplier {multiplier}\n"
        f"  receive-interval {tx_ms}\n  transmit-interval {tx_ms}\n exit\nexit\n"
    )


def router_config(tx_ms: int, multiplier: int, *, exabgp: bool = False) -> str:
    """``exabgp``: the reference setup for ExaBGP's healthcheck, which speaks no BFD and
    ranks its nodes by MED (lb1 100, lb2 200): no BFD, and MEDs compared across the
    nodes' different ASes."""
    lines = [
        "frr defaults datacenter",
        "hostname r",
        "!",
        f"router bgp {ROUTER_AS}",
        f" bgp router-id {CLIENT[0]}",
        " no bgp ebgp-requires-policy",
        " bgp graceful-restart-disable",
    ]
    if exabgp:
        lines.append(" bgp always-compare-med")
    for name, (ours, theirs) in LINKS.items():
        del ours
        lines.append(f" neighbor {theirs} remote-as {ASN[name]}")
        if not exabgp:
            lines.append(f" neighbor {theirs} bfd profile fabric")
    lines.append("exit")
    return "\n".join(lines) + "\n" + _bfd(tx_ms, multiplier)


def lb_config(name: str, tx_ms: int, multiplier: int) -> str:
    """The snippet operators use (docs/bgp.md, etc/frr/vrrpd-bgp.conf.example)."""
    router, me = LINKS[name]
    return (
        "frr defaults datacenter\n"
        f"hostname {name}\n"
        f"router bgp {ASN[name]}\n"
        f" bgp router-id {me}\n"
        " no bgp ebgp-requires-policy\n"
        " bgp graceful-restart-disable\n"
        " bgp network import-check\n"
        f" neighbor {router} remote-as {ROUTER_AS}\n"
        f" neighbor {router} bfd profile fabric\n"
        " address-family ipv4 unicast\n"
        f"  network {VIP}/32\n"
        " exit-address-family\n"
        "exit\n" + _bfd(tx_ms, multiplier)
    )


@dataclass
class Frr:
    """One FRR instance (zebra, bgpd, bfdd) in a namespace, all paths in ``directory``."""

    node: str
    directory: Path
    processes: list[Process]

    def vtysh(self, lab: Lab, command: str) -> str:
        return lab.exec(
            self.node, "vtysh", "--vty_socket", str(self.directory), "-c", command, timeout=10
        ).stdout


class BgpLab(Lab):
    """The fabric above. ``Lab``'s switch namespace exists but carries nothing here."""

    def __init__(self, *, bfd_ms: int = 300, multiplier: int = 3, exabgp: bool = False) -> None:
        require_frr()
        if exabgp and shutil.which("exabgp") is None:
            raise LabError("ExaBGP is missing: apt-get install exabgp")
        super().__init__()
        self.bfd = (bfd_ms, multiplier)
        self.exabgp = exabgp
        self.frr: dict[str, Frr] = {}
        self.workdir.chmod(0o711)  # FRR's daemons (user frr) reach their own directory
        try:
            self._node("r")
            self.sysctl(self.nodes["r"].namespace, "net.ipv4.ip_forward", "1")
            for name, (router, me) in LINKS.items():
                self._node(name)
                self._wire(name, router, me)
            self._node("cl")
            self._wire("cl", *CLIENT)
        except BaseException:
            self.close()
            raise

    def _node(self, name: str) -> None:
        namespace = f"{self.prefix}-{name}"
        self._netns_add(namespace)
        self.ip(namespace, "link", "set", "lo", "up")
        for key in ("all", "default"):
            self.sysctl(namespace, f"net.ipv4.conf.{key}.rp_filter", "0")
        self.nodes[name] = Node(name, namespace, "", "", "")

    def _wire(self, name: str, router_ip: str, ip: str) -> None:
        """A /30 between the router (``to-NAME``) and the node (``eth0``)."""
        r, node = self.nodes["r"].namespace, self.nodes[name].namespace
        run(["ip", "link", "add", "eth0", "netns", node, "type", "veth",
             "peer", "name", f"to-{name}", "netns", r])  # fmt: skip
        self.ip(r, "addr", "add", f"{router_ip}/30", "dev", f"to-{name}")
        self.ip(node, "addr", "add", f"{ip}/30", "dev", "eth0")
        self.ip(r, "link", "set", f"to-{name}", "up")
        self.ip(node, "link", "set", "eth0", "up")
        self.ip(node, "route", "add", "default", "via", router_ip)
        self.nodes[name].ipv4 = ip

    def cut(self, name: str) -> None:
        """Cut the node off at the router without a carrier change (a dead host or a
        broken cable further away): nothing gets through, no interface goes down, no
        TCP reset arrives, so BFD is what notices."""
        dev = f"to-{name}"
        rules = (
            "table inet vrrpdcut {\n"
            f" chain i {{ type filter hook prerouting priority -300; iifname {dev} drop; }}\n"
            f" chain o {{ type filter hook postrouting priority -300; oifname {dev} drop; }}\n"
            f" chain l {{ type filter hook output priority -300; oifname {dev} drop; }}\n"
            "}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.nodes["r"].namespace, "nft", "-f", "-"],
            input=rules, text=True, check=True, capture_output=True,
        )  # fmt: skip

    def uncut(self, name: str) -> None:
        del name
        run(["ip", "netns", "exec", self.nodes["r"].namespace, "nft", "delete", "table", "inet", "vrrpdcut"])  # fmt: skip

    def start_frr(self, name: str) -> Frr:
        directory = self.workdir / f"frr-{name}"
        directory.mkdir(exist_ok=True)
        text = (
            router_config(*self.bfd, exabgp=self.exabgp)
            if name == "r"
            else lb_config(name, *self.bfd)
        )
        head, _, bfd = text.partition("bfd\n")
        parts = {"zebra": f"hostname {name}\n", "bgpd": head, "bfdd": "bfd\n" + bfd}
        for daemon, part in parts.items():  # each daemon reads only its own part
            (directory / f"{daemon}.conf").write_text(part)
            (directory / f"{daemon}.conf").chmod(0o644)
        shutil.chown(directory, "frr", "frr")  # the daemons drop to the frr user
        zsock = str(directory / "zserv.api")
        processes = []
        for daemon in ("zebra", "bfdd", "bgpd"):
            argv = [str(FRR / daemon), "-f", str(directory / f"{daemon}.conf"),
                    "-i", str(directory / f"{daemon}.pid"), "--vty_socket", str(directory),
                    "-z", zsock, "-P", "0", "--log", "stdout", "--log-level", "warnings"]  # fmt: skip
            if daemon == "bfdd":
                argv += ["--bfdctl", str(directory / "bfdd.sock")]
            if daemon == "bgpd":
                argv += ["-p", "179"]
            processes.append(self.start(name, argv, label=f"frr-{daemon}"))
            if daemon == "zebra":
                wait_for(lambda: Path(zsock).exists(), timeout=10, what=f"zebra of {name}")
        frr = Frr(name, directory, processes)
        self.frr[name] = frr
        return frr

    def start_exabgp(self, name: str, med: int, check: str, disable: Path) -> Process:
        """ExaBGP 4.2 with its healthcheck, set up as its wiki's high-availability
        example: every node holds the VIP on lo and announces it, the preferred one
        with the lower MED; a failing check raises the MED to 1000 (``disable`` present:
        500), the route moves to the node with the lower one. The check runs as often
        as vrrpd's in the drills (0.1 s, rise 1, fall 1)."""
        router, me = LINKS[name]
        directory = self.workdir / f"exabgp-{name}"
        directory.mkdir(exist_ok=True)
        health = (
            "/usr/bin/python3 -m exabgp healthcheck --no-syslog --name pay "
            f"--cmd '{check}' --interval 0.1 --fast-interval 0.1 --rise 1 --fall 1 "
            f"--timeout 1 --ip {VIP}/32 --up-metric {med} --down-metric 1000 "
            f"--disabled-metric 500 --disable {disable}"
        )
        config = directory / "exabgp.conf"
        config.write_text(
            f"process health {{\n run {health};\n encoder text;\n}}\n"
            f"neighbor {router} {{\n router-id {me};\n local-address {me};\n"
            f" local-as {ASN[name]};\n peer-as {ROUTER_AS};\n"
            " api {\n  processes [ health ];\n }\n}\n"
        )
        env = {
            "exabgp.daemon.user": "root",  # the healthcheck adds the VIP to lo
            "exabgp.daemon.drop": "false",
            "exabgp.log.destination": "stdout",
            "exabgp.api.cli": "false",
        }
        return self.start(name, ["exabgp", str(config)], label="exabgp", env=env)

    def start_service(self, name: str) -> Process:
        """The service on the VIP: HTTP on port 80 of every address of the node, its
        page naming the node (a client sees which node served it)."""
        root = self.workdir / f"www-{name}"
        root.mkdir(exist_ok=True)
        (root / "index.html").write_text(f"{name}\n")
        # Every address: the VIP comes and goes (inside the lab namespace only).
        argv = ["/usr/bin/python3", "-m", "http.server", "80", "--bind", "0.0.0.0",  # noqa: S104
                "--directory", str(root)]  # fmt: skip
        return self.start(name, argv, label="http")

    def fetch(self) -> str | None:
        """The client's GET http://VIP/ (the serving node's name), or None if it failed."""
        done = self.exec("cl", "curl", "-sf", "--max-time", "2", f"http://{VIP}/",
                         check=False, timeout=5)  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else None

    def established(self, name: str) -> bool:
        out = self.frr[name].vtysh(self, "show bgp summary json")
        try:
            peers = json.loads(out)["ipv4Unicast"]["peers"]
        except (ValueError, KeyError):
            return False
        return bool(peers) and all(p.get("state") == "Established" for p in peers.values())

    def bfd_up(self, name: str = "r") -> bool:
        """Every BFD session of the node is up. A drill must wait for it: bfdd brings a
        session up seconds after BGP's (slow timers until then), and a crash before that
        is caught by BGP's hold time (9 s), not by BFD (seen once in 3 runs)."""
        out = self.frr[name].vtysh(self, "show bfd peers json")
        try:
            peers: list[dict[str, Any]] = json.loads(out)
        except ValueError:
            return False
        return len(peers) == len(LINKS) and all(p.get("status") == "up" for p in peers)

    def best_path(self) -> str | None:
        """The router's next hop for the VIP in its kernel table (what forwarding uses)."""
        out = self.ip(self.nodes["r"].namespace, "-j", "route", "show", f"{VIP}/32")
        routes: list[dict[str, Any]] = json.loads(out or "[]")
        return str(routes[0].get("gateway")) if routes else None

    def freeze(self, name: str) -> None:
        """SIGSTOP every process of the node (agent, FRR, service)."""
        for process in self.nodes[name].processes:
            self.signal(process, signal.SIGSTOP)

    def kill_all(self, name: str) -> None:
        for process in self.nodes[name].processes:
            self.signal(process, signal.SIGKILL)
            self.wait(process, 5)


def agent_env(lab: BgpLab, name: str) -> dict[str, str]:
    """The agent's environment: its status asks the node's own FRR, whose vty sockets
    are in the lab's directory (``VRRPD_VTYSH``, docs/bgp.md)."""
    frr = lab.frr.get(name)
    return {"VRRPD_VTYSH": f"vtysh --vty_socket {frr.directory}" if frr else "off"}


class Fabric:
    """The agents of a ``BgpLab`` (pay, VRID 60, ``announce: bgp`` on lo), lb1's with a
    check that fails while ``fail_flag`` exists (weight -100, anycast 0)."""

    def __init__(self, lab: BgpLab) -> None:
        self.lab = lab
        self.fail_flag = lab.workdir / "lb1-check-fails"
        self.agents: dict[str, Process] = {}
        self.configs: dict[str, Path] = {}

    def start_agent(self, name: str, priority: int, *, anycast: bool = False) -> Process:
        check = f"/bin/sh -c 'test ! -e {self.fail_flag}'" if name == "lb1" else None
        self.configs[name] = vrrpd_config(self.lab, name, priority, check, anycast=anycast)
        argv = [vrrpd_binary(), "run", "-c", str(self.configs[name])]
        process = self.lab.start(name, argv, label="vrrpd", env=agent_env(self.lab, name))
        self.agents[name] = process
        return process

    def on_lo(self, name: str) -> bool:
        return VIP in self.lab.addresses(name, "lo")

    def ctl(self, name: str, *args: str) -> str:
        socket = str(self.configs[name].parent / "vrrpd.sock")
        return self.lab.exec(name, vrrpd_binary(), *args, "--socket", socket, timeout=10).stdout

    def frr(self, name: str) -> dict[str, Any]:
        """What the agent's status says FRR announces for the VIP (``vrrpd.bgp``)."""
        frr: dict[str, Any] = json.loads(self.ctl(name, "status", "--json"))["instances"]["pay"][
            "frr"
        ]
        return frr


def bring_up(lab: BgpLab) -> Fabric:
    """FRR on the router and both nodes, the service on each node, then vrrpd on lb1
    (priority 150) and lb2 (100): returns once lb1 is MASTER, the router routes the VIP
    to it, and the router's BFD sessions are up (a drill before that would be caught by
    BGP's hold time, not BFD)."""
    for name in ("r", "lb1", "lb2"):
        lab.start_frr(name)
    wait_for(lambda: lab.established("r"), timeout=30, what="the router's BGP sessions")
    for name in LINKS:
        lab.start_service(name)
    fabric = Fabric(lab)
    fabric.start_agent("lb1", 150)
    wait_for(lambda: fabric.on_lo("lb1"), timeout=10, what="lb1 MASTER, VIP on lo")
    fabric.start_agent("lb2", 100)
    wait_for(
        lambda: lab.best_path() == LINKS["lb1"][1], timeout=10, what="the router's route to lb1"
    )
    wait_for(lab.bfd_up, timeout=30, what="the router's BFD sessions up")
    # the HTTP servers (Python, ~1 s to start on a busy machine) answer before any drill:
    # a fresh Debian 12 machine counted 238 failed requests of the steady state otherwise
    wait_for(lambda: lab.fetch() == "lb1", timeout=15, what="the service on the VIP (lb1)")
    time.sleep(1.0)  # lb2 settles as BACKUP
    return fabric


def route_monitor(lab: BgpLab) -> Process:
    """``ip monitor route`` at the router with timestamps: when its best path changed."""
    return lab.start("r", ["ip", "-ts", "monitor", "route"], label="route-monitor")


def path_changes(monitor: Process) -> list[tuple[float, str]]:
    """(wall clock, line) of every change of the VIP's route the router's kernel made."""
    out = []
    for line in monitor.output().splitlines():
        if VIP not in line or not line.startswith("["):
            continue
        stamp, _, rest = line[1:].partition("]")
        try:
            at = time.mktime(time.strptime(stamp.split(".")[0], "%Y-%m-%dT%H:%M:%S"))
            at += float("0." + stamp.split(".")[1])
        except (ValueError, IndexError):
            continue
        out.append((at, rest.strip()))
    return out


def vrrpd_config(
    lab: BgpLab,
    name: str,
    priority: int,
    check: str | None = None,
    *,
    anycast: bool = False,
    weight: int | None = None,
    preempt_delay: float = 0.0,
) -> Path:
    other = "lb2" if name == "lb1" else "lb1"
    work = lab.workdir / f"vrrpd-{name}"
    work.mkdir(exist_ok=True)
    scripts = ""
    track = ""
    if check is not None:
        scripts = (
            f"scripts:\n  chk:\n    command: {check}\n    interval: 0.1\n    timeout: 1.5\n"
            f"    fall: 1\n    rise: 1\n    weight: {weight if weight is not None else 0 if anycast else -100}\n"
        )
        track = "    track_scripts: [chk]\n"
    delay = f"    preempt_delay: {preempt_delay:g}\n" if preempt_delay else ""
    text = (
        f"global:\n  router_id: {name}\n  control_socket: {work}/vrrpd.sock\n"
        f"  metrics_listen: {METRICS}\n"
        f"  state_file: {work}/state.json\n  script_security: false\n  script_user: root\n"
        + scripts
        + "instances:\n  pay:\n    interface: eth0\n    vrid: 60\n"
        f"    priority: {priority}\n    advert_interval: 0.1\n{delay}"
        f"    unicast_peers: [{LINKS[other][1]}]\n    unicast_source: {LINKS[name][1]}\n"
        "    unicast_max_hops: 1\n    announce: bgp\n    announce_device: lo\n"
        f"    virtual_addresses: [{VIP}/32]\n" + ("    election: none\n" if anycast else "") + track
    )
    path = work / "vrrpd.yaml"
    path.write_text(text)
    return path


def probe(lab: BgpLab) -> Process:
    """The client pings the VIP every 2 ms, each reply time-stamped (``ping -D``)."""
    return lab.start("cl", ["ping", "-D", "-n", "-i", "0.002", "-W", "1", VIP], label="probe")


def lost(client: Process, start: float) -> int:
    """Probes sent after ``start`` that got no echo reply (holes in ``icmp_seq``).

    The longest silence alone overstates: when the two cores are busy (FRR starting)
    ping itself is not scheduled for 10-16 ms and sends nothing, a silence with no
    probe lost. A lost probe is one the network dropped (or the router refused)."""
    seqs = [seq for at, seq in answered(client) if at >= start]
    return sum(b - a - 1 for a, b in pairwise(seqs) if b > a + 1)


def unreachable(client: Process) -> int:
    """``Destination ... Unreachable`` answers the probe got (the router had no route)."""
    return sum("Unreachable" in line for line in client.output().splitlines())


def stop(process: Process) -> None:
    if process.alive():
        Lab.signal(process, signal.SIGTERM)
        try:
            process.popen.wait(10)
        except subprocess.TimeoutExpired:
            Lab.signal(process, signal.SIGKILL)
