"""Adversarial review of issue 19 (VIPs routed by BGP), lab part: ``vrrpd cleanup`` (the
unit's ExecStopPost) removes what a killed agent left on ``lo``, and touches nothing
while an agent runs (tests/test_h19r_findings.py, finding 8)."""

from __future__ import annotations

import signal
import time

import pytest

from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer, start_vrrpd, vrrpd_binary

pytestmark = pytest.mark.netns

VIP = "203.0.113.10"


def test_finding_8_cleanup_removes_a_killed_agents_vip_from_lo_and_spares_a_live_one(
    lab: Lab,
) -> None:
    peer = Peer("n1", 150, vips=(f"{VIP}/32",), extra={"announce": "bgp", "election": "none"})
    agent = start_vrrpd(lab, peer)
    config = str(lab.workdir / "n1.yaml")
    wait_for(lambda: VIP in lab.addresses("n1", "lo"), timeout=5, what="the VIP on lo")
    live = lab.exec("n1", vrrpd_binary(), "cleanup", "-c", config, check=False)
    assert live.returncode == 1, live.stdout + live.stderr
    assert "an agent is running" in live.stderr
    assert VIP in lab.addresses("n1", "lo"), "cleanup removed a live agent's VIP"
    lab.signal(agent, signal.SIGKILL)
    wait_for(lambda: not agent.alive(), timeout=5, what="the agent killed")
    assert VIP in lab.addresses("n1", "lo")  # left behind: FRR would keep announcing it
    done = lab.exec("n1", vrrpd_binary(), "cleanup", "-c", config, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"removed {VIP}/32 on lo left behind" in done.stdout
    assert VIP not in lab.addresses("n1", "lo")
    again = lab.exec("n1", vrrpd_binary(), "cleanup", "-c", config, check=False)
    assert (again.returncode, again.stdout) == (0, "")  # after a clean stop: nothing


def test_an_ipv6_vip_on_lo_answers_through_its_grace_and_leaves_nothing_at_stop(
    lab: Lab,
) -> None:
    """Exploration (IPv6 /128 on lo, anycast): a graceful stop withdraws the /128 from
    lo, keeps the grace's local route (protocol 118) a moment, and leaves neither."""
    vip = "2001:db8::10"
    peer = Peer("n1", 150, vips=(f"{vip}/128",), extra={"announce": "bgp", "election": "none"})
    agent = start_vrrpd(lab, peer)
    ns = lab.nodes["n1"].namespace
    wait_for(lambda: vip in lab.addresses("n1", "lo"), timeout=5, what="the VIP on lo")

    def grace_route() -> bool:
        return vip in lab.ip(ns, "-6", "route", "show", "table", "local", "proto", "118")

    lab.signal(agent, signal.SIGTERM)
    seen = False
    deadline = time.monotonic() + 5
    while agent.alive() and time.monotonic() < deadline:
        seen = seen or (grace_route() and vip not in lab.addresses("n1", "lo"))
        time.sleep(0.02)
    lab.wait(agent)
    assert seen, "no grace route after the withdraw"
    assert vip not in lab.addresses("n1", "lo")
    assert not grace_route(), "the grace route was left behind"


def test_finding_8_cleanup_removes_the_grace_route_of_an_agent_killed_in_its_grace(
    lab: Lab,
) -> None:
    """Killed during ``announce_grace`` (the VIP withdrawn, its local route still
    answering): ``vrrpd cleanup`` removes that route too (protocol 118, table local)."""
    peer = Peer("n1", 150, vips=(f"{VIP}/32",),
                extra={"announce": "bgp", "election": "none", "announce_grace": "5"})  # fmt: skip
    agent = start_vrrpd(lab, peer)
    ns = lab.nodes["n1"].namespace
    wait_for(lambda: VIP in lab.addresses("n1", "lo"), timeout=5, what="the VIP on lo")

    def grace_route() -> bool:
        return VIP in lab.ip(ns, "route", "show", "table", "local", "proto", "118")

    lab.signal(agent, signal.SIGTERM)
    wait_for(lambda: grace_route() and VIP not in lab.addresses("n1", "lo"), timeout=5,
             what="the withdraw, and the grace's local route")  # fmt: skip
    lab.signal(agent, signal.SIGKILL)
    wait_for(lambda: not agent.alive(), timeout=5, what="the agent killed")
    assert grace_route()
    done = lab.exec("n1", vrrpd_binary(), "cleanup", "-c", str(lab.workdir / "n1.yaml"))
    assert f"removed local route {VIP} left behind" in done.stdout, done.stdout
    assert not grace_route()


def test_finding_15_a_stop_right_after_maintenance_on_keeps_the_route_for_the_hold(
    lab: Lab,
) -> None:
    """An upgrade script: ``vrrpd maintenance on && systemctl restart vrrpd``. The
    command answers once the new master is heard; the old node is then BACKUP and keeps
    its route ``announce_hold`` (0.3 s) while the new master's route travels to the
    routers. A stop in that window withdrew at once: the loss the hold is there to
    avoid (95-134 ms measured in docs/bgp.md for a withdraw at once)."""
    bgp = {"announce": "bgp", "announce_device": "lo"}
    lb1 = start_vrrpd(lab, Peer("n1", 150, vips=(f"{VIP}/32",), extra=bgp))
    start_vrrpd(lab, Peer("n2", 100, vips=(f"{VIP}/32",), extra=bgp))
    wait_for(lambda: VIP in lab.addresses("n1", "lo"), timeout=5, what="n1 MASTER")
    time.sleep(0.5)
    sock = str(lab.workdir / "n1.sock")
    lab.exec("n1", vrrpd_binary(), "maintenance", "on", "--socket", sock)
    answered = time.monotonic()
    lab.signal(lb1, signal.SIGTERM)
    while VIP in lab.addresses("n1", "lo") and time.monotonic() - answered < 3:
        time.sleep(0.005)
    kept = time.monotonic() - answered
    assert VIP in lab.addresses("n2", "lo")
    assert VIP not in lab.addresses("n1", "lo"), "the route was left behind"
    assert kept >= 0.2, f"the route went {kept * 1000:.0f} ms after maintenance on answered"
