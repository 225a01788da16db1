"""Client-observed outages beside Keepalived, in one run (issue 9's targets).

* planned handover: vrrpd's ``maintenance on`` against Keepalived's SIGTERM (its way
  to hand over), VRRPv3 at 1 s, 0.1 s and 0.01 s adverts; a client pings the VIP
  every 2 ms and the longest gap between replies in which a probe was lost, less the
  probe interval, is the outage (a gap without a lost probe is ping not scheduled).
* check failover: nginx killed on the master; check_http every 1 s (timeout 2, fall
  2, rise 2, weight -50), priorities 150/120, adverts 1 s; a client requests the VIP
  over HTTP every 10 ms (a new connection each time) and the longest gap between
  answers is the outage.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from vrrpd.lab import Lab, Process, lost_outage, outage, pair_and_client, replies, wait_for
from vrrpd.lab.peers import Peer, start_nginx, start_vrrpd, vrrpd_binary

VIP = "192.0.2.100"
SCRIPTS = Path(__file__).resolve().parent.parent.parent / "scripts"
PROBE = 0.002


def _keepalived(lab: Lab, node: str, priority: int, interval: float, check: bool) -> Process:
    script = (
        "vrrp_script chk {\n"
        f'  script "{SCRIPTS}/check_http.sh http://127.0.0.1/ 200 2"\n'
        "  interval 1\n  timeout 2\n  fall 2\n  rise 2\n  weight -50\n}\n"
        if check
        else ""
    )
    conf = lab.workdir / f"{node}-keepalived.conf"
    conf.write_text(
        "global_defs {\n  vrrp_version 3\n  script_user root\n  enable_script_security\n}\n"
        + script
        + "vrrp_instance web {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n"
        f"  priority {priority}\n  advert_int {interval:g}\n  virtual_ipaddress {{ {VIP}/24 }}\n"
        + ("  track_script { chk }\n" if check else "")
        + "}\n"
    )
    base = lab.workdir / f"{node}-keepalived"
    argv = ["keepalived", "-n", "-l", "-D", "-P", "-f", str(conf), "-p", f"{base}.pid",
            "-r", f"{base}.vrrp.pid", "-c", f"{base}.checkers.pid", "--no-syslog"]  # fmt: skip
    return lab.start(node, argv, label="keepalived")


def _vrrpd(lab: Lab, node: str, priority: int, interval: float, check: bool) -> Process:
    peer = Peer(node, priority, interval=interval)
    if check:
        command = f"{SCRIPTS}/check_http.sh http://127.0.0.1/ 200 2"
        peer.scripts["chk"] = (
            f"{{command: {command}, interval: 1, timeout: 2, fall: 2, rise: 2, weight: -50}}"
        )
        peer.extra["track_scripts"] = "[chk]"
    return start_vrrpd(lab, peer)


def handover(impl: str, interval: float) -> float:
    """Seconds of client outage for a planned handover of the master."""
    return handover_timed(impl, interval)[0]


def handover_timed(impl: str, interval: float) -> tuple[float, float]:
    """(client outage, seconds until the handover was complete: for vrrpd, until
    ``maintenance on`` returned, i.e. the old master heard the new one)."""
    with pair_and_client() as lab:
        start = _vrrpd if impl == "vrrpd" else _keepalived
        master = start(lab, "n1", 150, interval, False)
        start(lab, "n2", 100, interval, False)
        wait_for(lambda: lab.holders(VIP) == ["n1"], timeout=15, what="n1 master")
        time.sleep(3 * interval + 0.5)
        ping = lab.start("cl", ["ping", "-n", "-D", "-i", f"{PROBE:g}", "-W", "0.2", "-w", "4", VIP],
                         label="ping")  # fmt: skip
        time.sleep(1.0)
        began = time.monotonic()
        if impl == "vrrpd":
            lab.exec("n1", vrrpd_binary(), "maintenance", "on", "--socket",
                     str(lab.workdir / "n1.sock"), timeout=20)  # fmt: skip
        else:
            lab.signal(master, signal.SIGTERM)
        took = time.monotonic() - began
        wait_for(lambda: "192.0.2.100" in lab.addresses("n2"), timeout=10, what="n2 taking over")
        lab.wait(ping, 10)
        if not replies(ping):
            return float("inf"), took
        return max(0.0, lost_outage(ping) - PROBE), took


_HTTP_PROBE = """
import sys, time, urllib.request
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=0.2) as answer:
            print(f"{time.time():.6f} {answer.read().decode().strip()}", flush=True)
    except Exception:
        pass
    time.sleep(0.01)
"""


def check_failover(impl: str) -> float:
    """Seconds of HTTP outage when nginx dies on the master and its check moves the VIP."""
    with pair_and_client() as lab:
        nginx = {n: start_nginx(lab, n) for n in ("n1", "n2")}
        start = _vrrpd if impl == "vrrpd" else _keepalived
        start(lab, "n1", 150, 1.0, True)
        start(lab, "n2", 120, 1.0, True)
        wait_for(lambda: lab.holders(VIP) == ["n1"], timeout=20, what="n1 master")
        time.sleep(4.0)  # rise 2: both checks up
        probe = lab.start(
            "cl", [sys.executable, "-c", _HTTP_PROBE, f"http://{VIP}/", "14"], label="http"
        )
        time.sleep(2.0)
        lab.crash(nginx["n1"])
        wait_for(lambda: "served by n2" in probe.output(), timeout=12, what="n2 serving")
        lab.wait(probe, 20)
        stamps = [
            float(line.split()[0]) for line in probe.output().splitlines() if " served by " in line
        ]
        return outage(stamps, stamps[0], stamps[-1]) if stamps else float("inf")
