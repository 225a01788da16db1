"""``vrrpd lab demo --bgp``: the payment entry point through a routed fabric.

The same client as ``make demo`` (HTTP requests to the VIP at a steady rate, one
connection each), but no shared L2: the VIP is a /32 that FRR routes to whichever load
balancer vrrpd made MASTER (``announce: bgp``), through a router running FRR with BFD
(``vrrpd.lab.bgp``, the topology the BGP lab tests use). Each load balancer serves the
page itself (its name). The drills: a planned handover and back, a failed health check
and its recovery, a graceful stop and a restart, and a crash (frozen, its link cut at
the router, killed). Per drill: requests sent and failed, the longest time without an
answer, and when the router's path moved; ``vrrpd status`` shows what FRR advertises
to the router. Everything is removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from vrrpd.lab import Process, wait_for
from vrrpd.lab.bgp import LINKS, VIP, BgpLab, Fabric, bring_up, path_changes, route_monitor
from vrrpd.lab.demo import LBS, RATE, TIMEOUT, Demo, Drill, report
from vrrpd.lab.peers import vrrpd_binary

ROUTE = {LINKS[name][1]: name for name in LBS}
"""The router's next hop -> the load balancer behind it."""


@dataclass
class BgpDemo(Demo):
    fabric: Fabric | None = None
    monitor: Process | None = None
    acted: float = 0.0
    """When the running drill acted (the router's path moves are counted from it)."""

    @property
    def net(self) -> Fabric:
        assert self.fabric is not None
        return self.fabric

    def holders(self) -> list[str]:
        return [n for n in LBS if n not in self.unplugged and self.net.on_lo(n)]

    def routed_to(self) -> str:
        hop = self.net.lab.best_path()
        return ROUTE.get(hop or "", "nobody")

    def where(self) -> str:
        return f"the VIP is on lo of {self.holder()}, the router routes it to {self.routed_to()}"

    def wait_routed(self, name: str) -> None:
        wait_for(lambda: self.routed_to() == name and self.holders() == [name], timeout=20,
                 what=f"the route to {name}")  # fmt: skip

    def vrrpd(self, name: str, *args: str) -> str:
        socket = str(self.net.configs[name].parent / "vrrpd.sock")
        done = self.lab.exec(
            name, vrrpd_binary(), *args, "--socket", socket, check=False, timeout=20
        )
        return (done.stdout + done.stderr).strip()

    def show_frr(self, since: float) -> None:
        """Each node's ``vrrpd status`` line for the router, once the agent's answer from
        FRR is younger than ``since`` (it asks at most every 5 s)."""
        for name in LBS:
            wait_for(partial(self._answered_since, name, since), timeout=15, interval=0.5,
                     what=f"a fresh answer from {name}'s FRR")  # fmt: skip
            lines = [line.strip() for line in self.vrrpd(name, "status").splitlines()]
            for line in lines:
                if line.startswith("frr"):
                    self.say(f"   {name}$ vrrpd status: ... {line}")

    def _answered_since(self, name: str, since: float) -> bool:
        age = self.net.frr(name)["age"]
        return age is not None and age < time.time() - since

    def act(self, action: Callable[[], object]) -> Callable[[], None]:
        def acting() -> None:
            self.acted = time.time()
            action()

        return acting

    def path_moves(self) -> str:
        """When the router's kernel route for the VIP changed since the drill acted."""
        assert self.monitor is not None
        moves = []
        for at, line in path_changes(self.monitor):
            if at >= self.acted and "Deleted" not in line and " via " in line:
                hop = line.split(" via ")[1].split()[0]
                moves.append(f"to {ROUTE.get(hop, hop)} after {(at - self.acted) * 1000:.0f} ms")
        return ", ".join(moves) or "no change"


