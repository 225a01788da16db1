"""Chaos soak: three nodes, two VRIDs (IPv4 and IPv6), random faults, invariants checked.

Faults, one at a time, each held a random 1 to 3 s and then healed: SIGKILL and
restart, SIGSTOP/SIGCONT of the master, link down/up, a partition (nftables drops
the other nodes' VRRP), random loss of N % of adverts, a flapping health check,
reloads with and without changes, CPU starvation (a busy loop pinned to the
agent's core). A variant puts Keepalived on the third node.

Invariants, checked continuously (every ~50 ms) and reported with timestamps:

* after each heal, exactly one holder per VIP within 3 x advert + 1 s, and it is
  the live node with the highest effective priority;
* an agent that exited holds no VIP; one restarted after SIGKILL holds none of
  the old run's VIPs unless it is master again;
* outside partitions and loss, a VIP never sits on two nodes for longer than one
  advert interval (plus the polling period);
* each agent's fds, threads and RSS stay bounded over the run; no zombies; no
  traceback in any log.

``python -m vrrpd.lab.soak --seconds 1800`` (``make soak``) runs it; the tests run a
60-second profile.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrrpd.lab import Lab, LabError, Process, wait_for
from vrrpd.lab.peers import Peer, start_vrrpd, vrrpd_binary

INTERVAL = 0.1
HEAL_BUDGET = 3 * INTERVAL + 1.0
POLL = 0.05
VIPS = {"v4": "192.0.2.100", "v6": "2001:db8::100"}
PRIORITIES = {"n1": 150, "n2": 120, "n3": 100}
ADDRESS = {"n1": 11, "n2": 12, "n3": 13}
FAULTS = ("kill", "stop", "link", "partition", "loss", "check", "reload", "starve")


def vrrpd_config(lab: Lab, node: str) -> str:
    flag = lab.workdir / f"{node}.down"
    return f"""global:
  router_id: {node}
  control_socket: {lab.workdir}/{node}.sock
  state_file: {lab.workdir}/{node}.state.json
  script_user: root
  script_security: false
scripts:
  chk: {{command: "test ! -e {flag}", interval: 0.2, weight: -60, rise: 1, fall: 1}}
instances:
  v4: {{interface: eth0, vrid: 51, priority: {PRIORITIES[node]}, advert_interval: {INTERVAL},
       virtual_addresses: [{VIPS["v4"]}/24], track_scripts: [chk], garp: {{delay: 1, repeat: 1}}}}
  v6: {{interface: eth0, vrid: 61, priority: {PRIORITIES[node]}, advert_interval: {INTERVAL},
       virtual_addresses: ["{VIPS["v6"]}/64"], track_scripts: [chk], garp: {{delay: 1, repeat: 1}}}}
"""


def keepalived_config(node: str) -> str:
    blocks = ["global_defs {", f"  router_id {node}", "  vrrp_version 3", "}"]
    for name, vrid, vip in (("v4", 51, f"{VIPS['v4']}/24"), ("v6", 61, f"{VIPS['v6']}/64")):
        blocks += [
            f"vrrp_instance {name} {{", "  state BACKUP", "  interface eth0",
            f"  virtual_router_id {vrid}", f"  priority {PRIORITIES[node]}",
            f"  advert_int {INTERVAL}", f"  virtual_ipaddress {{ {vip} }}",
            *(["  native_ipv6"] if name == "v6" else []), "}",
        ]  # fmt: skip
    return "\n".join(blocks) + "\n"


@dataclass
class Violation:
    at: float
    what: str


@dataclass
class Report:
    seconds: float
    keepalived: bool
    faults: dict[str, int] = field(default_factory=dict)
    heal_times: list[float] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    resources: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Node -> fds / threads / rss_kib -> [at start, at end, highest]."""

    def lines(self) -> list[str]:
        heals = sorted(self.heal_times)
        worst = f"{heals[-1]:.2f}" if heals else "-"
        median = f"{heals[len(heals) // 2]:.2f}" if heals else "-"
        out = [
            f"soak: {self.seconds:.0f} s, {'two vrrpd + Keepalived' if self.keepalived else 'three vrrpd'} nodes, "
            f"{sum(self.faults.values())} faults ({', '.join(f'{k} {v}' for k, v in sorted(self.faults.items()))})",
            f"converged after each heal: median {median} s, worst {worst} s (budget {HEAL_BUDGET:.1f} s)",
        ]
        for node, res in sorted(self.resources.items()):
            out.append(
                f"  {node}: "
                + ", ".join(f"{k} {v[0]} -> {v[1]} (max {v[2]})" for k, v in res.items())
            )
        out.append(f"violations: {len(self.violations)}")
        return out + [f"  - t={v.at:.1f}s {v.what}" for v in self.violations]


