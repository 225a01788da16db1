"""``make soak``: the long reliability runs, and docs/reliability.md written from them.

100,000 hostile frames, 100 kill -9 restarts of the master, and the chaos soak (half
the time with three vrrpd nodes, half with Keepalived on the third). Every figure in
the page comes from this run; it exits non-zero if any invariant was violated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from vrrpd.lab import hostile, scale, soak

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "reliability.md"
DATA = ROOT / "docs" / "data"


def _save(name: str, body: dict[str, Any]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"{name}.json").write_text(
        json.dumps(body, indent=1, sort_keys=True, default=str) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1800, help="chaos soak, in all")
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--restarts", type=int, default=100)
    parser.add_argument("--scale-seconds", type=float, default=300,
                        help="200 instances on three nodes, each implementation")  # fmt: skip
    parser.add_argument("--load-flood-seconds", type=float, default=60,
                        help="issue 16's hostile load: the single sender's flood")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip() or "unknown"  # fmt: skip

    sections: list[str] = []
    total = 0
    flood = args.frames // 4
    attack = hostile.drill(args.frames - flood, flood)
    _save("hostile", {**attack.__dict__})
    sections += ["## Hostile packets", "", "```", *attack.lines(), "```", ""]
    total += len(attack.violations)
    print("\n".join(attack.lines()), flush=True)

    # Issue 16's hostile load, with the socket filter (the promise) and without (what it
    # saves; its violations are the measurement, not counted).
    for filtering in (True, False):
        load = hostile.load_drill(20_000, 40_000, args.load_flood_seconds, filtering=filtering)
        _save(f"hostile-load-{'filter' if filtering else 'nofilter'}", load.__dict__)
        title = "with the socket filter" if filtering else "socket filter off, for comparison"
        sections += [f"## Hostile load ({title})", "", "```", *load.lines(), "```", ""]
        total += len(load.violations) if filtering else 0
        print("\n".join(load.lines()), flush=True)

    drill = soak.restarts(args.restarts)
    _save("restarts", soak.as_json(drill))
    sections += ["## kill -9 restarts of the master", "", "```", *drill.lines(), "```", ""]
    total += len(drill.violations)
    print("\n".join(drill.lines()), flush=True)

    lines = [f"200 instances at {scale.INTERVAL:g} s adverts on three nodes (priorities 150/100/50), "
             f"{args.scale_seconds:g} s after all settled:"]  # fmt: skip
    for impl in ("vrrpd", "keepalived"):
        run = scale.three_nodes(impl, 200, args.scale_seconds)
        _save(f"scale-three-{impl}", run.__dict__)
        lines.append(
            f"  {impl:10} transitions {run.transitions}; CPU per 1000 adverts/s "
            + ", ".join(f"{n} {c:.2%}" for n, c in run.cpu_per_1000.items())
        )
        if impl == "vrrpd":
            total += sum(run.transitions.values())
    sections += ["## Scale: 200 instances, three nodes", "", "```", *lines, "```", ""]
    print("\n".join(lines), flush=True)

    for name, keepalived in (("soak-vrrpd", False), ("soak-keepalived", True)):
        report = soak.soak(args.seconds / 2, keepalived=keepalived, seed=int(time.time()))
        _save(name, soak.as_json(report))
        title = (
            "Chaos soak, Keepalived on the third node"
            if keepalived
            else "Chaos soak, three vrrpd nodes"
        )
        sections += [f"## {title}", "", "```", *report.lines(), "```", ""]
        total += len(report.violations)
        print("\n".join(report.lines()), flush=True)

    head = [
        "# Reliability: hostile packets, restarts and chaos",
        "",
        f"<!-- Written by `make soak` (vrrpd/lab/reliability.py); figures from the run of {started} "
        f"at commit {commit} on a {platform.machine()} machine with "
        f"{len(os.sched_getaffinity(0))} cores. Raw results in docs/data/. -->",
        "",
        f"Run of {started}, commit {commit}: **{total} violations** in all.",
        "",
        "What is checked: see the docstrings of `vrrpd/lab/hostile.py` (every frame counted",
        "exactly once, in its class's counter; no state change; the master's adverts not",
        "delayed; the log rate-limited) and `vrrpd/lab/soak.py` (one master per VRID within",
        f"3 x advert + 1 s = {soak.HEAL_BUDGET:.1f} s of each heal, the right one; never a VIP on",
        "two nodes outside a partition; no stale VIP after a restart; fds, threads and RSS",
        "bounded; no zombies; no traceback). `make test` runs short profiles of each.",
        "",
    ]
    DOC.write_text("\n".join(head + sections))
    print(f"wrote {DOC.relative_to(ROOT)}: {total} violations")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
