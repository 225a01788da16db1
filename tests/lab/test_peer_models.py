"""The simulator's Keepalived model against the real Keepalived (issue 14): the same
scenarios played in the lab and in ``vrrpd/sim.py`` give the same master after each event,
at times within one advert interval of each other.

Scenarios (1 s adverts, v3; n1 Keepalived 120, n2 vrrpd 110, n3 Keepalived 100):
1. the Keepalived master stops (SIGTERM: priority 0): n2 takes over after its Skew_Time;
2. then n2 stops too: the Keepalived backup n3 takes over after its Skew_Time;
3. (fresh cluster) the Keepalived master dies (SIGKILL): n2 after Master_Down_Interval.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.builders import config, instance
from tests.lab.helpers import V4, sole_holder, start
from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer
from vrrpd.sim import Lan

pytestmark = pytest.mark.netns
VIP = "192.0.2.100"
INTERVAL = 1.0
CLUSTER = (("n1", 120, "keepalived"), ("n2", 110, "vrrpd"), ("n3", 100, "keepalived"))
ALL = ("n1", "n2", "n3")


def simulated(events: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """(holder, seconds after the event it took the VIP) for each (action, node)."""
    lan = Lan()
    for name, prio, kind in CLUSTER:
        cfg = config(instance(priority=prio, advert_interval=INTERVAL))
        lan.add_host(name, cfg, V4[name], kind=kind)
    lan.start(*ALL)
    lan.run_for(10)
    out = []
    for action, node in events:
        began = lan.now
        lan.stop(node) if action == "stop" else lan.kill(node)
        lan.run_for(10)
        adds = [(t, h) for t, h, v, added in lan.vip_log if added and t > began and str(v) == VIP]
        t, holder = adds[0]
        out.append((holder, t - began))
    return out


def measured(lab: Lab, events: list[tuple[str, str]]) -> list[tuple[str, float]]:
    procs = {}
    for name, prio, kind in CLUSTER:
        procs[name] = start(lab, Peer(name, prio, interval=INTERVAL), kind)
    sole_holder(lab, VIP, "n1", among=ALL, timeout=15)
    time.sleep(2 * INTERVAL)
    out = []
    alive = list(ALL)
    for action, node in events:
        alive.remove(node)
        began = time.monotonic()
        lab.signal(procs[node], signal.SIGTERM if action == "stop" else signal.SIGKILL)
        holder: list[str] = []

        def taken(alive: list[str] = alive, holder: list[str] = holder) -> bool:
            holder[:] = [n for n in alive if VIP in lab.addresses(n)]
            return bool(holder)

        wait_for(taken, timeout=10, what=f"a new holder of {VIP} after {action} {node}")
        out.append((holder[0], time.monotonic() - began))
        time.sleep(2 * INTERVAL)
    return out


@pytest.mark.parametrize(
    "events",
    [[("stop", "n1"), ("stop", "n2")], [("kill", "n1")]],
    ids=["priority-0-twice", "master-dies"],
)
def test_keepalived_model_matches_keepalived(lab: Lab, events: list[tuple[str, str]]) -> None:
    model = simulated(events)
    real = measured(lab, events)
    print("simulated:", model, "lab:", real)
    assert [h for h, _ in real] == [h for h, _ in model]
    for (_, t_model), (_, t_real) in zip(model, real, strict=True):
        assert abs(t_real - t_model) < INTERVAL, (model, real)