class Soak:
    def __init__(self, lab: Lab, *, keepalived: bool, seed: int) -> None:
        self.lab = lab
        self.keepalived = keepalived
        self.rng = random.Random(seed)
        self.agents: dict[str, Process] = {}
        self.down: set[str] = set()
        """Nodes whose agent is meant to be dead right now."""
        self.t0 = time.monotonic()
        self.report = Report(0.0, keepalived)
        self._first: dict[str, dict[str, int]] = {}
        self._peak: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------ the cluster

    def impl(self, node: str) -> str:
        return "keepalived" if self.keepalived and node == "n3" else "vrrpd"

    def start(self, node: str) -> None:
        if self.impl(node) == "keepalived":
            conf = self.lab.workdir / f"{node}-keepalived.conf"
            conf.write_text(keepalived_config(node))
            base = self.lab.workdir / f"{node}-keepalived"
            _reap(base)
            argv = ["keepalived", "-n", "-l", "-D", "-P", "-f", str(conf), "-p", f"{base}.pid",
                    "-r", f"{base}.vrrp.pid", "-c", f"{base}.checkers.pid", "--no-syslog"]  # fmt: skip
            self.agents[node] = self.lab.start(node, argv, label="keepalived")
            return
        text = vrrpd_config(self.lab, node)
        self.agents[node] = start_vrrpd(self.lab, Peer(node, PRIORITIES[node]), text=text)
        agent = self.agents[node]
        wait_for(
            lambda: self.status(node) is not None or not agent.alive(), timeout=10, what=f"{node}"
        )
        if not agent.alive():
            raise LabError(f"{node}'s vrrpd exited: {agent.output()[-1500:]}")

    def status(self, node: str) -> dict[str, Any] | None:
        sock = str(self.lab.workdir / f"{node}.sock")
        done = self.lab.exec(
            node, vrrpd_binary(), "status", "--json", "--socket", sock, check=False
        )
        return json.loads(done.stdout) if done.returncode == 0 else None

    def check_priorities(self) -> None:
        """Healed, every vrrpd node is back at its configured priority within a check round
        (a check heals on its next run, 0.2 s apart)."""
        for node, priority in PRIORITIES.items():
            if self.impl(node) != "vrrpd":
                continue
            got: dict[str, Any] = {}
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                doc = self.status(node) or {}
                got = {n: i.get("effective_priority") for n, i in doc.get("instances", {}).items()}
                if set(got.values()) == {priority}:
                    break
                time.sleep(POLL)
            else:
                self.violation(f"{node}: effective priorities {got} 1 s after the heal")

    def holders(self) -> dict[str, list[str]]:
        present = {n: self.lab.addresses(n) for n in PRIORITIES}
        return {k: sorted(n for n in PRIORITIES if vip in present[n]) for k, vip in VIPS.items()}

    def violation(self, what: str) -> None:
        found = Violation(time.monotonic() - self.t0, what)
        self.report.violations.append(found)
        print(f"violation at t={found.at:.1f}s: {what}", flush=True)  # kept even if the run dies

    # ------------------------------------------------------------ watching

    def watch(self, seconds: float, *, split_allowed: bool) -> None:
        """Poll holders for ``seconds``; two holders for longer than one interval is a
        violation unless the current fault may split the cluster."""
        end = time.monotonic() + seconds
        since: dict[str, float] = {}
        while time.monotonic() < end:
            now = time.monotonic()
            for key, nodes in self.holders().items():
                if len(nodes) > 1 and not split_allowed:
                    since.setdefault(key, now)
                    if now - since[key] > INTERVAL + 2 * POLL:
                        self.violation(
                            f"{VIPS[key]} on {nodes} for {now - since[key]:.2f} s outside a partition"
                        )
                        since[key] = now + 10  # one report per episode
                else:
                    since.pop(key, None)
            for node, agent in self.agents.items():
                if not agent.alive() and node not in self.down:
                    self.violation(f"{node}'s {self.impl(node)} died: {agent.output()[-3000:]}")
                    self.down.add(node)  # reported once; restarted below, else left out
                    try:
                        self.start(node)
                        self.down.discard(node)
                    except LabError as error:
                        self.violation(f"{node} could not be restarted: {error}")
            time.sleep(POLL)

    def converge(self, fault: str) -> None:
        """After a heal: one holder per VIP, the expected node, within the budget."""
        healed = time.monotonic()
        want = max(PRIORITIES, key=lambda n: PRIORITIES[n])  # healed: everyone at full priority
        last: dict[str, list[str]] = {}
        while time.monotonic() - healed < HEAL_BUDGET + 3.0:
            last = self.holders()
            if all(nodes == [want] for nodes in last.values()):
                took = time.monotonic() - healed
                self.report.heal_times.append(took)
                budget = HEAL_BUDGET + (0.4 if fault == "check" else 0.0)  # one check interval more
                if took > budget:
                    self.violation(
                        f"after {fault}: {took:.2f} s to converge on {want} (budget {budget:.1f} s)"
                    )
                self.check_priorities()
                return
            time.sleep(POLL / 2)
        self.violation(f"after {fault}: no convergence on {want}; holders {last}")

    # ------------------------------------------------------------ faults

    def run(self, seconds: float) -> Report:
        for node in PRIORITIES:
            self.start(node)
        self.converge("start")
        self.report.heal_times.clear()
        self._sample()
        while time.monotonic() - self.t0 < seconds:
            fault = self.rng.choice(FAULTS)
            node = self.rng.choice(list(PRIORITIES)) if fault != "stop" else self.master() or "n1"
            if self.impl(node) == "keepalived" and fault in ("check", "reload"):
                continue
            if node in self.down:
                continue
            self.report.faults[fault] = self.report.faults.get(fault, 0) + 1
            getattr(self, f"_{fault}")(node)
            self._sample()
        self.report.seconds = time.monotonic() - self.t0
        self._finish()
        return self.report

    def master(self) -> str | None:
        nodes = self.holders()["v4"]
        return nodes[0] if len(nodes) == 1 else None

    def _hold(self) -> float:
        return self.rng.uniform(1.0, 3.0)

    def _kill(self, node: str) -> None:
        self.down.add(node)
        self.lab.signal(self.agents[node], signal.SIGKILL)
        self.lab.wait(self.agents[node], 5)
        if self.impl(node) == "keepalived":
            _reap(self.lab.workdir / f"{node}-keepalived")  # the whole daemon, children too
        self.watch(self._hold(), split_allowed=True)  # its VIP stays behind until restart
        self.start(node)
        self.down.discard(node)
        self.converge("kill and restart")

    def _stop(self, node: str) -> None:
        self.lab.signal(self.agents[node], signal.SIGSTOP)
        self.watch(self._hold(), split_allowed=True)  # frozen, it keeps its VIP
        self.lab.signal(self.agents[node], signal.SIGCONT)
        self.converge("SIGSTOP/SIGCONT")

    def _link(self, node: str) -> None:
        self.lab.link(node, False)
        self.watch(self._hold(), split_allowed=False)
        self.lab.link(node, True)
        self.converge("link down/up")

    def _nft(self, node: str, rule: str | None) -> None:
        """Replace the node's chaos table with one input ``rule`` (None: no table)."""
        ns = self.lab.nodes[node].namespace
        nft = ["ip", "netns", "exec", ns, "nft"]
        subprocess.run([*nft, "delete", "table", "inet", "chaos"], capture_output=True, check=False)
        if rule is not None:
            script = (
                "table inet chaos {\n chain input {\n  type filter hook input priority 0;\n"
                f"  {rule}\n }}\n}}\n"
            )
            subprocess.run(
                [*nft, "-f", "-"], input=script, text=True, check=True, capture_output=True
            )

    def _partition(self, node: str) -> None:
        self._nft(node, "meta l4proto 112 drop")
        self.watch(self._hold(), split_allowed=True)
        self._nft(node, None)
        self.converge("partition")

    def _loss(self, node: str) -> None:
        percent = self.rng.choice((10, 30, 50))
        self._nft(node, f"meta l4proto 112 numgen random mod 100 < {percent} drop")
        self.watch(self._hold(), split_allowed=True)
        self._nft(node, None)
        self.converge(f"{percent} % loss")

    def _check(self, node: str) -> None:
        flag = self.lab.workdir / f"{node}.down"
        flag.touch()
        self.watch(self._hold(), split_allowed=False)
        flag.unlink()
        self.converge("check")

    def _reload(self, node: str) -> None:
        path = self.lab.workdir / f"{node}.yaml"
        text = path.read_text()
        changed = self.rng.random() < 0.5
        if changed:
            text = (
                text.replace("repeat: 1}", "repeat: 2}")
                if "repeat: 1}" in text
                else text.replace("repeat: 2}", "repeat: 1}")
            )
            path.write_text(text)
        self.lab.signal(self.agents[node], signal.SIGHUP)
        self.watch(self._hold(), split_allowed=False)
        self.converge("reload" + (" with a change" if changed else ""))

    def _starve(self, node: str) -> None:
        agent = self.agents[node]
        cpu = self.rng.choice(sorted(os.sched_getaffinity(0)))
        before = os.sched_getaffinity(agent.pid)
        os.sched_setaffinity(agent.pid, {cpu})
        hog = subprocess.Popen(
            ["taskset", "-c", str(cpu), sys.executable, "-c", "while True: pass"],
            start_new_session=True,
        )
        try:
            self.watch(self._hold(), split_allowed=False)
        finally:
            hog.kill()
            hog.wait()
            if agent.alive():
                os.sched_setaffinity(agent.pid, before)
        self.converge("CPU starvation")

    # ------------------------------------------------------------ resources

    def _sample(self) -> None:
        for node, agent in self.agents.items():
            if self.impl(node) != "vrrpd" or not agent.alive():
                continue
            now = _resources(agent.pid)
            if node not in self._first or self._first[node]["pid"] != agent.pid:
                self._first[node] = now
                self._peak[node] = dict(now)
            for key, value in now.items():
                self._peak[node][key] = max(self._peak[node][key], value)

    def _finish(self) -> None:
        for node, agent in self.agents.items():
            if self.impl(node) != "vrrpd" or node not in self._first:
                continue
            end, first = _resources(agent.pid), self._first[node]
            self.report.resources[node] = {
                k: [first[k], end[k], self._peak[node][k]] for k in ("fds", "threads", "rss_kib")
            }
            if end["fds"] > first["fds"] + 8 or end["threads"] > first["threads"] + 4:
                self.violation(f"{node}: fds/threads grew {first} -> {end}")
            if end["rss_kib"] > first["rss_kib"] * 1.5 + 8192:
                self.violation(f"{node}: RSS grew {first['rss_kib']} -> {end['rss_kib']} KiB")
            if end["zombies"]:
                self.violation(f"{node}: {end['zombies']} zombie children")
        for node, agent in self.agents.items():
            if "Traceback" in agent.output():
                self.violation(f"{node}: a traceback in the log")