def run(
    out: Callable[[str], None] = print, *, inspect: Callable[[BgpDemo], None] | None = None
) -> int:
    """``inspect``: called with the demo once it is over, before the lab is removed (the
    test reads the client's results and the router's path changes)."""
    lab = BgpLab()
    with lab:
        demo = BgpDemo(lab, out, backends=LBS)
        out(
            f"vrrpd demo through a routed fabric ({lab.prefix}-*): the payment entry point.\n"
            f"  client ({RATE:g} HTTP requests/s, one connection each, {TIMEOUT:g} s timeout)\n"
            f"    -> router r (FRR: eBGP to each load balancer, BFD 300 ms x 3)\n"
            f"    -> VIP {VIP}/32 on lo of the MASTER (vrrpd, announce: bgp: lb1 priority 150,\n"
            "       lb2 100, unicast adverts every 100 ms through the router; FRR on each\n"
            "       announces the /32 while it is on lo)\n"
            "    -> the service on lb1 / lb2 (its page names the node)\n"
            "  lb1 198.51.100.2 -- .1 r .5 -- 198.51.100.6 lb2;  r .9 -- 198.51.100.10 client:\n"
            "  no shared L2, no ARP for the VIP: the router's route is the failover.\n"
        )
        demo.fabric = bring_up(lab)
        demo.monitor = route_monitor(lab)
        demo.origin = time.time()
        demo.say("FRR up on r, lb1 and lb2, BGP Established, BFD up; vrrpd: lb1 MASTER "
                 "(times before this are negative)")  # fmt: skip
        demo.show_events()
        demo.show_frr(0.0)
        client = demo.client = lab.start(
            "cl",
            [sys.executable, "-m", "vrrpd.lab.loadgen", VIP, f"{RATE:g}", "0", f"{TIMEOUT:g}"],
            label="client",
        )
        demo.say(f"the client starts; {demo.where()}")
        time.sleep(0.5)
        baseline = Drill("steady state", time.time())
        time.sleep(2.0)
        baseline.ended = time.time()
        net = demo.net

        def handover() -> None:
            demo.say(f"   lb1: vrrpd maintenance on -> {demo.vrrpd('lb1', 'maintenance', 'on')}")

        def hand_back() -> None:
            demo.wait_routed("lb2")
            demo.say(f"   the router's path moved {demo.path_moves()}")
            demo.show_frr(time.time())
            demo.say(f"   lb1: vrrpd maintenance off -> {demo.vrrpd('lb1', 'maintenance', 'off')}")
            demo.wait_routed("lb1")

        demo.drill("planned handover (vrrpd maintenance on), back (off)",
                   demo.act(handover), hand_back)  # fmt: skip

        def recover() -> None:
            demo.wait_routed("lb2")
            demo.say(f"   the router's path moved {demo.path_moves()}")
            time.sleep(1.0)
            net.fail_flag.unlink()
            demo.wait_routed("lb1")

        demo.drill("lb1's health check fails (the route moves), recovers",
                   demo.act(net.fail_flag.touch), recover)  # fmt: skip

        def restart() -> None:
            demo.wait_routed("lb2")
            demo.say(f"   the router's path moved {demo.path_moves()}")
            lab.wait(net.agents["lb1"], 10)
            time.sleep(1.0)
            net.start_agent("lb1", 150)
            demo.wait_routed("lb1")

        demo.drill("graceful stop of lb1 (SIGTERM), started again",
                   demo.act(lambda: lab.signal(net.agents["lb1"], signal.SIGTERM)), restart)  # fmt: skip

        def crash() -> None:
            lab.freeze("lb1")
            lab.cut("lb1")
            demo.unplugged.add("lb1")
            lab.kill_all("lb1")

        def routed_around() -> None:
            demo.wait_routed("lb2")
            demo.say(f"   the router's path moved {demo.path_moves()}")

        demo.drill("lb1 crashes (frozen, link cut at the router, killed)",
                   demo.act(crash), routed_around)  # fmt: skip
        lab.signal(client, signal.SIGTERM)
        lab.wait(client, 5)
        report(out, demo.results(), [baseline, *demo.drills], routed=True)
        if inspect is not None:
            inspect(demo)
    out("lab removed.")
    return 0
