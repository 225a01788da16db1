"""The failover drill that ``make demo`` prints: election, crash, return, checks, handover.

Until the network-namespace lab exists it runs on the simulated LAN, so every
figure is exact protocol time, not a measurement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_interface
from operator import methodcaller

from vrrpd.core.config import CheckConfig, Config, InstanceConfig, TrackScript, VirtualAddress
from vrrpd.sim import Lan, outages

VIP = "192.0.2.100"


@dataclass(frozen=True)
class Step:
    at: float
    title: str
    act: Callable[[Lan], None]


def node_config(priority: int) -> Config:
    return Config(
        scripts=(
            CheckConfig(
                "chk_http",
                "check_http.sh http://127.0.0.1/",
                interval=1,
                weight=-60,
                rise=2,
                fall=2,
            ),
        ),
        instances=(
            InstanceConfig(
                name="web",
                interface="eth0",
                vrid=51,
                priority=priority,
                virtual_addresses=(VirtualAddress(ip_interface(f"{VIP}/24")),),
                track_scripts=(TrackScript("chk_http"),),
            ),
        ),
    )


STEPS = (
    Step(
        0.0,
        "election (lb1 150, lb2 100 start together)",
        methodcaller("start", "lb2", "lb1"),
    ),
    Step(10.0, "master crash (lb1 killed silently)", methodcaller("kill", "lb1")),
    Step(20.0, "lb1 returns and preempts", methodcaller("start", "lb1")),
    Step(
        30.0,
        "check fails on lb1 (weight -60: 150 → 90)",
        methodcaller("set_check", "lb1", "chk_http", False),
    ),
    Step(
        40.0,
        "check recovers on lb1 (preempts back)",
        methodcaller("set_check", "lb1", "chk_http", True),
    ),
    Step(50.0, "graceful stop of lb1 (priority 0)", methodcaller("stop", "lb1")),
)
END = 60.0


def run() -> list[str]:
    lan = Lan()
    lan.add_host("lb1", node_config(150), "192.0.2.11")
    lan.add_host("lb2", node_config(100), "192.0.2.12")
    rows = []
    for index, step in enumerate(STEPS):
        lan.run_until(step.at)
        step.act(lan)
        until = STEPS[index + 1].at if index + 1 < len(STEPS) else END
        lan.run_until(until - 1e-9)
        gaps = outages(lan, VIP, step.at, until - 1e-9)
        outage = sum(b - a for a, b in gaps)
        rows.append((step.title, ",".join(lan.holders(VIP)) or "nobody", outage, step.at == 0.0))
    lines = [
        "vrrpd failover drill on the simulated LAN (virtual time, exact): 2 nodes, VRRPv3,",
        f"advert interval 1 s, VIP {VIP}, check chk_http every 1 s (rise 2, fall 2, weight -60)",
        "",
        "timeline:",
    ]
    lines += [f"  {e.time:8.3f}s  {e.host:4}  {e.text}" for e in lan.timeline]
    lines += ["", f"  {'step':46} {'VIP holder':10} client outage"]
    for title, holder, outage, first in rows:
        shown = "(initial election)" if first else f"{outage:.3f} s"
        lines.append(f"  {title:46} {holder:10} {shown}")
    return lines