def _reap(base: Path) -> None:
    """Keepalived's VRRP and checker children outlive a SIGKILL of their parent, and their
    pid files then refuse a restart: stop them by the PIDs Keepalived recorded (processes
    this lab started), then remove the files."""
    for suffix in (".pid", ".vrrp.pid", ".checkers.pid"):
        path = Path(f"{base}{suffix}")
        try:
            pid = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"keepalived" in cmdline.read_bytes():
            os.kill(pid, signal.SIGKILL)
        path.unlink(missing_ok=True)


def _resources(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    zombies = 0
    for child in Path("/proc").glob("[0-9]*"):
        try:
            stat = (child / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] == "Z" and int(stat[1]) == pid:
            zombies += 1
    return {
        "pid": pid,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"]),
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "zombies": zombies,
    }


def soak(seconds: float, *, keepalived: bool = False, seed: int = 9568) -> Report:
    with Lab() as lab:
        for node, i in ADDRESS.items():
            lab.add_node(node, f"192.0.2.{i}", f"2001:db8::{i}")
        return Soak(lab, keepalived=keepalived, seed=seed).run(seconds)


@dataclass
class Restarts:
    count: int
    seconds: float = 0.0
    stale_seen: int = 0
    """Samples where the restarted node held the VIP without being master."""
    violations: list[Violation] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"kill -9 of the master, then restart: {self.count} times in {self.seconds:.0f} s; "
            f"stale VIP seen {self.stale_seen} times",
            f"violations: {len(self.violations)}",
            *[f"  - t={v.at:.1f}s {v.what}" for v in self.violations],
        ]


