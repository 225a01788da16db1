"""The routed-VIP drills of ``make bench``: vrrpd (``announce: bgp``, FRR on each node)
beside ExaBGP 4.2's healthcheck (Debian's exabgp), the tool issue 19's users come from.

Both run in the same lab (``vrrpd.lab.bgp``: a router running FRR, lb1 and lb2 on their
own routed links, a client probing the VIP every 2 ms), one fresh lab per run:

* vrrpd: lb1 (priority 150) and lb2 (100), each with FRR (eBGP + BFD 300 ms x 3 to the
  router) and vrrpd (unicast adverts through the router, a check on lb1 every 0.1 s);
* ExaBGP: lb1 and lb2 each run ExaBGP with its healthcheck as its wiki's
  high-availability example has it: both hold the VIP on lo and announce it, lb1 with
  MED 100, lb2 with 200; a failing check announces MED 1000, the ``--disable`` file 500.
  The same check, every 0.1 s, rise 1, fall 1. ExaBGP speaks no BFD: the router drops a
  dead node's session after the hold time (9 s, FRR's datacenter profile).

The drills, on lb1 while it serves: ``maintenance`` (vrrpd ``maintenance on``; ExaBGP:
the ``--disable`` file), ``check`` (the check starts failing), ``stop`` (SIGTERM to the
agent; ExaBGP: to exabgp and its healthcheck, as ``systemctl stop`` does), ``crash``
(every process of lb1 frozen, its link cut at the router, then killed).
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from vrrpd.lab import Process, outage, replies, wait_for
from vrrpd.lab.bgp import (
    LINKS,
    VIP,
    BgpLab,
    lost,
    path_changes,
    probe,
    route_monitor,
    unreachable,
    vrrpd_config,
)
from vrrpd.lab.peers import vrrpd_binary

IMPLS = ("vrrpd", "exabgp")
ACTS = ("maintenance", "check", "stop", "crash")
LB1, LB2 = LINKS["lb1"][1], LINKS["lb2"][1]


@dataclass(frozen=True)
class Drill:
    outage: float
    """Seconds: the longest silence the client saw."""
    lost: int
    """Probes (every 2 ms) that got no reply."""
    moved: float | None
    """Seconds from the act until the router's kernel route pointed to lb2."""
    unreachable: int = 0
    """"Destination Net Unreachable" answers: the router had no route for the VIP."""


def _vrrpd(
    lab: BgpLab, flag: Path, *, at_once: bool = False
) -> tuple[dict[str, Process], dict[str, Path]]:
    for name in ("r", "lb1", "lb2"):
        lab.start_frr(name)
    wait_for(lambda: lab.established("r"), timeout=30, what="the router's BGP sessions")
    agents, configs = {}, {}
    for name, priority in (("lb1", 150), ("lb2", 100)):
        check = f"/bin/sh -c 'test ! -e {flag}'" if name == "lb1" else None
        configs[name] = vrrpd_config(lab, name, priority, check)
        if at_once:  # no make-before-break: the route goes the moment the VIP does
            text = configs[name].read_text()
            configs[name].write_text(text + "    announce_hold: 0\n    announce_grace: 0\n")
        argv = [vrrpd_binary(), "run", "-c", str(configs[name])]
        agents[name] = lab.start(name, argv, label="vrrpd")
        if name == "lb1":
            wait_for(lambda: VIP in lab.addresses("lb1", "lo"), timeout=10, what="lb1 MASTER")
    return agents, configs


def _exabgp(lab: BgpLab, flag: Path, disable: Path) -> dict[str, Process]:
    lab.start_frr("r")
    return {
        "lb1": lab.start_exabgp("lb1", 100, f"test ! -e {flag}", disable),
        "lb2": lab.start_exabgp("lb2", 200, "true", lab.workdir / "lb2-never-disabled"),
    }


def drill(impl: str, act: str, *, bfd_ms: int = 300, at_once: bool = False) -> Drill:
    """One run of ``act`` on lb1. ``at_once`` (vrrpd): ``announce_hold: 0`` and
    ``announce_grace: 0``, the VIP and its route removed at once (what the issue says
    costs 104-184 ms), to measure what the hold and the grace buy."""
    lab = BgpLab(bfd_ms=bfd_ms, exabgp=impl == "exabgp")
    try:
        flag, disable = lab.workdir / "lb1-check-fails", lab.workdir / "lb1-disabled"
        if impl == "vrrpd":
            agents, configs = _vrrpd(lab, flag, at_once=at_once)
        else:
            agents, configs = _exabgp(lab, flag, disable), {}
        wait_for(lambda: lab.best_path() == LB1, timeout=30, what="the router's route to lb1")
        if impl == "vrrpd":
            wait_for(lab.bfd_up, timeout=30, what="the router's BFD sessions up")
        time.sleep(1.5)  # lb2 settled (BACKUP, or its MED 200 path known), BFD up
        monitor = route_monitor(lab)
        client = probe(lab)
        wait_for(lambda: len(replies(client)) > 50, timeout=10, what="the client's replies")
        t0 = time.time()
        if act == "maintenance" and impl == "vrrpd":
            socket = str(configs["lb1"].parent / "vrrpd.sock")
            lab.exec("lb1", vrrpd_binary(), "maintenance", "on", "--socket", socket, timeout=10)
        elif act == "maintenance":
            disable.touch()
        elif act == "check":
            flag.touch()
        elif act == "stop":
            lab.signal(agents["lb1"], signal.SIGTERM)
        elif act == "crash":
            lab.freeze("lb1")
            lab.cut("lb1")
            lab.kill_all("lb1")
        else:
            raise ValueError(act)
        wait_for(lambda: lab.best_path() == LB2, timeout=20, what="the router's path to lb2")
        time.sleep(1.5)
        gap = outage(replies(client), t0, time.time() - 0.5)  # ping's output lags
        moved = [at for at, line in path_changes(monitor) if LB2 in line and "Deleted" not in line]
        return Drill(gap, lost(client, t0), moved[0] - t0 if moved else None, unreachable(client))
    finally:
        lab.close()


if __name__ == "__main__":
    import sys

    impl, act = sys.argv[1], sys.argv[2]
    got = drill(
        impl,
        act,
        bfd_ms=int(sys.argv[3]) if len(sys.argv) > 3 else 300,
        at_once=sys.argv[4:] == ["at-once"],
    )
    print(f"{impl} {act}: {got}")
