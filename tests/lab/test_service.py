"""Checks, trackers, sync groups and hooks with a real service: nginx behind the VIP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from tests.lab.helpers import sole_holder
from vrrpd.lab import Lab, Process, wait_for
from vrrpd.lab.peers import Peer, start_nginx, start_vrrpd, vrrpd_binary, vrrpd_yaml

pytestmark = pytest.mark.netns

SCRIPTS = Path(__file__).resolve().parent.parent.parent / "scripts"
VIP = "192.0.2.100"
CHECK = "interval: 0.2, timeout: 1, rise: 2, fall: 2"


def served_by(lab: Lab, address: str = VIP) -> str:
    result = lab.exec("cl", "curl", "-s", "--max-time", "1", f"http://{address}/", check=False)
    return result.stdout.strip()


def web_peer(
    node: str, priority: int, check: str | None = None, weight: int = -60, **kw: object
) -> Peer:
    command = check or f"{SCRIPTS}/check_http.sh http://127.0.0.1/ 200 1"
    return Peer(
        node,
        priority,
        scripts={"chk": f"{{command: {command}, {CHECK}, weight: {weight}}}"},
        extra={"track_scripts": "[chk]", "notify": f"{{any: {SCRIPTS}/notify_log.sh}}"},
        **kw,  # type: ignore[arg-type]
    )


def start(lab: Lab, peer: Peer, text: str | None = None) -> Process:
    log = lab.workdir / f"{peer.node}-transitions.jsonl"
    return start_vrrpd(lab, peer, env={"VRRPD_NOTIFY_LOG": str(log)}, text=text)


def transitions(lab: Lab, node: str) -> list[dict[str, str]]:
    path = lab.workdir / f"{node}-transitions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_nginx_stops_the_vip_moves_nginx_returns_it_comes_back_and_hooks_ran_in_order(
    lab: Lab,
) -> None:
    nginx = {n: start_nginx(lab, n) for n in ("n1", "n2")}
    agent = start(lab, web_peer("n1", 150))
    start(lab, web_peer("n2", 100))
    sole_holder(lab, VIP, "n1")
    wait_for(lambda: served_by(lab) == "served by n1", timeout=5, what="n1 serving")

    lab.crash(nginx["n1"])  # nginx dies on the master
    sole_holder(lab, VIP, "n2", timeout=5)
    wait_for(lambda: served_by(lab) == "served by n2", timeout=5, what="n2 serving")

    nginx["n1"] = start_nginx(lab, "n1")  # it comes back: preemption
    sole_holder(lab, VIP, "n1", timeout=5)
    wait_for(lambda: served_by(lab) == "served by n1", timeout=5, what="n1 serving again")

    wait_for(lambda: len(transitions(lab, "n1")) >= 4, timeout=5, what="n1's hooks")
    hooks = transitions(lab, "n1")
    assert [h["state"] for h in hooks] == ["BACKUP", "MASTER", "BACKUP", "MASTER"]
    assert [int(h["sequence"]) for h in hooks] == sorted(int(h["sequence"]) for h in hooks)
    assert {(h["type"], h["name"], h["vrid"], h["vips"]) for h in hooks} == {
        ("INSTANCE", "web", "51", VIP)
    }
    assert hooks[2]["priority"] == "90"  # the check's weight, explained in the log:
    assert "priority check chk down (weight -60): 150 → 90" in agent.output()


def test_no_preempt_keeps_the_vip_where_it_went(lab: Lab) -> None:
    """Without preemption a backup follows any master, so only weight 0 (FAULT) moves the VIP."""
    nginx = {n: start_nginx(lab, n) for n in ("n1", "n2")}
    start(lab, web_peer("n1", 150, weight=0, preempt=False))
    sole_holder(lab, VIP, "n1", among=("n1",))  # without preemption the first master stays
    start(lab, web_peer("n2", 100, weight=0, preempt=False))
    sole_holder(lab, VIP, "n1")
    lab.crash(nginx["n1"])
    sole_holder(lab, VIP, "n2", timeout=5)
    start_nginx(lab, "n1")
    time.sleep(2.0)
    sole_holder(lab, VIP, "n2", timeout=0.1)
    assert served_by(lab) == "served by n2"


def test_a_hanging_check_is_killed_at_its_timeout_fails_over_and_leaves_no_process(
    lab: Lab,
) -> None:
    flag = lab.workdir / "hang"
    hanger = lab.workdir / "check_hang.sh"
    hanger.write_text(f"#!/bin/sh\nif [ -e {flag} ]; then sleep 61 & wait; fi\nexit 0\n")
    hanger.chmod(0o755)
    for node in ("n1", "n2"):
        start_nginx(lab, node)
    agent = start(lab, web_peer("n1", 150, check=str(hanger)))
    start(lab, web_peer("n2", 100))
    sole_holder(lab, VIP, "n1")
    flag.touch()
    sole_holder(lab, VIP, "n2", timeout=6)  # two timeouts of 1 s each, then the election
    assert "check chk failed (exit None" in agent.output()
    assert "killed after 1s timeout" in agent.output()
    flag.unlink()
    time.sleep(1.5)  # any run still hanging hits its timeout meanwhile
    sleepers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "61"]]
    assert sleepers == [], "a hung check's child survived its process group kill"
    zombies = [
        c for c in psutil.Process(agent.pid).children() if c.status() == psutil.STATUS_ZOMBIE
    ]
    assert zombies == []
    sole_holder(lab, VIP, "n1", timeout=5)


def test_maintenance_file_drains_the_node_and_brings_it_back(lab: Lab) -> None:
    maintenance = lab.workdir / "n1-maintenance"
    for node in ("n1", "n2"):
        start_nginx(lab, node)
    start(lab, web_peer("n1", 150, check=f"{SCRIPTS}/check_file.sh {maintenance}"))
    start(lab, web_peer("n2", 100))
    sole_holder(lab, VIP, "n1")
    maintenance.touch()
    sole_holder(lab, VIP, "n2", timeout=5)
    assert served_by(lab) == "served by n2"
    maintenance.unlink()
    sole_holder(lab, VIP, "n1", timeout=5)


def test_sync_group_two_vrids_move_together_and_fault_in_one_is_fault_in_both(lab: Lab) -> None:
    maintenance = lab.workdir / "db-maintenance"
    agents = {}
    for node, priority in (("n1", 150), ("n2", 100)):
        peer = Peer(
            node,
            priority,
            scripts={
                "maint": f"{{command: {SCRIPTS}/check_file.sh {maintenance}, interval: 0.2, weight: 0}}"
            },
            instances=(("db", 52, "192.0.2.200/24"),),
            sync_group="front",
        )
        text = vrrpd_yaml(lab, peer)
        if node == "n1":
            text = text.replace(
                "  db:\n", "  db:\n    track_scripts: [maint]\n"
            )  # only db tracks it
        agents[node] = start(lab, peer, text=text)
    sole_holder(lab, VIP, "n1")
    sole_holder(lab, "192.0.2.200", "n1")
    maintenance.touch()  # db on n1 goes to FAULT, and takes web with it
    sole_holder(lab, VIP, "n2", timeout=5)
    sole_holder(lab, "192.0.2.200", "n2", timeout=5)
    status = json.loads(
        lab.exec(
            "n1", vrrpd_binary(), "status", "--json", "--socket", str(lab.workdir / "n1.sock")
        ).stdout
    )
    assert status["instances"]["db"]["state"] == "FAULT"
    assert status["instances"]["web"]["faults"] == ["sync group front: db in FAULT"]
    maintenance.unlink()
    sole_holder(lab, VIP, "n1", timeout=5)
    sole_holder(lab, "192.0.2.200", "n1", timeout=5)
    lab.crash(agents["n1"], unplug="n1")  # the whole node: both move
    sole_holder(lab, VIP, "n2", timeout=5, among=("n2",))
    sole_holder(lab, "192.0.2.200", "n2", timeout=5, among=("n2",))


def test_file_and_process_trackers_move_priority_and_explain_it(lab: Lab) -> None:
    prio_file = lab.workdir / "web.prio"
    marker = "sleep 3607"  # matched by command line (it has a space)
    peer = Peer(
        "n1",
        150,
        extra={
            "track_files": f"[{{path: {prio_file}, weight: 10}}]",
            "track_processes": f'[{{name: "{marker}", weight: -60}}]',
        },
    )
    start(lab, peer)
    sock = str(lab.workdir / "n1.sock")

    def web() -> dict[str, object]:
        out = lab.exec(
            "n1", vrrpd_binary(), "status", "--json", "--socket", sock, check=False
        ).stdout
        return dict(json.loads(out)["instances"]["web"]) if out else {}

    # no file (0 x 10) and no process (-60): 150 - 60
    wait_for(lambda: web().get("effective_priority") == 90, timeout=5, what="priority 90")
    prio_file.write_text("3\n")
    wait_for(
        lambda: web().get("effective_priority") == 120, timeout=5, what="priority 120 (file 3 x 10)"
    )
    sleeper = lab.start("n1", marker.split(), label="sleeper")
    wait_for(
        lambda: web().get("effective_priority") == 180,
        timeout=5,
        what="priority 180 (process back)",
    )
    trackers = {t["name"]: t["delta"] for t in web()["trackers"]}  # type: ignore[union-attr]
    assert trackers == {f"file {prio_file} = 3": 30, f"process {marker} (1 running, quorum 1)": 0}
    lab.crash(sleeper)
    wait_for(lambda: web().get("effective_priority") == 120, timeout=5, what="priority 120 again")


def test_tracked_interface_down_is_fault_and_the_vip_moves(lab: Lab) -> None:
    namespace = lab.nodes["n1"].namespace
    lab.ip(namespace, "link", "add", "uplink", "type", "veth", "peer", "name", "uplink-peer")
    lab.ip(namespace, "link", "set", "uplink-peer", "up")
    lab.ip(namespace, "link", "set", "uplink", "up")
    agent = start(lab, Peer("n1", 150, extra={"track_interfaces": "[uplink]"}))
    start(lab, Peer("n2", 100))
    sole_holder(lab, VIP, "n1")
    lab.ip(namespace, "link", "set", "uplink", "down")
    sole_holder(lab, VIP, "n2", timeout=5)
    assert "interface uplink down (weight 0)" in agent.output()
    lab.ip(namespace, "link", "set", "uplink", "up")
    sole_holder(lab, VIP, "n1", timeout=5)


def test_split_brain_heals_to_the_right_master_which_refires_its_master_hook(lab: Lab) -> None:
    n1 = start(lab, web_peer("n1", 150, check="/bin/true"))
    start(lab, web_peer("n2", 100, check="/bin/true"))
    sole_holder(lab, VIP, "n1")
    assert lab.ping("cl", VIP)  # the client knows the VIP at n1's MAC
    # started together, both may have been master for a moment (a heal at startup):
    # count the heals and hooks from here, once the start's hooks have run (~50 ms each)
    time.sleep(0.5)
    masters = [h["state"] for h in transitions(lab, "n1")].count("MASTER")
    heals = n1.output().count("split brain healed")
    lab.isolate("n1", "n2")  # links up, but they cannot hear each other
    wait_for(lambda: VIP in lab.addresses("n2"), timeout=5, what="n2 master during the partition")
    assert VIP in lab.addresses("n1")  # two masters: the split brain
    wait_for(
        lambda: lab.neighbour_mac("cl", VIP) == lab.mac("n2"),
        timeout=3,
        what="n2 stealing the client",
    )
    lab.isolate("n1", "n2", on=False)
    sole_holder(lab, VIP, "n1", timeout=5)
    wait_for(
        lambda: n1.output().count("split brain healed") > heals, timeout=5, what="the heal logged"
    )
    wait_for(
        lambda: [h["state"] for h in transitions(lab, "n1")].count("MASTER") == masters + 1,
        timeout=5,
        what="hook",
    )
    healed = [h for h in transitions(lab, "n1") if h["state"] == "MASTER"][-1]
    assert healed["reason"].startswith("split brain healed: lower-priority master 192.0.2.12 (100)")
    # the client came back with the re-announcement
    wait_for(lambda: lab.neighbour_mac("cl", VIP) == lab.mac("n1"), timeout=2, what="client back")


def test_a_reload_that_adds_a_tracked_file_polls_it(lab: Lab) -> None:
    prio_file = lab.workdir / "bonus"
    prio_file.write_text("2\n")
    agent = start(lab, Peer("n1", 150))
    sole_holder(lab, VIP, "n1", among=("n1",))
    config = lab.workdir / "n1.yaml"
    config.write_text(config.read_text() + f"    track_files: [{{path: {prio_file}, weight: 5}}]\n")
    assert (
        "configuration reloaded"
        in lab.exec("n1", vrrpd_binary(), "reload", "--socket", str(lab.workdir / "n1.sock")).stdout
    )
    sock = str(lab.workdir / "n1.sock")

    def effective() -> int:
        out = lab.exec("n1", vrrpd_binary(), "status", "--json", "--socket", sock).stdout
        return int(json.loads(out)["instances"]["web"]["effective_priority"])

    wait_for(lambda: effective() == 160, timeout=5, what="the file's 2 x 5 added")
    assert agent.alive()
