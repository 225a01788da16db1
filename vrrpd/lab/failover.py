"""One failover cycle of one implementation, measured from outside (``make bench``).

Two nodes (n1 priority 150, n2 100, VRRPv3 at the given interval) and a client that
pings the VIP every 2 ms. In one lab, in turn:

1. crash: n1's process tree frozen, its cable cut, then killed. Measured: the last
   advert n1 put on the wire -> the VIP added on n2 (``ip -ts monitor`` in n2), and
   the longest gap in the client's replies.
2. return: n1 plugged back and restarted (what the crash left is cleared, as a reboot
   would); it preempts. Measured: the client's longest gap.
3. graceful stop: SIGTERM to n1. Measured: n1's priority-0 advert -> the VIP on n2,
   the client's longest gap, and SIGTERM -> n1's exit.

Also the start-up of one node alone: exec -> its first advert, exec -> the VIP held.
Every time is on the wall clock of this one machine (kernel stamps for the wire).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vrrpd.core.timers import master_down_interval
from vrrpd.lab import Lab, Process, outage, pair_and_client, replies, wait_for
from vrrpd.lab.peers import Peer, start_keepalived, start_vrrpd

VIP = "192.0.2.100"
PROBE = 0.002
ADDRESS = {"n1": "192.0.2.11", "n2": "192.0.2.12"}
STARTERS: dict[str, Callable[[Lab, Peer], Process]] = {
    "vrrpd": start_vrrpd,
    "keepalived": start_keepalived,
}


@dataclass(frozen=True)
class Cycle:
    crash_to_vip: float
    """Seconds from the crashed master's last advert to the VIP on the backup."""
    crash_outage: float
    preempt_outage: float
    stop_to_vip: float
    """Seconds from the priority-0 advert to the VIP on the backup."""
    stop_outage: float
    exit_after_sigterm: float


def rfc_master_down(interval: float, priority: int = 100) -> float:
    """The RFC's Master_Down_Interval of the backup (what every implementation waits)."""
    return master_down_interval(priority, round(interval * 100), 3)


def _vip_added(monitor: Process, after: float) -> float:
    """When ``ip -ts monitor address`` saw the VIP added, first time after ``after``."""
    for line in monitor.output().splitlines():
        if not line.startswith("[") or f"{VIP}/" not in line or "Deleted" in line:
            continue
        stamp = datetime.fromisoformat(line[1 : line.index("]")]).timestamp()
        if stamp > after:
            return stamp
    return float("nan")


def cycle(impl: str, interval: float) -> Cycle:
    start = STARTERS[impl]
    n1, n2 = Peer("n1", 150, interval=interval), Peer("n2", 100, interval=interval)
    with pair_and_client() as lab:
        sniffer = lab.start_sniffer(sys.executable)
        monitor = lab.start("n2", ["ip", "-ts", "monitor", "address"], label="ipmon")
        master = start(lab, n1)
        start(lab, n2)
        wait_for(lambda: lab.holders(VIP) == ["n1"], timeout=30, what="n1 master")
        ping = lab.start(
            "cl", ["ping", "-n", "-D", "-i", f"{PROBE:g}", "-W", "0.5", VIP], label="ping"
        )
        time.sleep(max(1.0, 3 * interval))

        crashed = time.time()
        lab.crash(master, unplug="n1")
        wait_for(lambda: VIP in lab.addresses("n2"), timeout=30, what="n2 taking over")
        time.sleep(max(0.5, 2 * interval))
        adverts = [r for r in lab.adverts(sniffer) if "error" not in r]
        last = max(r["t"] for r in adverts if r["src"] == ADDRESS["n1"] and r["t"] <= crashed)
        crash_to_vip = _vip_added(monitor, last) - last

        returned = time.time()
        if VIP in lab.addresses("n1"):  # a reboot clears what the crash left
            lab.ip(lab.nodes["n1"].namespace, "addr", "del", f"{VIP}/24", "dev", "eth0")
        for stale in lab.workdir.glob("n1-*.pid"):  # as /run is at boot (Keepalived's)
            stale.unlink()
        lab.plug("n1")
        master = start(lab, n1)
        wait_for(lambda: lab.holders(VIP) == ["n1"], timeout=30, what="n1 preempting")
        time.sleep(max(1.0, 3 * interval))

        stopped = time.time()
        began = time.monotonic()
        lab.signal(master, signal.SIGTERM)
        lab.wait(master, 30)
        exit_after = time.monotonic() - began
        wait_for(lambda: VIP in lab.addresses("n2"), timeout=30, what="n2 after the stop")
        time.sleep(max(0.5, 2 * interval))
        ended = time.time()
        adverts = [r for r in lab.adverts(sniffer) if "error" not in r]
        release = min(
            (
                r["t"]
                for r in adverts
                if r["src"] == ADDRESS["n1"] and r["t"] >= stopped and r["priority"] == 0
            ),
            default=float("nan"),
        )
        stamps = replies(ping)
        return Cycle(
            crash_to_vip=crash_to_vip,
            crash_outage=max(0.0, outage(stamps, crashed, returned) - PROBE),
            preempt_outage=max(0.0, outage(stamps, returned + 0.05, stopped) - PROBE),
            stop_to_vip=_vip_added(monitor, release) - release,
            stop_outage=max(0.0, outage(stamps, stopped, ended) - PROBE),
            exit_after_sigterm=exit_after,
        )


def startup(impl: str, interval: float = 0.1) -> tuple[float, float]:
    """(exec -> first advert, exec -> VIP held) for one node alone."""
    with pair_and_client() as lab:
        sniffer = lab.start_sniffer(sys.executable)
        monitor = lab.start("n1", ["ip", "-ts", "monitor", "address"], label="ipmon")
        time.sleep(0.2)  # the monitor is listening
        began = time.time()
        STARTERS[impl](lab, Peer("n1", 150, interval=interval))
        wait_for(lambda: VIP in lab.addresses("n1"), timeout=30, what="n1 master")
        time.sleep(0.3)
        first = min(r["t"] for r in lab.adverts(sniffer) if r.get("src") == ADDRESS["n1"])
        return first - began, _vip_added(monitor, began) - began
