"""Issue 17's footprint figures by hand: two vrrpd trees beside Keepalived, alternating.

``make bench`` measures the checkout it runs from. To say what a change bought, the same
figures are needed for two trees in one lab session, runs interleaved so that the
machine's load falls on both: each tree is exported (``git archive REV vrrpd | tar -x -C
DIR``) and its agent started with ``PYTHONPATH=DIR``. One JSON line per run::

    flock /tmp/vrrpd-lab.lock .venv/bin/python -m vrrpd.lab.bench_footprint \\
        --tree before=/tmp/before --tree after=/tmp/after --out runs.jsonl

CPU: a master and a backup of K instances at 0.1 s adverts, ``--window`` seconds, as a
share of a core (``scale.measure``); RSS: the master alone (MB of 10^6 bytes, the bar's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vrrpd.lab import scale
from vrrpd.lab.bench import core_share

KEEPALIVED = "keepalived"


def run(
    who: str, trees: dict[str, Path], count: int, window: float, backup: bool
) -> dict[str, Any]:
    impl = KEEPALIVED if who == KEEPALIVED else "vrrpd"
    if impl == "vrrpd":
        os.environ["PYTHONPATH"] = str(trees[who])
    else:
        os.environ.pop("PYTHONPATH", None)
    got = scale.measure(impl, count, window, backup=backup)
    return {
        "who": who, "k": count, "backup": backup, "window": window,
        "master_pct": round(core_share(got, "master"), 4),
        "backup_pct": round(core_share(got, "backup"), 4),
        "rss_mb": round(got.master_rss / 1e6, 2), "transitions": got.transitions,
        "at": time.strftime("%H:%M:%S"),
    }  # fmt: skip


def summary(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Per figure and side: median (min-max, runs), and each side's ratio to Keepalived."""
    lines = []
    for backup, fields in ((True, ("master_pct", "backup_pct")), (False, ("rss_mb",))):
        for count in sorted({r["k"] for r in rows if r["backup"] is backup}):
            for field in fields:
                sides: dict[str, list[float]] = {}
                for r in rows:
                    if r["k"] == count and r["backup"] is backup:
                        sides.setdefault(r["who"], []).append(r[field])
                base = statistics.median(sides[KEEPALIVED]) if KEEPALIVED in sides else None
                shown = []
                for who, values in sides.items():
                    median = statistics.median(values)
                    ratio = f", {median / base:.1f} x" if base and who != KEEPALIVED else ""
                    shown.append(
                        f"{who} {median:g} ({min(values):g}-{max(values):g}, {len(values)}){ratio}"
                    )
                lines.append(f"K={count} {field}: " + "; ".join(shown))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, metavar="NAME=DIR")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cpu", default="1,5,50", help="instance counts, with a backup")
    parser.add_argument("--rss", default="1,200", help="instance counts, master alone")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args(argv)
    trees = {name: Path(path) for name, _, path in (t.partition("=") for t in args.tree)}
    rows = []
    with args.out.open("a") as out:
        for backup, counts, window in ((True, args.cpu, args.window), (False, args.rss, 3.0)):
            for count in (int(c) for c in counts.split(",") if c):
                for _ in range(args.rounds):
                    for who in (KEEPALIVED, *trees):
                        row = run(who, trees, count, window, backup)
                        rows.append(row)
                        print(json.dumps(row), file=out, flush=True)
    print("\n".join(summary(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
