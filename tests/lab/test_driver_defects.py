"""Review defects that only a kernel can show, each failing against the old driver."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer, vrrpd_binary

pytestmark = pytest.mark.netns


def test_a_reload_from_unicast_to_multicast_hears_the_master(lab: Lab) -> None:
    """Defect 2: sockets were made once per (interface, family); an instance reloaded from
    unicast to multicast kept a socket that never joined 224.0.0.18 and heard nothing:
    it took the VIP back after Master_Down_Interval and stayed a second master."""
    n1 = start(lab, Peer("n1", 100, unicast_peers=("192.0.2.12",)))
    start(lab, Peer("n2", 150))
    # n1 cannot hear n2's multicast adverts yet: both hold the VIP (a split brain).
    wait_for(
        lambda: "192.0.2.100" in lab.addresses("n1") and "192.0.2.100" in lab.addresses("n2"),
        timeout=5,
        what="both nodes master while n1 is unicast-only",
    )
    config = lab.workdir / "n1.yaml"
    config.write_text(config.read_text().replace("    unicast_peers: [192.0.2.12]\n", ""))
    lab.signal(n1, signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in n1.output(), timeout=5, what="reload")
    sole_holder(lab, "192.0.2.100", "n2", among=("n1", "n2"))
    # and it stays so, well past n1's Master_Down_Interval (0.36 s)
    for _ in range(6):
        time.sleep(0.25)
        assert "192.0.2.100" not in lab.addresses("n1"), n1.output()[-2000:]


def test_the_address_owner_keeps_its_only_address_and_is_master(lab: Lab) -> None:
    """Defect 3: every VIP was hidden from the core, so an owner whose VIP is its only
    IPv4 address had no source and went to FAULT; and a VIP that was already there was
    written to the ledger, to be deleted at stop."""
    owner = start(lab, Peer("n1", 255, vips=("192.0.2.11/24",)))
    start(lab, Peer("n2", 100, vips=("192.0.2.11/24",)))
    sock = str(lab.workdir / "n1.sock")

    def state() -> str:
        done = lab.exec("n1", vrrpd_binary(), "status", "--json", "--socket", sock, check=False)
        if done.returncode:
            return "not answering yet"
        return str(json.loads(done.stdout)["instances"]["web"]["state"])

    wait_for(lambda: state() == "MASTER", timeout=5, what="the owner MASTER")
    assert "FAULT" not in owner.output()
    # the backup follows the owner (it may have been master until the owner's agent
    # was up: then it yields, and lets the address go after the yield window)
    wait_for(lambda: "192.0.2.11" not in lab.addresses("n2"), timeout=2, what="n2 yielding")
    lab.signal(owner, signal.SIGTERM)
    wait_for(lambda: not owner.alive(), timeout=5, what="the owner's agent to exit")
    assert "192.0.2.11" in lab.addresses("n1"), "the owner's own address was deleted"
