"""``make demo`` / ``vrrpd lab demo``: our users' payment entry point, run for real.

Clients -> a VIP held by vrrpd on two load balancers (lb1 priority 150, lb2 100,
VRRPv3 every 100 ms) -> nginx on each, round-robin over three application servers
(``proxy_next_upstream`` on errors) -> the application (app1..app3 answer with their
name). A client sends HTTP requests to the VIP at a steady rate, one connection each.
The drills: a backend dies; nginx dies on the master (check_http moves the VIP) and
returns; the master node crashes and returns; a planned handover (``vrrpd
maintenance``) and back; a graceful stop. Per drill and overall: requests sent and
failed, the client-observed outage, availability (time in service / total time),
throughput (responses/s) and mean and p99 response time. Everything is removed at
the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import itertools
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vrrpd.lab import Lab, LabError, Process, wait_for
from vrrpd.lab.loadgen import Result, parse
from vrrpd.lab.peers import Peer, scripts_dir, start_nginx, start_vrrpd, vrrpd_binary

VIP = "192.0.2.100"
RATE = 200.0
"""Requests per second the client sends."""
TIMEOUT = 1.0
"""A request without a 200 within this is failed."""
SETTLE = 2.0
"""Seconds of steady service each drill's window keeps after the drill is over."""
LBS = ("lb1", "lb2")
APPS = {"app1": "192.0.2.21", "app2": "192.0.2.22", "app3": "192.0.2.23"}
_LOG = re.compile(r"^(\S+ \d\d:\d\d:\d\d,\d+) \w+ (.*)$")


@dataclass
class Drill:
    title: str
    started: float
    ended: float = 0.0


@dataclass
class Figures:
    """What the client saw in a window of time."""

    sent: int
    failed: int
    outage: float
    """Seconds: the longest time between two successful responses."""
    availability: float
    throughput: float
    mean_ms: float
    p99_ms: float

    @staticmethod
    def of(results: Sequence[Result], start: float, end: float) -> Figures:
        window = sorted((r for r in results if start <= r.sent < end), key=lambda r: r.sent)
        good = [r for r in window if r.ok]
        done = sorted(r.sent + r.ms / 1000 for r in good)
        edges = [start, *done, end]
        longest = max((b - a for a, b in itertools.pairwise(edges)), default=end - start)
        latencies = sorted(r.ms for r in good)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
        return Figures(
            sent=len(window),
            failed=len(window) - len(good),
            outage=max(0.0, longest - 1 / RATE),
            availability=availability(window, start, end),
            throughput=len(good) / (end - start) if end > start else 0.0,
            mean_ms=sum(latencies) / len(latencies) if latencies else 0.0,
            p99_ms=p99,
        )


def availability(window: Sequence[Result], start: float, end: float) -> float:
    """Time in service / total time: out of service from a failed request that follows a
    success until the next request that succeeds (the client's own view, at the
    resolution of its request rate)."""
    down = 0.0
    since: float | None = None
    for r in window:
        if not r.ok and since is None:
            since = r.sent
        elif r.ok and since is not None:
            down += r.sent - since
            since = None
    if since is not None:
        down += end - since
    return 1.0 - down / (end - start) if end > start else 1.0


