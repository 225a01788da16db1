"""``announce: bgp`` through a real FRR fabric (issue 19): the drills and their bars.

lb1 (priority 150) and lb2 (100) each run FRR and vrrpd on their own routed link to a
router running FRR (BFD 300 ms x 3); the client pings the VIP every 2 ms. Each drill
gets a fresh lab; the outage is the longest silence the client saw, and the router's
path change is read from ``ip monitor route`` in its namespace.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vrrpd.lab import Lab, Process, outage, replies, wait_for
from vrrpd.lab.bgp import (
    LINKS,
    METRICS,
    VIP,
    BgpLab,
    Fabric,
    bring_up,
    lost,
    path_changes,
    probe,
    route_monitor,
    vrrpd_config,
)
from vrrpd.lab.peers import vrrpd_binary

pytestmark = pytest.mark.netns

LB1, LB2 = LINKS["lb1"][1], LINKS["lb2"][1]
RETURN_PREEMPT_DELAY = 2.0
"""The return drill's ``preempt_delay`` (docs/bgp.md: longer than the check's first answer)."""


@pytest.fixture
def fabric(request: pytest.FixtureRequest) -> Iterator[Fabric]:
    bfd_ms = getattr(request, "param", 300)
    lab = BgpLab(bfd_ms=bfd_ms, multiplier=3)
    try:
        fabric = bring_up(lab)
        assert not fabric.on_lo("lb2")
        yield fabric
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for process in lab.processes:
                sys.stderr.write(
                    f"--- {process.namespace} {process.name}\n{process.output()[-3000:]}\n"
                )
    finally:
        lab.close()


def _drill(fabric: Fabric, act: str) -> tuple[float, float | None, float | None]:
    """(client outage, seconds until the router's path moved to lb2, lb2's takeover) in s."""
    lab = fabric.lab
    monitor = route_monitor(lab)
    client = probe(lab)
    wait_for(lambda: len(replies(client)) > 50, timeout=10, what="the client's replies")
    t0 = time.time()
    if act == "maintenance":
        fabric.ctl("lb1", "maintenance", "on")
    elif act == "stop":
        lab.signal(fabric.agents["lb1"], signal.SIGTERM)
    elif act == "check":
        fabric.fail_flag.touch()
    elif act == "crash":
        lab.freeze("lb1")
        lab.cut("lb1")
        lab.kill_all("lb1")
    wait_for(lambda: lab.best_path() == LB2, timeout=10, what="the router's path to lb2")
    took = wait_for(lambda: fabric.on_lo("lb2") and time.time(), timeout=5, what="lb2 MASTER")
    time.sleep(1.5)
    assert lab.best_path() == LB2
    gap = outage(replies(client), t0, time.time() - 0.5)  # ping's output lags
    moved = [at for at, line in path_changes(monitor) if LB2 in line and "Deleted" not in line]
    path = moved[0] - t0 if moved else None
    print(
        f"\nbgp drill {act}: client outage {gap * 1000:.1f} ms, router path to lb2 after "
        f"{(path or 0) * 1000:.1f} ms"
    )
    return gap, path, took - t0


def test_maintenance_moves_the_route_with_no_outage(fabric: Fabric) -> None:
    gap, _, _ = _drill(fabric, "maintenance")
    assert gap < 0.020
    assert not fabric.on_lo("lb1")


def test_the_service_on_the_vip_is_served_by_the_master_through_the_fabric(
    fabric: Fabric,
) -> None:
    """The payment entry point as a client sees it: HTTP to the VIP, across the
    router, answered by lb1; after ``maintenance on``, by lb2."""
    lab = fabric.lab
    # the HTTP servers start with the fabric: wait for them to listen (a fresh machine
    # was slower than the first GET), not for the answer to change
    wait_for(lambda: lab.fetch() is not None, timeout=10, what="the service on the VIP")
    assert lab.fetch() == "lb1"
    fabric.ctl("lb1", "maintenance", "on")
    wait_for(lambda: lab.best_path() == LB2, timeout=10, what="the router's path to lb2")
    assert lab.fetch() == "lb2"


def test_status_says_frr_advertises_the_vip_with_bfd_up_on_the_master_and_not_after_a_handover(
    fabric: Fabric,
) -> None:
    """``vrrpd status`` asks the node's FRR (vtysh, in a thread, at most every 5 s): per
    neighbour, whether this node's own route for the VIP is advertised, and BFD."""
    r1, r2 = LINKS["lb1"][0], LINKS["lb2"][0]
    up = {"session": "Established", "advertised": True, "bfd": "up"}
    lb1 = fabric.frr("lb1")
    assert lb1["error"] is None
    assert lb1["neighbors"] == {r1: up}
    assert fabric.frr("lb2")["neighbors"] == {r2: {**up, "advertised": False}}
    table = fabric.ctl("lb1", "status")
    assert f"neighbor {r1} Established, BFD up, VIPs advertised" in table
    metrics = fabric.lab.exec("lb1", "curl", "-sf", f"http://{METRICS}/metrics").stdout
    labels = f'vrrp_instance="pay",interface="eth0",vrid="60",family="ipv4",neighbor="{r1}"'
    assert f"vrrpd_bgp_vip_advertised{{{labels}}} 1" in metrics.splitlines()
    assert f"vrrpd_bfd_session_up{{{labels}}} 1" in metrics.splitlines()
    fabric.ctl("lb1", "maintenance", "on")
    wait_for(lambda: fabric.lab.best_path() == LB2, timeout=10, what="the router's path to lb2")
    wait_for(lambda: not fabric.frr("lb1")["neighbors"][r1]["advertised"], timeout=15,
             interval=0.5, what="lb1's status: not advertised")  # fmt: skip
    lb1 = fabric.frr("lb1")
    print(f"\nlb1 after the handover: {lb1}")
    assert lb1["neighbors"] == {r1: {**up, "advertised": False}}
    assert lb1["age"] <= 5 + 3  # REFRESH + TIMEOUT
    wait_for(lambda: fabric.frr("lb2")["neighbors"] == {r2: up}, timeout=15, interval=0.5,
             what="lb2's status: advertised")  # fmt: skip


