"""`vrrpd sniff` on a real wire, inside a namespace, as an operator runs it."""

from __future__ import annotations

import json

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab
from vrrpd.lab.peers import Peer, vrrpd_binary

pytestmark = pytest.mark.netns


def test_sniff_shows_the_adverts_and_names_the_master(lab: Lab) -> None:
    start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    done = lab.exec("cl", vrrpd_binary(), "sniff", "eth0", "--summary", "1.5", "--json", timeout=20)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    adverts = [r for r in records if r.get("kind") == "advert"]
    assert len(adverts) >= 10  # every 0.1 s for 1.5 s
    assert {(r["src"], r["vrid"], r["priority"]) for r in adverts} == {("192.0.2.11", 51, 150)}
    summary = [r["summary"] for r in records if "summary" in r]
    assert summary == ["VRID 51: master 192.0.2.11; heard from 192.0.2.11"]


def test_watch_streams_the_agents_state_changes(lab: Lab) -> None:
    from vrrpd.lab import wait_for

    start(lab, Peer("n1", 100))
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    sock = str(lab.workdir / "n1.sock")
    watcher = lab.start("n1", [vrrpd_binary(), "watch", "--socket", sock], label="watch")
    wait_for(lambda: '"watching"' in watcher.output(), timeout=5, what="the watch stream")
    start(lab, Peer("n2", 150))  # a better node arrives: n1 yields
    wait_for(lambda: '"new": "BACKUP"' in watcher.output(), timeout=5, what="the state event")
    events = [json.loads(line) for line in watcher.output().splitlines() if line.startswith("{")]
    change = next(e for e in events if e.get("new") == "BACKUP")
    assert change["event"] == "state"
    assert change["instance"] == "web"
    assert change["old"] == "MASTER"
    assert "higher priority 150" in change["reason"]


def test_announce_on_the_master_and_refused_on_the_backup(lab: Lab) -> None:
    start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    sniffing = lab.start("cl", [vrrpd_binary(), "sniff", "eth0", "--arp", "--json"], label="sniff")
    master = lab.exec("n1", vrrpd_binary(), "announce", "--socket", str(lab.workdir / "n1.sock"))
    assert master.stdout.strip() == "announced the VIPs of web"
    from vrrpd.lab import wait_for

    wait_for(lambda: '"kind": "arp"' in sniffing.output(), timeout=5, what="the GARP on the wire")
    backup = lab.exec(
        "n2",
        vrrpd_binary(),
        "announce",
        "web",
        "--socket",
        str(lab.workdir / "n2.sock"),
        check=False,
    )
    assert backup.returncode == 1
    assert "no instance asked for is MASTER here" in backup.stdout