@dataclass
class Demo:
    lab: Lab
    out: Callable[[str], None]
    origin: float = field(default_factory=time.time)
    agents: dict[str, Process] = field(default_factory=dict)
    nginx: dict[str, Process] = field(default_factory=dict)
    drills: list[Drill] = field(default_factory=list)
    shown: int = 0
    """How many agent log lines have been printed."""
    unplugged: set[str] = field(default_factory=set)
    client: Process | None = None
    backends: tuple[str, ...] = tuple(APPS)
    """What answers the client's requests (the body names it)."""

    def results(self) -> list[Result]:
        lines = self.client.output().splitlines() if self.client else []
        return [r for line in lines if (r := parse(line))]

    def say(self, text: str) -> None:
        self.out(f"[{time.time() - self.origin:7.2f} s] {text}")

    def peer(self, name: str) -> Peer:
        check = (
            f"{{command: {scripts_dir()}/check_http.sh http://127.0.0.1/health 200 1, "
            "interval: 0.2, timeout: 1, fall: 2, rise: 2, weight: -60}"
        )
        priority = 150 if name == "lb1" else 100
        return Peer(
            name, priority, scripts={"chk_nginx": check}, extra={"track_scripts": "[chk_nginx]"}
        )

    def start_lb(self, name: str) -> None:
        self.nginx[name] = start_nginx(self.lab, name, list(APPS.values()))
        self.agents[name] = start_vrrpd(self.lab, self.peer(name))

    def holders(self) -> list[str]:
        """Who holds the VIP among the nodes on the wire (a crashed node keeps it)."""
        return [n for n in LBS if n not in self.unplugged and VIP in self.lab.addresses(n)]

    def holder(self) -> str:
        return ",".join(self.holders()) or "nobody"

    def where(self) -> str:
        """Where the VIP is, for the line after each drill."""
        return f"the VIP is on {self.holder()}"

    def wait_holder(self, name: str) -> None:
        wait_for(lambda: self.holders() == [name], timeout=20, what=f"{name} to hold {VIP}")

    def show_events(self) -> None:
        every = self.events()
        for when, name, text in every[self.shown :]:
            self.out(f"[{when - self.origin:7.2f} s]     {name}: {text}")
        self.shown = len(every)

    def events(self) -> list[tuple[float, str, str]]:
        """Every state change and check flip the agents logged, (epoch, node, text)."""
        out = []
        for name in LBS:
            for process in self.lab.nodes[name].processes:
                if process.name != "vrrpd":
                    continue
                for line in process.output().splitlines():
                    m = _LOG.match(line)
                    if m and (
                        " -> " in m.group(2)
                        or "check " in m.group(2)
                        or "maintenance" in m.group(2)
                    ):
                        when = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # noqa: DTZ007 - local, like the log
                        out.append((when, name, m.group(2)))
        return sorted(out)

    def drill(self, title: str, act: Callable[[], None], settle: Callable[[], None]) -> None:
        current = Drill(title, time.time())
        self.say(f"drill {len(self.drills) + 1}: {title}")
        act()
        settle()
        time.sleep(SETTLE)  # steady service again before the window closes
        current.ended = time.time()
        self.drills.append(current)
        self.show_events()
        window = [r for r in self.results() if current.started <= r.sent < current.ended]
        f = Figures.of(window, current.started, current.ended)
        answered = Counter(r.app.removeprefix("served by ") for r in window if r.ok)
        apps = ", ".join(f"{a} {answered.get(a, 0)}" for a in self.backends)
        self.say(
            f"   {self.where()}; {f.sent} requests, {f.failed} failed, longest without an "
            f"answer {f.outage * 1000:.0f} ms; answers from {apps}"
        )

    def vrrpd(self, name: str, *args: str) -> str:
        sock = str(self.lab.workdir / f"{name}.sock")
        done = self.lab.exec(name, vrrpd_binary(), *args, "--socket", sock, check=False, timeout=20)
        return (done.stdout + done.stderr).strip()


