"""``make bench``: vrrpd next to Keepalived in one run, reported as ratios.

* takeover latency: two nodes of one implementation, VRRPv3 every 100 ms; the
  master is frozen, unplugged and killed; the sniffer on the switch timestamps
  the master's last advert and the backup's first. Latency = that gap minus
  Master_Down_Interval (what the RFC makes every implementation wait).
* resident memory of the agent (all its processes) once it is master.
* the CPU cost of one round of process tracking (psutil over /proc), which
  vrrpd does once a second per agent when ``track_processes`` is used.

Root is needed (labs). Runs take about a minute; ``--runs N`` for more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import psutil

from vrrpd.adapters.trackers import count_processes
from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.lab import Lab, Process, handover, rss, scale, wait_for
from vrrpd.lab.peers import Peer, start_keepalived, start_vrrpd

VIP = "192.0.2.100"
SOURCES = {"n1": "192.0.2.11", "n2": "192.0.2.12"}
STARTERS: dict[str, Callable[[Lab, Peer], Process]] = {
    "vrrpd": start_vrrpd,
    "keepalived": start_keepalived,
}


def one_run(impl: str) -> tuple[float, int]:
    """(takeover latency beyond Master_Down_Interval in seconds, master's RSS in bytes)."""
    with Lab() as lab:
        for name, i in (("n1", 11), ("n2", 12)):
            lab.add_node(name, f"192.0.2.{i}", f"2001:db8::{i}")
        sniffer = lab.start_sniffer(sys.executable)
        master = STARTERS[impl](lab, Peer("n1", 150))
        STARTERS[impl](lab, Peer("n2", 100))
        wait_for(
            lambda: VIP in lab.addresses("n1") and VIP not in lab.addresses("n2"),
            timeout=15,
            what="n1 master",
        )
        time.sleep(1.0)
        memory = rss(master)
        lab.crash(master, unplug="n1")
        wait_for(lambda: VIP in lab.addresses("n2"), timeout=10, what="takeover")
        time.sleep(0.3)
        records = [r for r in lab.adverts(sniffer) if "error" not in r]
        last = max(r["t"] for r in records if r["src"] == SOURCES["n1"] and r["priority"] > 0)
        first = min(r["t"] for r in records if r["src"] == SOURCES["n2"] and r["t"] > last)
        return first - last - master_down_interval(100, 10, 3), memory


def process_poll_cost(rounds: int = 50) -> float:
    """CPU seconds for one round of counting processes by name and command line."""
    start = time.process_time()
    for _ in range(rounds):
        count_processes(["haproxy", "/usr/sbin/nginx -g"])
    return (time.process_time() - start) / rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--instances", type=int, default=200, help="for the scale run")
    args = parser.parse_args(argv)
    results: dict[str, tuple[list[float], list[int]]] = {}
    for impl in STARTERS:
        latencies, memories = [], []
        for _ in range(args.runs):
            latency, memory = one_run(impl)
            latencies.append(latency)
            memories.append(memory)
        results[impl] = (latencies, memories)

    def ms(values: list[float]) -> str:
        return (
            f"median {statistics.median(values) * 1000:6.2f} ms, max {max(values) * 1000:6.2f} ms"
        )

    mdi = master_down_interval(100, 10, 3) * 1000
    print(
        f"takeover after the master's last advert, beyond Master_Down_Interval ({mdi:.1f} ms), {args.runs} runs each:"
    )
    for impl, (latencies, _) in results.items():
        print(f"  {impl:10} {ms(latencies)}")
    v, k = (statistics.median(results[i][0]) for i in ("vrrpd", "keepalived"))
    print(
        f"  ratio vrrpd/keepalived (median extra latency): {v / k:.2f}"
        if k > 0
        else "  keepalived median is 0"
    )
    print("resident memory of the agent as master:")
    for impl, (_, memories) in results.items():
        print(f"  {impl:10} median {statistics.median(memories) / 2**20:6.1f} MiB")
    vm, km = (statistics.median(results[i][1]) for i in ("vrrpd", "keepalived"))
    print(f"  ratio vrrpd/keepalived: {vm / km:.2f}")
    cost = process_poll_cost()
    count = len(psutil.pids())
    print(f"process tracking: {cost * 1000:.2f} ms CPU per round over {count} processes "
          f"= {cost * 100:.2f} % of one core at one round per second")  # fmt: skip
    print_scale(args.instances)
    print_outages(args.runs)
    return 0


def print_outages(runs: int) -> None:
    """Issue 9's targets, beside Keepalived in this same run."""
    print(f"planned handover, client ping every 2 ms, median of {runs} (vrrpd: maintenance on; "
          "keepalived: SIGTERM):")  # fmt: skip
    for interval in (1.0, 0.1, 0.01):
        timed = {
            impl: [handover.handover_timed(impl, interval) for _ in range(runs)]
            for impl in STARTERS
        }
        v = statistics.median(o for o, _ in timed["vrrpd"])
        k = statistics.median(o for o, _ in timed["keepalived"])
        done = statistics.median(t for _, t in timed["vrrpd"])
        bound = skew_time(100, round(interval * 100), 3) + interval
        print(f"  adverts every {interval:g} s: vrrpd {v * 1000:7.1f} ms, keepalived {k * 1000:7.1f} ms; "
              f"vrrpd's handover done in {done:.3f} s (Skew_Time + one interval: {bound:.3f} s, "
              "plus the command's own start-up)")  # fmt: skip
    got = {
        impl: statistics.median(handover.check_failover(impl) for _ in range(runs))
        for impl in STARTERS
    }
    ratio = got["vrrpd"] / got["keepalived"] if got["keepalived"] else float("nan")
    print(f"nginx killed on the master (check 1 s, fall 2, weight -50, adverts 1 s), HTTP outage: "
          f"vrrpd {got['vrrpd']:.3f} s, keepalived {got['keepalived']:.3f} s, ratio {ratio:.2f} "
          "(target <= 0.6)")  # fmt: skip


def print_scale(count: int) -> None:
    """Issue 10's load, beside Keepalived in this same run, and the core's own cost."""
    print(f"{count} instances at {scale.INTERVAL:g} s adverts, a backup listening, a 10 s window:")
    runs = {impl: scale.measure(impl, count) for impl in STARTERS}
    for impl, r in runs.items():
        print(f"  {impl:10} CPU per 1000 adverts/s: master {r.master_cpu_per_1000:.2%} sent, "
              f"backup {r.backup_cpu_per_1000:.2%} received; transitions {r.transitions}; "
              f"RSS {r.master_rss / 2**20:.1f} MiB; start to all master {r.start_to_all_master:.2f} s; "
              f"exit after SIGTERM {r.exit_after_sigterm:.3f} s")  # fmt: skip
    v, k = runs["vrrpd"], runs["keepalived"]
    for what, a, b in (
        ("CPU per 1000 adverts/s sent", v.master_cpu_per_1000, k.master_cpu_per_1000),
        ("CPU per 1000 adverts/s received", v.backup_cpu_per_1000, k.backup_cpu_per_1000),
        ("RSS", v.master_rss, k.master_rss),
        ("start to all master", v.start_to_all_master, k.start_to_all_master),
        ("exit after SIGTERM", v.exit_after_sigterm, k.exit_after_sigterm),
    ):
        print(f"  ratio vrrpd/keepalived, {what}: {a / b:.2f}" if b else f"  {what}: keepalived 0")
    print("the core alone, per received advert (handle + next_deadline), a backup of K instances:")
    for k_ in (1, 50, 200):
        print(f"  K={k_:3}: repeat {scale.core_cost(k_) * 1e6:5.1f} us, "
              f"decoded in full {scale.core_cost(k_, repeat=False) * 1e6:5.1f} us")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
