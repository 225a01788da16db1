"""``make demo``: the failover drill on real sockets in a network-namespace lab.

Two vrrpd nodes (lb1 priority 150, lb2 priority 100, VRRPv3, 100 ms adverts) and a
client that pings the VIP every 10 ms. Each step prints what the agents logged and
the outage the client saw (the longest gap between two echo replies). Everything
is removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.lab import Lab, LabError, Process, outage, replies, wait_for
from vrrpd.lab.peers import Peer, start_vrrpd

VIP = "192.0.2.100"
PING_INTERVAL = 0.01
_STATE = re.compile(r"^(\S+ \d\d:\d\d:\d\d,\d+) INFO \[web eth0 v4\] (.*)$")


@dataclass
class Step:
    title: str
    started: float
    ended: float = 0.0
    holder: str = ""


def holder(lab: Lab, unplugged: set[str]) -> str:
    """Who holds the VIP among the nodes still on the wire."""
    owners = [n for n in ("lb1", "lb2") if n not in unplugged and VIP in lab.addresses(n)]
    return ",".join(owners) or "nobody"


def log_events(process: Process, name: str) -> list[tuple[float, str, str]]:
    """(epoch, node, text) of every state change an agent logged."""
    events = []
    for line in process.output().splitlines():
        match = _STATE.match(line)
        if match and "->" in match.group(2):
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # noqa: DTZ007 - local, like the log
            events.append((stamp, name, match.group(2)))
    return events


def run() -> int:
    out = sys.stdout
    with Lab() as lab:
        lab.add_node("lb1", "192.0.2.11", "2001:db8::11")
        lab.add_node("lb2", "192.0.2.12", "2001:db8::12")
        lab.add_node("client", "192.0.2.50", "2001:db8::50")
        lb1, lb2 = Peer("lb1", 150), Peer("lb2", 100)
        mdi = master_down_interval(100, 10, 3)
        out.write(
            f"vrrpd failover drill in a network-namespace lab ({lab.prefix}-*): lb1 (priority 150) and\n"
            f"lb2 (priority 100), VRRPv3 every 100 ms, VIP {VIP}; the client pings it every 10 ms.\n"
            f"lb2's Master_Down_Interval is {mdi * 1000:.1f} ms, its Skew_Time {skew_time(100, 10, 3) * 1000:.1f} ms.\n\n"
        )
        probe = lab.start(
            "client",
            ["ping", "-n", "-D", "-i", f"{PING_INTERVAL}", "-W", "0.05", VIP],
            label="ping",
        )
        steps: list[Step] = []
        agents: dict[str, Process] = {}
        unplugged: set[str] = set()

        def step(title: str, action: object, until: str) -> None:
            current = Step(title, time.time())
            if callable(action):
                action()
            wait_for(
                lambda: holder(lab, unplugged) == until, timeout=15, what=f"{until} to hold the VIP"
            )
            time.sleep(1.0)  # let the client settle before measuring
            current.ended, current.holder = time.time(), holder(lab, unplugged)
            steps.append(current)

        def start_both() -> None:
            agents["lb2"] = start_vrrpd(lab, lb2)
            agents["lb1"] = start_vrrpd(lab, lb1)

        def crash() -> None:
            unplugged.add("lb1")
            lab.crash(agents["lb1"], unplug="lb1")

        def come_back() -> None:
            if VIP in lab.addresses("lb1"):  # the crash left it; a reboot would clear it
                lab.ip(lab.nodes["lb1"].namespace, "addr", "del", f"{VIP}/24", "dev", "eth0")
            lab.plug("lb1")
            unplugged.discard("lb1")
            agents["lb1"] = start_vrrpd(lab, lb1)

        def graceful() -> None:
            lab.signal(agents["lb1"], signal.SIGTERM)

        step("election (both start)", start_both, "lb1")
        step("master crash (lb1 frozen, killed, unplugged)", crash, "lb2")
        step("lb1 returns and preempts", come_back, "lb1")
        step("graceful stop of lb1 (SIGTERM, priority 0)", graceful, "lb2")

        times = replies(probe)
        origin = steps[0].started
        out.write("timeline (seconds from the start):\n")
        events = [
            e
            for name in ("lb1", "lb2")
            for process in lab.nodes[name].processes
            for e in log_events(process, name)
        ]
        events += [(s.started, "--", s.title) for s in steps]
        for stamp, name, text in sorted(events):
            out.write(f"  {stamp - origin:8.3f}  {name:3}  {text}\n")
        out.write(f"\n  {'step':46} {'VIP holder':10} {'client outage':>13}\n")
        for index, current in enumerate(steps):
            if index == 0:
                first = next((t for t in times if t >= current.started), None)
                shown = f"first reply {first - current.started:.3f} s" if first else "no reply"
            else:
                shown = f"{outage(times, current.started, current.ended) * 1000:9.1f} ms"
            out.write(f"  {current.title:46} {current.holder:10} {shown:>13}\n")
        out.write(f"\n{len(times)} echo replies; lab removed.\n")
    return 0


def main() -> int:
    try:
        return run()
    except LabError as error:
        sys.stderr.write(f"demo failed: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