def run(out: Callable[[str], None] = print) -> int:
    with Lab() as lab:
        for name, address in (("lb1", "192.0.2.11"), ("lb2", "192.0.2.12"), *APPS.items()):
            lab.add_node(name, address, f"2001:db8::{address.rsplit('.', 1)[1]}")
        lab.add_node("client", "192.0.2.50", "2001:db8::50")
        lab.sysctl(lab.nodes["client"].namespace, "net.ipv4.ip_local_port_range", "1024 65000")
        demo = Demo(lab, out)
        out(
            f"vrrpd demo in a network-namespace lab ({lab.prefix}-*): the payment entry point.\n"
            f"  client ({RATE:g} HTTP requests/s, one connection each, {TIMEOUT:g} s timeout)\n"
            f"    -> VIP {VIP} (vrrpd: lb1 priority 150, lb2 100, VRRPv3 every 100 ms;\n"
            "       check_http on the local nginx every 0.2 s, fall 2, weight -60)\n"
            "    -> nginx on lb1 / lb2 (round-robin, proxy_next_upstream error timeout)\n"
            f"    -> app1, app2, app3\n"
        )
        apps = {name: start_nginx(lab, name) for name in APPS}
        for name in LBS:
            demo.start_lb(name)
        demo.wait_holder("lb1")
        wait_for(lambda: "UP" in demo.vrrpd("lb1", "status"), timeout=10, what="lb1's check up")
        demo.say("both load balancers started (times before the client starts are negative)")
        demo.origin = time.time()
        demo.show_events()
        client = demo.client = lab.start(
            "client",
            [sys.executable, "-m", "vrrpd.lab.loadgen", VIP, f"{RATE:g}", "0", f"{TIMEOUT:g}"],
            label="client",
        )
        demo.say(f"the client starts; the VIP is on {demo.holder()}")
        time.sleep(0.5)  # its first connections
        baseline = Drill("steady state", time.time())
        time.sleep(2.0)
        baseline.ended = time.time()

        def restart_app2() -> None:
            time.sleep(3.0)
            apps["app2"] = start_nginx(lab, "app2")

        demo.drill("app2 dies (nginx balances around it), back 3 s later",
                   lambda: lab.crash(apps["app2"]), restart_app2)  # fmt: skip

        def nginx_back() -> None:
            demo.wait_holder("lb2")
            time.sleep(1.0)
            demo.nginx["lb1"] = start_nginx(lab, "lb1", list(APPS.values()))
            demo.wait_holder("lb1")

        demo.drill("nginx dies on lb1 (check fails: the VIP moves), back",
                   lambda: lab.crash(demo.nginx["lb1"]), nginx_back)  # fmt: skip

        def crash() -> None:
            lab.crash(demo.nginx["lb1"])
            demo.unplugged.add("lb1")
            lab.crash(demo.agents["lb1"], unplug="lb1")

        def reboot() -> None:
            demo.wait_holder("lb2")
            time.sleep(1.0)
            if VIP in lab.addresses("lb1"):  # a reboot clears what the crash left
                lab.ip(lab.nodes["lb1"].namespace, "addr", "del", f"{VIP}/24", "dev", "eth0")
            lab.plug("lb1")
            demo.unplugged.discard("lb1")
            demo.start_lb("lb1")
            demo.wait_holder("lb1")

        demo.drill("lb1 crashes (frozen, killed, link cut), comes back",
                   crash, reboot)  # fmt: skip

        def handover() -> None:
            demo.say(f"   lb1: vrrpd maintenance on -> {demo.vrrpd('lb1', 'maintenance', 'on')}")

        def hand_back() -> None:
            demo.wait_holder("lb2")
            time.sleep(1.0)
            demo.say(f"   lb1: vrrpd maintenance off -> {demo.vrrpd('lb1', 'maintenance', 'off')}")
            demo.wait_holder("lb1")

        demo.drill("planned handover (vrrpd maintenance on), back (off)", handover, hand_back)
        demo.drill("graceful stop of lb1 (SIGTERM: priority 0)",
                   lambda: lab.signal(demo.agents["lb1"], signal.SIGTERM),
                   lambda: demo.wait_holder("lb2"))  # fmt: skip
        lab.signal(client, signal.SIGTERM)
        lab.wait(client, 5)
        report(out, demo.results(), [baseline, *demo.drills])
    out("lab removed.")
    return 0


def report(
    out: Callable[[str], None],
    results: Sequence[Result],
    drills: Sequence[Drill],
    *,
    routed: bool = False,
) -> None:
    """The table per drill and overall. ``routed``: the BGP demo, where each load
    balancer serves the requests itself (no nginx header, the body names it)."""
    head = f"  {'':58} {'sent':>6} {'failed':>6} {'outage':>9} {'avail.':>8} {'resp/s':>7} {'mean':>7} {'p99':>7}"
    out("\n" + head)
    rows = [(d.title, Figures.of(results, d.started, d.ended)) for d in drills]
    start, end = drills[0].started, drills[-1].ended
    overall = Figures.of(results, start, end)
    for title, f in [*rows, ("overall", overall)]:
        out(
            f"  {title[:58]:58} {f.sent:6d} {f.failed:6d} {f.outage * 1000:7.1f}ms"
            f" {f.availability * 100:7.3f}% {f.throughput:7.1f} {f.mean_ms:5.2f}ms {f.p99_ms:5.2f}ms"
        )
    served = {r.lb for r in results if r.ok}
    apps = {r.app.removeprefix("served by ") for r in results if r.ok}
    by = f"{', '.join(sorted(apps))}" if routed else (
        f"{', '.join(sorted(served))} from {', '.join(sorted(apps))}")  # fmt: skip
    out(
        f"\nThe entry point was in service {overall.availability * 100:.3f} % of {end - start:.1f} s: "
        f"{overall.sent - overall.failed} of {overall.sent} requests answered "
        f"({overall.failed} failed), by {by}; "
        f"the longest the client went without an answer: {overall.outage * 1000:.0f} ms."
    )


def main(*, bgp: bool = False) -> int:
    """``bgp``: the same entry point through a routed fabric (``vrrpd.lab.bgp_demo``)."""
    try:
        if bgp:
            from vrrpd.lab import bgp_demo  # noqa: PLC0415  (FRR's lab only when asked)

            return bgp_demo.run()
        return run()
    except LabError as error:
        sys.stderr.write(f"demo failed: {error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("demo interrupted; lab removed\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