def test_graceful_stop_moves_the_route_within_100ms_and_leaves_nothing(fabric: Fabric) -> None:
    gap, _, _ = _drill(fabric, "stop")
    # The bar is 100 ms; a master that never heard its silent backup used to withdraw at
    # once and cost 54-63 ms; handed over, it costs nothing (2 ms probes).
    assert gap < 0.050
    assert fabric.lab.wait(fabric.agents["lb1"], 10) == 0
    assert not fabric.on_lo("lb1")
    local = fabric.lab.ip(fabric.lab.nodes["lb1"].namespace, "route", "show", "table", "local")
    assert VIP not in local  # the grace's local route went with the agent


def test_a_failed_check_moves_the_route_without_an_outage(fabric: Fabric) -> None:
    gap, _, took = _drill(fabric, "check")
    assert took is not None
    assert gap <= 0.3
    assert not fabric.on_lo("lb1")


@pytest.mark.parametrize("fabric", [300, 100], indirect=True, ids=["bfd300x3", "bfd100x3"])
def test_a_crash_is_routed_around_within_bfd_detection_and_no_route_is_left(
    fabric: Fabric,
) -> None:
    gap, path, _ = _drill(fabric, "crash")
    bfd_ms = fabric.lab.bfd[0]
    assert gap <= (0.9 + 0.3 if bfd_ms == 300 else 0.6)
    assert path is not None
    routes = fabric.lab.frr["r"].vtysh(fabric.lab, f"show ip bgp {VIP}/32")
    assert LB1 not in routes  # nothing left from the dead node


