"""Reloads without a flap (issue 7): only a change of identity restarts an instance."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer

pytestmark = pytest.mark.netns


def test_twenty_reloads_of_priority_and_a_second_vip_never_drop_the_first(lab: Lab) -> None:
    """Before: each reload that touched the VIPs released the instance (priority 0): 10
    deletions of the first VIP on the master and a 68.8 ms client outage in 20 reloads."""
    master = start(lab, Peer("n1", 150))
    backup = start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    settled = len(backup.output())  # started together, the backup may have won a moment
    config = lab.workdir / "n1.yaml"
    original = config.read_text()
    gaps: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if "192.0.2.100" not in lab.addresses("n1"):
                gaps.append(time.monotonic())
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for round_ in range(20):
            second = round_ % 2 == 0
            text = original.replace(
                "virtual_addresses: [192.0.2.100/24]",
                "virtual_addresses: [192.0.2.100/24, 192.0.2.101/24]"
                if second
                else "virtual_addresses: [192.0.2.100/24]",
            ).replace("priority: 150", f"priority: {150 + round_ % 3}")
            config.write_text(text)
            seen = master.output().count("configuration reloaded")
            lab.signal(master, signal.SIGHUP)
            wait_for(
                lambda s=seen: master.output().count("configuration reloaded") > s,
                timeout=5,
                what="reload",
            )
            wait_for(
                lambda s=second: ("192.0.2.101" in lab.addresses("n1")) == s,
                timeout=2,
                what="the second VIP to follow the file",
            )
    finally:
        stop.set()
        watcher.join(2)
    assert gaps == [], f"the first VIP was missing from the master {len(gaps)} times"
    assert "-> MASTER" not in backup.output()[settled:]
    assert " -> INIT" not in master.output()  # never released
    assert "192.0.2.101" not in lab.addresses("n2")
