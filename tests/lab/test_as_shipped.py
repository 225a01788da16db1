"""The agent as the unit runs it: the unit's capability set, no new privileges, and
checks as the default script_user (nobody), moving the VIP when nginx dies."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.lab.helpers import sole_holder
from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer, start_nginx, vrrpd_binary, vrrpd_yaml

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parent.parent.parent
VIP = "192.0.2.100"


def unit_capabilities() -> str:
    """``+cap,+cap`` from etc/vrrpd.service's CapabilityBoundingSet."""
    line = next(
        x
        for x in (ROOT / "etc" / "vrrpd.service").read_text().splitlines()
        if x.startswith("CapabilityBoundingSet=")
    )
    return ",".join(f"+{c.removeprefix('CAP_').lower()}" for c in line.split("=", 1)[1].split())


def test_checks_run_as_nobody_under_the_units_capabilities_and_move_the_vip(lab: Lab) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv is missing: apt-get install util-linux (make test installs it)")
    # nobody must reach the check: a root-owned, world-readable place (the lab's own
    # directory is private, and the checkout may sit under /root)
    os.chmod(lab.workdir, 0o755)  # noqa: S103 - root-owned, read-only to others, like /usr/share
    check = lab.workdir / "check_http.sh"
    shutil.copy(ROOT / "scripts" / "check_http.sh", check)
    check.chmod(0o755)
    nginx = {n: start_nginx(lab, n) for n in ("n1", "n2")}
    caps = unit_capabilities()
    agents = {}
    for node, priority in (("n1", 150), ("n2", 100)):
        peer = Peer(
            node,
            priority,
            scripts={
                "chk": f"{{command: {check} http://127.0.0.1/ 200 1, interval: 0.2, fall: 2, rise: 2, weight: -60}}"
            },
            extra={"track_scripts": "[chk]"},
        )
        text = vrrpd_yaml(lab, peer).replace("script_user: root", "script_user: nobody")
        path = lab.workdir / f"{node}.yaml"
        path.write_text(text)
        argv = [setpriv, f"--bounding-set=-all,{caps}", f"--inh-caps=-all,{caps}",
                f"--ambient-caps={caps}", "--no-new-privs", vrrpd_binary(), "run", "-c", str(path)]  # fmt: skip
        agents[node] = lab.start(node, argv, label="vrrpd")
    sole_holder(lab, VIP, "n1", timeout=10)
    sock = str(lab.workdir / "n1.sock")

    def check_status() -> str:
        done = lab.exec("n1", vrrpd_binary(), "status", "--json", "--socket", sock, check=False)
        return (
            str(json.loads(done.stdout)["checks"]["chk"]["status"]) if done.returncode == 0 else ""
        )

    wait_for(lambda: check_status() == "UP", timeout=5, what="the check UP, run as nobody")
    lab.crash(nginx["n1"])
    sole_holder(lab, VIP, "n2", timeout=5)
    for agent in agents.values():
        assert "cannot start" not in agent.output()
        assert agent.alive()
    assert "check chk failed" in agents["n1"].output()
