"""Maintenance that holds where real clusters differ from the plain pair (issue 14): a
sync group, an address owner across a restart, a reload during the drain, preempt_delay.

Real agents in namespaces; a client pings every VIP every 2 ms for the whole scenario.
Each test asserts who holds the VIP, that maintenance stays in force until ``off``, and
the client's longest gap. The bound, GAP, is 50 ms: a make-before-break handover costs
the client a few ms at most (the old master answers until the new one has announced
itself), while any break-before-make path (a release with the VIP removed at once, a
maintenance undone and redone, an owner that takes the VIP and hands it back) costs at
least the backup's Skew_Time, 61 ms at 0.1 s adverts for priority 100 (and ~0.6 s
measured on the simulator for the owner restart), so 50 ms tells the two apart with
room for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, field

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab, Process, outage, replies, wait_for
from vrrpd.lab.peers import Peer, vrrpd_binary, vrrpd_yaml

pytestmark = pytest.mark.netns
VIP, VIP2 = "192.0.2.100", "192.0.2.101"
PROBE = 0.002
GAP = 0.050
PAIR = ("n1", "n2")


@dataclass
class Probes:
    """``ping -i 0.002`` from the client to each VIP; the longest silence of each."""

    lab: Lab
    vips: tuple[str, ...]
    pings: dict[str, Process] = field(default_factory=dict)
    began: float = 0.0

    def start(self) -> None:
        for vip in self.vips:
            argv = ["ping", "-n", "-D", "-i", f"{PROBE:g}", "-W", "0.2", "-w", "120", vip]
            self.pings[vip] = self.lab.start("cl", argv, label=f"ping {vip}")
        time.sleep(0.3)
        self.began = time.time()

    def gaps(self) -> dict[str, float]:
        """Stop the pings: VIP -> its longest gap in seconds (less the probe interval)."""
        ended = time.time()
        time.sleep(0.05)
        found: dict[str, float] = {}
        for vip, ping in self.pings.items():
            self.lab.signal(ping, signal.SIGINT)
            self.lab.wait(ping, 5)
            stamps = replies(ping)
            assert stamps, f"no reply at all from {vip}:\n{ping.output()[-2000:]}"
            found[vip] = max(0.0, outage(stamps, self.began, ended) - PROBE)
        print(f"longest gap: { {v: f'{g * 1000:.1f} ms' for v, g in found.items()} }")
        return found


def _ask(lab: Lab, node: str, *args: str) -> tuple[int, str]:
    done = lab.exec(node, vrrpd_binary(), *args, "--socket", str(lab.workdir / f"{node}.sock"),
                    check=False, timeout=15)  # fmt: skip
    return done.returncode, done.stdout.strip()


def _instances(lab: Lab, node: str) -> dict[str, dict[str, object]]:
    code, said = _ask(lab, node, "status", "--json")
    if code != 0:
        return {}
    found: dict[str, dict[str, object]] = json.loads(said)["instances"]
    return found


def _in_maintenance(lab: Lab, node: str, *names: str) -> bool:
    """Every one of ``names`` is BACKUP in maintenance on ``node``, not draining."""
    status = _instances(lab, node)
    return all(
        (status.get(n, {}).get("state"), status.get(n, {}).get("maintenance")) == ("BACKUP", True)
        and not status[n]["draining"]
        for n in names
    )


def _stays(lab: Lab, seconds: float, holder: str, *vips: str) -> None:
    """``holder`` alone keeps every VIP for ``seconds`` (a returning node would show)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for vip in vips:
            assert [n for n in PAIR if vip in lab.addresses(n)] == [holder], vip
        time.sleep(0.05)


# ---------------------------------------------------------------- topologies


@pytest.fixture
def sync_pair(lab: Lab) -> Lab:
    """n1 (150) and n2 (100), each with web (VRID 51) and db (52) in sync group front."""
    for node, priority in (("n2", 100), ("n1", 150)):
        start(lab, Peer(node, priority, instances=(("db", 52, f"{VIP2}/24"),), sync_group="front"))
    sole_holder(lab, VIP, "n1", among=PAIR)
    sole_holder(lab, VIP2, "n1", among=PAIR)
    return lab


@pytest.fixture
def owner_pair(lab: Lab) -> tuple[Lab, Process]:
    """n1 the address owner (255), n2 a backup (100): the owner's agent process."""
    start(lab, Peer("n2", 100))
    owner = start(lab, Peer("n1", 255))
    sole_holder(lab, VIP, "n1", among=PAIR)
    return lab, owner


SLOW = 2.0
"""The reload's pair advertises every 2 s: n2 (priority 1) takes over a drain only after
its Skew_Time of 1.99 s, a window a reload (SIGHUP) lands in reliably on a loaded machine."""


@pytest.fixture
def slow_pair(lab: Lab) -> tuple[Lab, Process]:
    """n1 (150) and n2 (1) at 2 s adverts: n1's agent process."""
    start(lab, Peer("n2", 1, interval=SLOW))
    sole_holder(lab, VIP, "n2", among=PAIR, timeout=15)
    agent = start(lab, Peer("n1", 150, interval=SLOW))
    sole_holder(lab, VIP, "n1", among=PAIR, timeout=15)
    return lab, agent


DELAY = 1.0


@pytest.fixture
def delayed_pair(lab: Lab) -> Lab:
    """n1 (150, preempt_delay 1 s) and n2 (100)."""
    start(lab, Peer("n2", 100))
    sole_holder(lab, VIP, "n2", among=PAIR)
    start(lab, Peer("n1", 150, preempt_delay=DELAY))
    sole_holder(lab, VIP, "n1", among=PAIR, timeout=5)
    return lab


