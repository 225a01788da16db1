"""etc/vrrpd.service: systemd accepts it, and it keeps its promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "After=network-online.target",
        "Wants=network-online.target",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "RuntimeDirectory=vrrpd",
    ):
        assert line in text.splitlines(), line
    assert "# CAP_NET_RAW:" in text
    assert "# CAP_NET_ADMIN:" in text
    assert "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_PACKET AF_INET AF_INET6" in text
