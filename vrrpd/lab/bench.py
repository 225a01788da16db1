"""``make bench``: every figure beside Keepalived, in one run, with its target.

vrrpd and Keepalived (Debian's package) alternate in the same network-namespace lab;
each figure is repeated (5 runs, 10 at the 0.01 s interval) and kept as median, min
and max. Results go to ``bench/results/<date>-<commit>.json`` (the record) and
``docs/benchmarks.md`` (generated from it, with plots when matplotlib is there).

* failover (``vrrpd.lab.failover``) at VRRPv3 advert intervals 1, 0.1, 0.05 and
  0.01 s: node crash (last advert -> VIP on the backup, client outage), the master's
  return (preemption outage), graceful stop (priority-0 advert -> VIP, outage, exit);
* planned handover (vrrpd ``maintenance on``; Keepalived's way is SIGTERM) and the
  nginx check failover (``vrrpd.lab.handover``);
* cost (``vrrpd.lab.scale``): 1, 5, 50 and 200 instances at 0.1 s, master alone and
  with a backup: CPU per 1000 adverts/s and as a share of a core (issue 17's bar at 1,
  5 and 50: <= 1.5 x Keepalived or < 0.3 %), RSS, transitions, start-up, exit;
* start-up of one node: exec -> first advert, exec -> VIP held;
* the pure core's cost per received advert (K = 1, 50, 200), vrrpd only;
* routed VIPs (``vrrpd.lab.bgp_bench``): maintenance, check failure, graceful stop and
  crash through FRR, beside ExaBGP 4.2's healthcheck (ratios vrrpd / ExaBGP).

``--smoke``: one interval, 1 run, 20 instances, a minute or two (``make test`` runs it
so the harness cannot rot). Needs root.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vrrpd import __version__
from vrrpd.lab import bgp_bench, failover, handover, scale
from vrrpd.lab.report import write

IMPLS = ("vrrpd", "keepalived")
WHY = {
    "crash_to_vip": "vrrpd's VIP lands 1.0-1.5 ms (3 ms at 1 s adverts) after Master_Down_Interval, Keepalived's 0.2 ms after: the driver's dispatch of a takeover (~0.5 ms: the first run of that code path, the log line) and the timer's wake-up; the address request itself now takes ~0.1 ms (raw rtnetlink, journal ledger)",
    "stop_outage": "the backup's VIP follows the priority-0 advert within 1-2 ms of Keepalived's; in some runs the client keeps the old MAC one more 10 ms kernel tick after the gratuitous ARP (seen in packet captures, not explained yet)",
    "small_cluster_cpu": "each wake-up of the interpreter costs ~0.1-0.2 ms of CPU whatever it does (a bare Python epoll loop: ~90 us, asyncio ~110 us on this VM), Keepalived's C loop ~0.03 ms; the master wakes once per advert interval for all its instances, the backup once per advert received (see docs/benchmarks.md)",
    "crash_outage": "runs are bimodal for both agents (30 ms and 36-40 ms, see min and max): the client's pings and the takeover fall on either side of a 10 ms tick; the medians fell on different sides in this run",
}
"""What the report says next to a missed target (measured and analysed, see docs)."""
PROJECT = Path(__file__).resolve().parents[2]


def _summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": [round(v, 6) for v in values],
    }


class Bench:
    def __init__(self, runs: int, log: Callable[[str], None]) -> None:
        self.runs = runs
        self.log = log
        self.figures: list[dict[str, Any]] = []

    def add(self, fid: str, group: str, title: str, unit: str,
            values: Mapping[str, Sequence[float]], **more: Any) -> dict[str, Any]:  # fmt: skip
        figure: dict[str, Any] = {"id": fid, "group": group, "title": title, "unit": unit}
        for impl, got in values.items():
            figure[impl] = _summary(got)
        v, k = (figure.get(i, {}).get("median") for i in IMPLS)
        figure["ratio"] = v / k if v is not None and k else None
        figure.update(more)
        self.figures.append(figure)
        shown = ", ".join(f"{i} {figure[i]['median']:.3f}" for i in values)
        ratio = f", ratio {figure['ratio']:.2f}" if figure["ratio"] is not None else ""
        met = {True: "; target met", False: "; TARGET MISSED", None: ""}[figure.get("met")]
        self.log(f"  {title}: {shown} {unit}{ratio}{met}")
        return figure

    def failover(self, intervals: Sequence[float]) -> None:
        for interval in intervals:
            runs = max(self.runs, 10) if interval <= 0.01 and self.runs >= 5 else self.runs
            self.log(f"failover at {interval:g} s adverts, {runs} cycles each ...")
            cycles = {impl: [failover.cycle(impl, interval) for _ in range(runs)] for impl in IMPLS}
            mdi = failover.rfc_master_down(interval) * 1000

            def ms(
                name: str, cycles: dict[str, list[failover.Cycle]] = cycles
            ) -> dict[str, list[float]]:
                return {i: [getattr(c, name) * 1000 for c in cycles[i]] for i in IMPLS}

            group = "Failover (VRRPv3, priorities 150/100)"
            at = f"at {interval:g} s"
            crash = ms("crash_to_vip")
            v = statistics.median(crash["vrrpd"])
            self.add(f"crash_to_vip_{interval:g}", group, f"crash: last advert -> VIP on the backup, {at}",
                     "ms", crash, interval=interval, rfc=mdi, target="median <= Master_Down_Interval + 1 ms",
                     met=v <= mdi + 1.0, why=WHY["crash_to_vip"])  # fmt: skip
            for name, title in (("crash_outage", "crash: client outage"),
                                ("stop_outage", "graceful stop (SIGTERM): client outage")):  # fmt: skip
                got = ms(name)
                v, k = (statistics.median(got[i]) for i in IMPLS)
                # The client probes every 2 ms: a difference below that is not measured.
                self.add(f"{name}_{interval:g}", group, f"{title}, {at}", "ms", got, interval=interval,
                         rfc=mdi if name == "crash_outage" else None,
                         target="ratio <= 1.0 (to the probe's 2 ms)",
                         met=v <= k + failover.PROBE * 1000, why=WHY[name])  # fmt: skip
            self.add(f"stop_to_vip_{interval:g}", group, f"graceful stop: priority-0 advert -> VIP, {at}",
                     "ms", ms("stop_to_vip"), interval=interval)  # fmt: skip
            pre = ms("preempt_outage")
            self.add(f"preempt_outage_{interval:g}", group, f"preemption (the master returns): client outage, {at}",
                     "ms", pre, interval=interval, target="0 ms (at the probe's 2 ms resolution)",
                     met=statistics.median(pre["vrrpd"]) <= 2.0)  # fmt: skip
            exits = ms("exit_after_sigterm")
            self.add(f"exit_{interval:g}", group, f"SIGTERM -> exit, one instance, {at}", "ms", exits,
                     interval=interval)  # fmt: skip

    def planned(self) -> None:
        group = "Planned handover and check failover"
        self.log(f"planned handover at 0.1 s, {self.runs} runs each ...")
        got = {i: [handover.handover(i, 0.1) * 1000 for _ in range(self.runs)] for i in IMPLS}
        self.add("handover_0.1", group, "planned handover (vrrpd: maintenance on; Keepalived: SIGTERM), "
                 "client outage, at 0.1 s", "ms", got, target="ratio <= 1.0",
                 met=statistics.median(got["vrrpd"]) <= statistics.median(got["keepalived"]))  # fmt: skip
        self.log(f"nginx check failover, {self.runs} runs each ...")
        got = {i: [handover.check_failover(i) * 1000 for _ in range(self.runs)] for i in IMPLS}
        self.add("check_failover", group, "nginx killed on the master (check 1 s, fall 2, weight -50, "
                 "adverts 1 s): HTTP outage", "ms", got)  # fmt: skip

    def bgp(self) -> None:
        """Routed VIPs (issue 19): each drill beside ExaBGP's healthcheck, alternately."""
        group = "Routed VIPs through BGP (vrrpd + FRR beside ExaBGP's healthcheck)"
        targets = {"maintenance": 20.0, "check": 300.0, "stop": 100.0, "crash": 1200.0}
        titles = {
            "maintenance": "planned handover (vrrpd: maintenance on; ExaBGP: --disable file)",
            "check": "lb1's check fails (0.1 s, fall 1)",
            "stop": "graceful stop (SIGTERM)",
            "crash": "crash of lb1 (frozen, link cut, killed; vrrpd: BFD 300 ms x 3, "
            "ExaBGP: hold time 9 s)",
        }
        for act in bgp_bench.ACTS:
            self.log(f"bgp drill {act}, {self.runs} runs each ...")
            runs: dict[str, list[bgp_bench.Drill]] = {i: [] for i in bgp_bench.IMPLS}
            for _ in range(self.runs):
                for impl in bgp_bench.IMPLS:
                    runs[impl].append(bgp_bench.drill(impl, act))
            got = {i: [d.outage * 1000 for d in runs[i]] for i in bgp_bench.IMPLS}
            v, e = (statistics.median(got[i]) for i in bgp_bench.IMPLS)
            self.add(f"bgp_{act}_outage", group, f"{titles[act]}: client outage", "ms", got,
                     reference="exabgp", ratio=v / e if e else None,
                     target=f"<= {targets[act]:g} ms (issue 19)", met=v <= targets[act])  # fmt: skip
            moved = {i: [(d.moved or 0) * 1000 for d in runs[i]] for i in bgp_bench.IMPLS}
            v, e = (statistics.median(moved[i]) for i in bgp_bench.IMPLS)
            self.add(f"bgp_{act}_moved", group, f"{titles[act]}: router's path to lb2 after", "ms",
                     moved, reference="exabgp", ratio=v / e if e else None)  # fmt: skip
            dropped = {i: [float(d.lost) for d in runs[i]] for i in bgp_bench.IMPLS}
            self.add(f"bgp_{act}_lost", group, f"{titles[act]}: probes lost (2 ms apart)",
                     "probes", dropped, reference="exabgp", ratio=None)  # fmt: skip
        self.log(f"bgp crash with BFD 100 ms x 3 (vrrpd only), {self.runs} runs ...")
        fast = [bgp_bench.drill("vrrpd", "crash", bfd_ms=100) for _ in range(self.runs)]
        v = statistics.median(d.outage * 1000 for d in fast)
        self.add("bgp_crash_bfd100_outage", group, "crash of lb1 with BFD 100 ms x 3: client "
                 "outage", "ms", {"vrrpd": [d.outage * 1000 for d in fast]},
                 target="<= 600 ms (issue 19)", met=v <= 600)  # fmt: skip

    def cost(self, counts: Sequence[int], window: float) -> None:
        group = "Cost (instances at 0.1 s adverts)"
        for count in counts:
            for backup in (False, True):
                self.log(f"{count} instances, {'with' if backup else 'without'} a backup ...")
                runs = {i: scale.measure(i, count, window, backup=backup) for i in IMPLS}
                label = f"{count} instances{' + backup' if backup else ''}"
                sent = {i: [runs[i].master_cpu_per_1000 * 100] for i in IMPLS}
                ratio = sent["vrrpd"][0] / max(sent["keepalived"][0], 1e-9)
                self.add(f"cpu_master_{count}_{int(backup)}", group, f"master CPU per 1000 adverts/s sent, {label}",
                         "%", sent, instances=count,
                         **({"target": "ratio <= 2.0 (goal 1.5)", "met": ratio <= 2.0} if count >= 200 and backup else {}))  # fmt: skip
                self.add(f"transitions_{count}_{int(backup)}", group, f"state transitions in {window:g} s, {label}",
                         "transitions", {i: [runs[i].transitions] for i in IMPLS},
                         target="0", met=runs["vrrpd"].transitions == 0)  # fmt: skip
                if not backup:
                    self.add(f"rss_{count}", group, f"master RSS, {count} instances", "MiB",
                             {i: [runs[i].master_rss / 2**20] for i in IMPLS}, instances=count,
                             **({"target": "<= 40 MB (38.1 MiB)", "met": runs["vrrpd"].master_rss <= 40e6,
                                 "why": "27-28 MB before the first instance (the interpreter, asyncio, pyroute2's rtnetlink, click, the driver), then ~53 KB per instance, mostly the garbage of the takeover's burst (VIP events and kernel re-reads parsed by pyroute2) pinning arenas"} if count >= 200 else {}))  # fmt: skip
                    self.add(f"start_{count}", group, f"start to all {count} master", "s",
                             {i: [runs[i].start_to_all_master] for i in IMPLS},
                             **({"target": "<= 1 s", "met": runs["vrrpd"].start_to_all_master <= 1.0} if count >= 200 else {}))  # fmt: skip
                    self.add(f"exit_{count}", group, f"exit after SIGTERM, {count} instances as master", "s",
                             {i: [runs[i].exit_after_sigterm] for i in IMPLS},
                             **({"target": "<= 0.2 s", "met": runs["vrrpd"].exit_after_sigterm <= 0.2,
                                 "why": "each instance's priority-0 advert and VIP removal go out one by one"}
                                if count >= 200 else {}))  # fmt: skip
                else:
                    got = {i: [runs[i].backup_cpu_per_1000 * 100] for i in IMPLS}
                    ratio = got["vrrpd"][0] / max(got["keepalived"][0], 1e-9)
                    self.add(f"cpu_backup_{count}", group, f"backup CPU per 1000 adverts/s received, {label}",
                             "%", got, instances=count,
                             **({"target": "ratio <= 3.0 (goal 1.5)", "met": ratio <= 3.0} if count >= 200 else {}))  # fmt: skip
                    for role in ("master", "backup"):
                        share = {i: [core_share(runs[i], role)] for i in IMPLS}
                        self.add(f"share_{role}_{count}", group, f"{role} CPU, {label} (share of a core)",
                                 "%", share, instances=count,
                                 **small_cluster_target(count, share["vrrpd"][0], share["keepalived"][0]))  # fmt: skip

    def startup(self, runs: int) -> None:
        group = "Start-up (one node alone, 0.1 s adverts)"
        self.log(f"start-up, {runs} runs each ...")
        got = {i: [failover.startup(i) for _ in range(runs)] for i in IMPLS}
        self.add("startup_advert", group, "exec -> first advert", "ms",
                 {i: [a * 1000 for a, _ in got[i]] for i in IMPLS})  # fmt: skip
        self.add("startup_vip", group, "exec -> VIP held", "ms",
                 {i: [b * 1000 for _, b in got[i]] for i in IMPLS})  # fmt: skip

    def core(self, sizes: Sequence[int], adverts: int = 20_000, samples: int = 3) -> None:
        group = "The pure core, per received advert (vrrpd only)"
        for k in sizes:
            self.add(f"core_repeat_{k}", group, f"repeat advert, backup of {k} instances", "us",
                     {"vrrpd": [scale.core_cost(k, adverts) * 1e6 for _ in range(samples)]})  # fmt: skip
            self.add(f"core_full_{k}", group, f"advert decoded in full, backup of {k} instances", "us",
                     {"vrrpd": [scale.core_cost(k, adverts, repeat=False) * 1e6
                                for _ in range(samples)]})  # fmt: skip