# ---------------------------------------------------------------- the tests


def test_maintenance_of_one_sync_group_member_hands_the_whole_group_over(sync_pair: Lab) -> None:
    lab = sync_pair
    probes = Probes(lab, (VIP, VIP2))
    probes.start()
    code, said = _ask(lab, "n1", "maintenance", "on", "web")
    assert code == 0, said
    assert said.startswith("maintenance on: "), said
    assert "web" in said, said
    assert "db" in said, said
    wait_for(lambda: _in_maintenance(lab, "n1", "web", "db"), timeout=5, what="n1 out")
    sole_holder(lab, VIP, "n2", among=PAIR)
    sole_holder(lab, VIP2, "n2", among=PAIR)
    _stays(lab, 1.5, "n2", VIP, VIP2)  # the group does not pull web back
    assert _in_maintenance(lab, "n1", "web", "db")
    assert _ask(lab, "n1", "maintenance", "off", "db") == (0, "maintenance off: web, db")
    sole_holder(lab, VIP, "n1", among=PAIR)
    sole_holder(lab, VIP2, "n1", among=PAIR)
    time.sleep(0.3)
    gaps = probes.gaps()
    assert max(gaps.values()) < GAP, gaps


def test_an_owner_restarted_in_maintenance_stays_out_until_off(
    owner_pair: tuple[Lab, Process],
) -> None:
    """Issue 14 item 4 and the agent's start order: the restarted owner (255) was MASTER
    for a moment (Startup before the restored maintenance), took the VIP from n2 and
    handed it back."""
    lab, owner = owner_pair
    probes = Probes(lab, (VIP,))
    probes.start()
    assert _ask(lab, "n1", "maintenance", "on") == (
        0,
        "maintenance on: web (now following 192.0.2.12)",
    )
    sole_holder(lab, VIP, "n2", among=PAIR)
    lab.signal(owner, signal.SIGTERM)
    assert lab.wait(owner) == 0
    start(lab, Peer("n1", 255))
    wait_for(lambda: _in_maintenance(lab, "n1", "web"), timeout=5, what="n1 back, in maintenance")
    _stays(lab, 1.5, "n2", VIP)
    status = _instances(lab, "n1")["web"]
    assert status["counters"]["master_transitions"] == 0, status  # type: ignore[index]
    assert _ask(lab, "n1", "maintenance", "off") == (0, "maintenance off: web")
    sole_holder(lab, VIP, "n1", among=PAIR)
    time.sleep(0.3)
    gaps = probes.gaps()
    assert gaps[VIP] < GAP, gaps


def test_a_reload_during_the_drain_keeps_maintenance(slow_pair: tuple[Lab, Process]) -> None:
    """Issue 14 item 5: a reload (here a priority change) while the master is still
    handing over advertised the real priority again and aborted the maintenance."""
    lab, agent = slow_pair
    probes = Probes(lab, (VIP,))
    probes.start()
    command = lab.start("n1", [vrrpd_binary(), "maintenance", "on", "--socket",
                               str(lab.workdir / "n1.sock")], label="maintenance")  # fmt: skip
    wait_for(lambda: _instances(lab, "n1")["web"]["draining"] is True, timeout=5,
             what="n1 draining")  # fmt: skip
    (lab.workdir / "n1.yaml").write_text(vrrpd_yaml(lab, Peer("n1", 160, interval=SLOW)))
    lab.signal(agent, signal.SIGHUP)
    wait_for(lambda: _instances(lab, "n1")["web"]["priority"] == 160, timeout=5, what="reload")
    status = _instances(lab, "n1")["web"]
    # Still inside the drain (n2 waits its Skew_Time, 1.99 s), at the new priority.
    assert (status["state"], status["draining"], status["priority"]) == ("MASTER", True, 160)
    assert lab.wait(command, 10) == 0, command.output()
    assert command.output().strip() == "maintenance on: web (now following 192.0.2.12)"
    sole_holder(lab, VIP, "n2", among=PAIR)
    _stays(lab, 3 * SLOW + 0.5, "n2", VIP)  # past n1's Master_Down_Interval: no return
    assert _in_maintenance(lab, "n1", "web")
    assert _ask(lab, "n1", "maintenance", "off") == (0, "maintenance off: web")
    sole_holder(lab, VIP, "n1", among=PAIR, timeout=5)
    time.sleep(0.3)
    gaps = probes.gaps()
    assert gaps[VIP] < GAP, gaps


def test_maintenance_off_waits_the_preempt_delay(delayed_pair: Lab) -> None:
    """Issue 14 item 6: the delay ran during maintenance, so `off` took over at once."""
    lab = delayed_pair
    probes = Probes(lab, (VIP,))
    probes.start()
    assert _ask(lab, "n1", "maintenance", "on")[0] == 0
    sole_holder(lab, VIP, "n2", among=PAIR)
    _stays(lab, DELAY + 0.5, "n2", VIP)  # longer than the delay: it must not run now
    assert _in_maintenance(lab, "n1", "web")
    off = time.monotonic()
    assert _ask(lab, "n1", "maintenance", "off") == (0, "maintenance off: web")
    sole_holder(lab, VIP, "n1", among=PAIR, timeout=DELAY + 3)
    took = time.monotonic() - off
    print(f"took over {took:.3f}s after maintenance off (preempt_delay {DELAY:g}s)")
    assert took >= DELAY - 0.1, f"took over {took:.3f}s after off, before its preempt_delay"
    time.sleep(0.3)
    gaps = probes.gaps()
    assert gaps[VIP] < GAP, gaps
