"""`vrrpd maintenance` with real agents: the VIP always has a holder."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer, vrrpd_binary

pytestmark = pytest.mark.netns
VIP = "192.0.2.100"


def _ask(lab: Lab, node: str, *args: str, check: bool = True) -> str:
    done = lab.exec(node, vrrpd_binary(), *args, "--socket", str(lab.workdir / f"{node}.sock"),
                    check=check, timeout=15)  # fmt: skip
    return done.stdout.strip() if check else f"{done.returncode} {done.stdout.strip()}"


def test_maintenance_hands_over_with_the_vip_always_held_and_comes_back(lab: Lab) -> None:
    start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, VIP, "n1")
    empty: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            if not lab.holders(VIP):
                empty.append(time.monotonic())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        said = _ask(lab, "n1", "maintenance", "on")
        assert said == "maintenance on: web (now following 192.0.2.12)"
        sole_holder(lab, VIP, "n2", among=("n1", "n2"))
        status = json.loads(_ask(lab, "n1", "status", "--json"))["instances"]["web"]
        assert (status["state"], status["maintenance"]) == ("BACKUP", True)
        time.sleep(1.0)
        assert lab.holders(VIP) == ["n2"]  # it stays out while in maintenance
        assert _ask(lab, "n1", "maintenance", "off") == "maintenance off: web"
        sole_holder(lab, VIP, "n1", among=("n1", "n2"))
    finally:
        stop.set()
        sampler.join(2)
    assert empty == [], f"the VIP had no holder in {len(empty)} samples"


def test_with_no_backup_maintenance_is_refused_and_the_vip_stays(lab: Lab) -> None:
    start(lab, Peer("n1", 150))
    sole_holder(lab, VIP, "n1", among=("n1",))
    said = _ask(lab, "n1", "maintenance", "on", check=False)
    assert said == "1 no backup took over web: still MASTER, maintenance off"
    assert lab.holders(VIP) == ["n1"]


def test_maintenance_hands_over_to_a_keepalived_backup(lab: Lab) -> None:
    """Keepalived takes a priority-0 release like any RFC router; vrrpd yields on its advert."""
    start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100), "keepalived")
    sole_holder(lab, VIP, "n1")
    assert _ask(lab, "n1", "maintenance", "on") == "maintenance on: web (now following 192.0.2.12)"
    sole_holder(lab, VIP, "n2", among=("n1", "n2"))
    assert _ask(lab, "n1", "maintenance", "off") == "maintenance off: web"
    sole_holder(lab, VIP, "n1", among=("n1", "n2"))


def test_maintenance_is_kept_across_a_restart_so_an_upgrade_does_not_fail_back(lab: Lab) -> None:
    """The upgrade procedure: maintenance on, the package's try-restart, maintenance off.
    The restarted agent must not preempt the backup it handed over to."""
    first = start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, VIP, "n1")
    _ask(lab, "n1", "maintenance", "on")
    sole_holder(lab, VIP, "n2", among=("n1", "n2"))
    lab.signal(first, signal.SIGTERM)
    assert lab.wait(first) == 0
    start(lab, Peer("n1", 150))
    wait_for(lambda: _status(lab, "n1").get("state") == "BACKUP", timeout=5, what="n1 as BACKUP")
    assert _status(lab, "n1")["maintenance"] is True
    time.sleep(1.5)  # several master-down intervals: a preempting n1 would hold it now
    assert lab.holders(VIP) == ["n2"]
    assert _ask(lab, "n1", "maintenance", "off") == "maintenance off: web"
    sole_holder(lab, VIP, "n1", among=("n1", "n2"))
    # Off is kept too: the next restart takes part in elections again.
    assert not (lab.workdir / "n1.state.maintenance.json").exists()


def _status(lab: Lab, node: str) -> dict[str, object]:
    """The instance's status, or {} while the agent is not answering yet."""
    said = _ask(lab, node, "status", "--json", check=False)
    if not said.startswith("0 "):
        return {}
    status: dict[str, object] = json.loads(said[2:])["instances"]["web"]
    return status
