"""track_processes' ``user:`` on a running agent: an impostor of another user does not
keep the tracker up (issue 16 leftover; the unit tests are tests/test_track_processes.py)."""

from __future__ import annotations

import json
import time

import psutil
import pytest

from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer, start_vrrpd, vrrpd_binary

pytestmark = pytest.mark.netns


def test_a_process_of_another_user_does_not_keep_the_tracker_up(lab: Lab) -> None:
    marker = "sleep 3611"  # matched by command line (it has a space)
    peer = Peer(
        "n1",
        150,
        extra={"track_processes": f'[{{name: "{marker}", weight: -60, user: root}}]'},
    )
    start_vrrpd(lab, peer)
    sock = str(lab.workdir / "n1.sock")

    def web() -> dict[str, object]:
        out = lab.exec(
            "n1", vrrpd_binary(), "status", "--json", "--socket", sock, check=False
        ).stdout
        return dict(json.loads(out)["instances"]["web"]) if out else {}

    wait_for(lambda: web().get("effective_priority") == 90, timeout=5, what="priority 90")
    # a local user's impostor, with the same command line
    impostor = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *marker.split()]
    lab.start("n1", impostor, label="impostor")
    wait_for(
        lambda: any(
            p.info["cmdline"] == marker.split() and p.info["uids"].real == 65534
            for p in psutil.process_iter(["cmdline", "uids"])
        ),
        timeout=5,
        what="the impostor running",
    )
    for _ in range(3):  # three polls (1 s each): still down
        wait_for(lambda: web().get("effective_priority") is not None, timeout=2, what="status")
        assert web()["effective_priority"] == 90
        time.sleep(1)
    lab.start("n1", marker.split(), label="service")  # the real one, as root
    wait_for(lambda: web().get("effective_priority") == 150, timeout=5, what="priority 150")
    trackers = {t["name"]: t["delta"] for t in web()["trackers"]}  # type: ignore[union-attr]
    assert trackers == {f"process {marker} [user root] (1 running, quorum 1)": 0}