def restarts(count: int) -> Restarts:
    """Kill the master with SIGKILL ``count`` times: each time the backup takes over, and
    the restarted agent removes the VIP the dead one left behind before anything else,
    then takes it back by preemption. A VIP on the restarted node while it is not master
    is a stale VIP: never allowed."""
    report = Restarts(count)
    t0 = time.monotonic()
    with Lab() as lab:
        for node, i in (("n1", 11), ("n2", 12)):
            lab.add_node(node, f"192.0.2.{i}", f"2001:db8::{i}")
        soak = Soak(lab, keepalived=False, seed=0)
        for node in ("n1", "n2"):
            soak.start(node)
        vip = VIPS["v4"]
        wait_for(lambda: lab.holders(vip) == ["n1"], timeout=10, what="n1 master")
        for round_ in range(count):
            lab.crash(soak.agents["n1"])
            wait_for(lambda: vip in lab.addresses("n2"), timeout=5, what="n2 taking over")
            soak.start("n1")  # returns once it answers: stale VIPs are already removed
            while True:
                # Addresses, state, addresses: a preemption between two reads must not pass
                # for a stale VIP; one seen on both sides of a BACKUP answer is one.
                held_before = vip in lab.addresses("n1")
                doc = soak.status("n1") or {}
                state = doc.get("instances", {}).get("v4", {}).get("state")
                held = held_before and vip in lab.addresses("n1")
                if held and state != "MASTER":
                    report.stale_seen += 1
                    report.violations.append(
                        Violation(
                            time.monotonic() - t0, f"round {round_}: n1 holds {vip} as {state}"
                        )
                    )
                    break
                if state == "MASTER" and held:
                    break
                time.sleep(POLL / 5)
            wait_for(lambda: lab.holders(vip) == ["n1"], timeout=5, what="n1 alone again")
    report.seconds = time.monotonic() - t0
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--keepalived", action="store_true", help="Keepalived on the third node")
    parser.add_argument("--seed", type=int, default=9568)
    parser.add_argument("--restarts", type=int, help="instead: kill -9 the master this often")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    result: Report | Restarts = (
        restarts(args.restarts)
        if args.restarts
        else soak(args.seconds, keepalived=args.keepalived, seed=args.seed)
    )
    for line in result.lines():
        print(line, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(as_json(result), indent=1, sort_keys=True) + "\n")
    return 1 if result.violations else 0


def as_json(result: Report | Restarts) -> dict[str, Any]:
    """A report as plain data (docs/data/, and ``--json``)."""
    return {**result.__dict__, "violations": [dict(v.__dict__) for v in result.violations]}


if __name__ == "__main__":
    raise SystemExit(main())
