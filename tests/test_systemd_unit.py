"""etc/vrrpd.service: systemd accepts it, and it keeps its promises."""

from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from vrrpd.lab.peers import vrrpd_binary

UNIT = Path(__file__).parent.parent / "etc" / "vrrpd.service"


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (make test installs it)")
    # verify checks that ExecStart exists: point it at this checkout's vrrpd
    unit = tmp_path / "vrrpd.service"
    unit.write_text(UNIT.read_text().replace("/usr/bin/vrrpd", vrrpd_binary()))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "vrrpd.service" not in result.stderr, result.stderr


def test_unit_declares_what_operations_relies_on() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "ExecReload=/usr/bin/vrrpd reload -c /etc/vrrpd/vrrpd.yaml",
        "Restart=on-failure",
        "After=network-online.target",
        "Wants=network-online.target",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID CAP_KILL",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID CAP_KILL",
        "StateDirectory=vrrpd",
        "WatchdogSec=5",
        "UMask=0077",
        "SystemCallFilter=@system-service",
        "PrivateDevices=yes",
        "LimitNOFILE=65536",
        "ReadWritePaths=/run/vrrpd -/var/log/vrrpd",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "RuntimeDirectory=vrrpd",
    ):
        assert line in text.splitlines(), line
    for reason in (
        "# CAP_NET_RAW:",
        "# CAP_NET_ADMIN:",
        "# CAP_SETUID, CAP_SETGID:",
        "# CAP_KILL:",
    ):
        assert reason in text
    assert "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_PACKET AF_INET AF_INET6" in text


def _capabilities() -> list[str]:
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("CapabilityBoundingSet="))
    return [c.removeprefix("CAP_").lower() for c in line.split("=", 1)[1].split()]


PROBE = """
import asyncio, json, sys
from vrrpd.adapters import scripts
marker = sys.argv[1]
async def main():
    ok = await scripts.run("/usr/bin/id", timeout=5, user="nobody")
    hung = await scripts.run(f"/bin/sleep {marker}", timeout=0.5, user="nobody")
    return {"id": ok.output, "error": ok.error, "hung": hung.error}
print(json.dumps(asyncio.run(main())))
"""


def _under_unit_capabilities(caps: list[str], marker: str) -> dict[str, str]:
    """Run the probe as the unit runs the agent: root, bounded to ``caps``, no new privs."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv is missing: apt-get install util-linux (make test installs it)")
    wanted = ",".join(f"+{c}" for c in caps)
    argv = [
        setpriv, f"--bounding-set=-all,{wanted}", f"--inh-caps=-all,{wanted}",
        f"--ambient-caps={wanted}", "--no-new-privs",
        sys.executable, "-c", PROBE, marker,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30)
    return dict(json.loads(done.stdout))


def test_checks_run_as_nobody_under_the_units_capabilities() -> None:
    """Issue 7: bounded to CAP_NET_ADMIN + CAP_NET_RAW, every check failed with 'cannot
    start: Operation not permitted'. With the unit's set, checks run as nobody (its own
    group, no root group), and a hanging one is killed with its whole group."""
    if os.geteuid() != 0:
        pytest.fail("this test applies the unit's capability set and needs root (CI runs as root)")
    marker = "31.4159"
    result = _under_unit_capabilities(_capabilities(), marker)
    assert result["id"] == "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
    assert result["error"] == ""
    assert result["hung"] == "killed after 0.5s timeout"
    assert not [p for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]


def test_the_old_capability_set_could_not_run_checks() -> None:
    """The control for the test above: it does notice a missing capability."""
    if os.geteuid() != 0:
        pytest.fail("this test applies a capability set and needs root (CI runs as root)")
    result = _under_unit_capabilities(["net_admin", "net_raw"], "27.1828")
    assert result["error"] == "cannot start: Operation not permitted"


GROUP_PROBE = """
import asyncio, os, sys
from vrrpd.control import server
async def handler(command, request):
    return {}
async def main():
    srv = await server.serve(sys.argv[1], handler, group="nogroup")
    info = os.stat(sys.argv[1])
    print(info.st_gid, oct(info.st_mode & 0o777))
    server.close(srv, sys.argv[1])
asyncio.run(main())
"""


def test_control_group_under_the_units_capabilities(tmp_path: Path) -> None:
    """Issue 16 item 6: chown needs CAP_CHOWN, which the unit does not grant; the agent
    failed at start and restarted in a loop. The socket now gets its group at bind()."""
    if os.geteuid() != 0:
        pytest.fail("this test applies the unit's capability set and needs root (CI runs as root)")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv is missing: apt-get install util-linux (make test installs it)")
    wanted = ",".join(f"+{c}" for c in _capabilities())
    argv = [
        setpriv, f"--bounding-set=-all,{wanted}", f"--inh-caps=-all,{wanted}",
        f"--ambient-caps={wanted}", "--no-new-privs",
        sys.executable, "-c", GROUP_PROBE, str(tmp_path / "c.sock"),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(grp.getgrnam("nogroup").gr_gid), "0o660"]