def test_a_restart_after_a_crash_removes_the_route_left_on_lo(fabric: Fabric) -> None:
    """The agent alone killed: its VIP stays on lo (and announced); the next start
    removes it (ledger) before it takes part in the election again."""
    lab = fabric.lab
    lab.signal(fabric.agents["lb1"], signal.SIGKILL)
    lab.wait(fabric.agents["lb1"], 5)
    assert fabric.on_lo("lb1")  # left behind by the crash
    wait_for(lambda: fabric.on_lo("lb2"), timeout=5, what="lb2 taking over")
    restarted = fabric.start_agent("lb1", 150)
    wait_for(
        lambda: "left behind by a previous run" in restarted.output(),
        timeout=10,
        what="the stale VIP removed at start",
    )
    assert "203.0.113.10/32 on lo" in restarted.output()


def test_anycast_a_failed_check_withdraws_and_the_other_node_serves_without_a_gap() -> None:
    """election: none on both: both announce; lb1's check fails (interval 0.1, fall 1),
    its route goes within fall x interval + 0.3 s and the client sees no gap."""
    lab = BgpLab()
    try:
        for name in ("r", "lb1", "lb2"):
            lab.start_frr(name)
        wait_for(lambda: lab.established("r"), timeout=30, what="the router's BGP sessions")
        fabric = Fabric(lab)
        fabric.start_agent("lb1", 100, anycast=True)
        wait_for(lambda: lab.best_path() == LB1, timeout=10, what="the route to lb1")
        fabric.start_agent("lb2", 100, anycast=True)
        wait_for(lambda: fabric.on_lo("lb2"), timeout=10, what="lb2 holding the VIP too")
        time.sleep(1.0)
        assert lab.best_path() == LB1  # the older path
        monitor = route_monitor(lab)
        client = probe(lab)
        wait_for(lambda: len(replies(client)) > 50, timeout=10, what="the client's replies")
        t0 = time.time()
        fabric.fail_flag.touch()
        wait_for(lambda: lab.best_path() == LB2, timeout=5, what="the path to lb2")
        time.sleep(1.0)
        gap = outage(replies(client), t0, time.time() - 0.5)  # ping's output lags
        moved = [at for at, line in path_changes(monitor) if LB2 in line and "Deleted" not in line]
        assert moved
        print(f"\nbgp anycast check: client outage {gap * 1000:.1f} ms, "
              f"router path to lb2 after {(moved[0] - t0) * 1000:.1f} ms")  # fmt: skip
        assert moved[0] - t0 <= 1 * 0.1 + 0.3 + 0.1  # + the check's own run
        assert gap < 0.020
        assert not fabric.on_lo("lb1")
        assert fabric.on_lo("lb2")
    finally:
        lab.close()