SMALL_CLUSTER = (1, 5, 50)
"""Where most users are: issue 17's bar is the CPU beside Keepalived's at these sizes."""
SHARE_RATIO, SHARE_FLOOR = 1.5, 0.3


def core_share(run: scale.Scale, role: str) -> float:
    """Percent of one core the master (sending) or the backup (receiving) used."""
    per_1000 = run.master_cpu_per_1000 if role == "master" else run.backup_cpu_per_1000
    return per_1000 * run.instances / scale.INTERVAL / 1000 * 100


def small_cluster_target(count: int, vrrpd: float, keepalived: float) -> dict[str, Any]:
    """Issue 17: <= 1.5 x Keepalived at 1, 5 and 50 instances, master and backup; an
    absolute share below 0.3 % of a core counts as met whatever the ratio."""
    if count not in SMALL_CLUSTER:
        return {}
    met = vrrpd <= SHARE_RATIO * keepalived or vrrpd < SHARE_FLOOR
    return {"target": f"ratio <= {SHARE_RATIO:g} or < {SHARE_FLOOR:g} % of a core", "met": met,
            "why": WHY["small_cluster_cpu"]}  # fmt: skip


def _keepalived_version() -> str:
    done = subprocess.run(["keepalived", "--version"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).splitlines()[0] if (done.stderr or done.stdout) else "?"


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one interval, 1 run, 20 instances")
    parser.add_argument("--only-bgp", action="store_true", help="the routed-VIP drills alone")
    parser.add_argument("--results", type=Path, default=PROJECT / "bench/results")
    parser.add_argument("--page", type=Path, default=PROJECT / "docs/benchmarks.md")
    args = parser.parse_args(argv)
    began = time.monotonic()
    bench = Bench(1 if args.smoke else args.runs, print)
    if args.only_bgp:
        bench.bgp()
    elif args.smoke:
        bench.failover([0.1])
        bench.cost([20], window=2.0)
        bench.startup(1)
        bench.core([1, 50], adverts=2_000, samples=1)  # the harness runs; make bench measures
    else:
        bench.failover([1.0, 0.1, 0.05, 0.01])
        bench.planned()
        bench.bgp()
        bench.cost([1, 5, 50, 200], window=10.0)
        bench.startup(10)
        bench.core([1, 50, 200])
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    commit = _commit()
    args.results.mkdir(parents=True, exist_ok=True)
    result_file = args.results / f"{stamp}-{commit}{'-smoke' if args.smoke else ''}.json"
    result = {
        "meta": {
            "file": str(
                result_file.relative_to(PROJECT)
                if result_file.is_relative_to(PROJECT)
                else result_file
            ),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": commit,
            "vrrpd": __version__,
            "keepalived": _keepalived_version(),
            "machine": f"{platform.machine()}, {scale.machine()}, Linux {platform.release()}",
            "runs": "smoke: 1" if args.smoke else f"{args.runs} (10 at 0.01 s)",
            "seconds": round(time.monotonic() - began, 1),
        },
        "figures": bench.figures,
    }
    result_file.write_text(json.dumps(result, indent=1) + "\n")
    write(result_file, args.page)
    print(f"wrote {result_file} and {args.page} in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