def test_a_node_coming_back_waits_for_its_session_before_preempting() -> None:
    """lb1 crashes and comes back (FRR and vrrpd restarted together) while lb2 serves.

    A tracked check counted as up until its first result (an instance now waits for it
    before it starts), so lb1 used to preempt ~0.1 s after its start, before
    check_bgp.sh had answered (0.5-1 s: vtysh), then fell to
    FAULT when the answer was "session not up long enough" and withdrew: a flap that
    cost 10-292 ms whenever lb1's withdraw reached the router before lb2's new route.
    With ``preempt_delay`` longer than the check's first answer, lb1 stays BACKUP, goes
    FAULT, and preempts (make-before-break) once its session has been up ``-u`` s."""
    lab = BgpLab()
    script = Path(__file__).resolve().parents[2] / "scripts" / "check_bgp.sh"
    try:
        for name in ("r", "lb1", "lb2"):
            lab.start_frr(name)
        wait_for(lambda: lab.established("r"), timeout=30, what="the router's BGP sessions")
        fabric = Fabric(lab)

        def agent(name: str, priority: int) -> Process:
            # -u 3: the restarted node's session is never up that long when its agent
            # starts (it starts with FRR), so its check's first answer is CRITICAL.
            check = f"{script} -s {lab.workdir / f'frr-{name}'} -t 1 -u 3"
            fabric.configs[name] = vrrpd_config(
                lab, name, priority, check, weight=0, preempt_delay=RETURN_PREEMPT_DELAY
            )
            argv = [vrrpd_binary(), "run", "-c", str(fabric.configs[name])]
            fabric.agents[name] = lab.start(name, argv, label="vrrpd")
            return fabric.agents[name]

        agent("lb1", 150)
        wait_for(lambda: lab.best_path() == LB1, timeout=15, what="the route to lb1")
        agent("lb2", 100)
        time.sleep(1.0)
        lab.freeze("lb1")
        lab.cut("lb1")
        lab.kill_all("lb1")
        wait_for(lambda: lab.best_path() == LB2, timeout=10, what="the route to lb2")
        lab.ip(lab.nodes["lb1"].namespace, "addr", "flush", "dev", "lo", "scope", "global")
        client = probe(lab)
        wait_for(lambda: len(replies(client)) > 50, timeout=10, what="the client's replies")
        t0 = time.time()
        lab.uncut("lb1")
        lab.start_frr("lb1")
        back = agent("lb1", 150)
        wait_for(lambda: lab.best_path() == LB1, timeout=20, what="lb1 back as the path")
        time.sleep(1.0)
        gap = outage(replies(client), t0, time.time() - 0.5)  # ping's output lags
        dropped = lost(client, t0)
        print(
            f"\nbgp return (check_bgp, preempt_delay {RETURN_PREEMPT_DELAY:g}): longest "
            f"silence {gap * 1000:.1f} ms, probes lost {dropped}"
        )
        assert "MASTER -> FAULT" not in back.output()  # no flap
        assert dropped == 0
        assert gap < 0.1  # a silence with nothing lost: ping not scheduled (see lost())
    finally:
        lab.close()


def test_a_missing_announce_device_is_created_as_a_dummy_or_refused_loudly() -> None:
    """``announce_device: vip0`` that does not exist: a dummy device where the kernel
    has the driver (the VIP then goes on it); without the driver (this project's CI
    kernel) an error at start that names the device and the driver, and the VIP is put
    on no other device in its place."""
    with Lab() as lab:
        lab.add_node("a", "192.0.2.11", "2001:db8::11")
        namespace = lab.nodes["a"].namespace
        probe_link = subprocess.run(
            ["ip", "-n", namespace, "link", "add", "probe0", "type", "dummy"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        has_dummy = probe_link.returncode == 0
        if has_dummy:
            lab.ip(namespace, "link", "del", "probe0")
        work = lab.workdir / "vrrpd-a"
        work.mkdir()
        path = work / "vrrpd.yaml"
        path.write_text(
            f"global:\n  router_id: a\n  control_socket: {work}/vrrpd.sock\n"
            f"  state_file: {work}/state.json\n"
            "instances:\n  pay:\n    interface: eth0\n    vrid: 60\n    priority: 150\n"
            "    advert_interval: 0.1\n    announce: bgp\n    announce_device: vip0\n"
            "    virtual_addresses: [203.0.113.20/32]\n"
        )
        agent = lab.start("a", [vrrpd_binary(), "run", "-c", str(path)], label="vrrpd")
        wait_for(lambda: "-> MASTER" in agent.output(), timeout=10, what="a MASTER")
        time.sleep(0.3)
        links = lab.ip(namespace, "-o", "link", "show")
        if has_dummy:
            assert "created dummy device vip0" in agent.output()
            assert "203.0.113.20" in lab.addresses("a", "vip0")
        else:
            print(f"\nno dummy driver here ({probe_link.stderr.strip()}): the refusal path")
            assert "announce_device vip0 does not exist and cannot be created" in agent.output()
            assert "dummy driver" in agent.output()
            assert "vip0" not in links
        assert "203.0.113.20" not in lab.addresses("a", "lo")
        assert "203.0.113.20" not in lab.addresses("a", "eth0")
        lab.signal(agent, signal.SIGTERM)
        assert lab.wait(agent, 10) == 0
