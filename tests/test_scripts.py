"""The scripts/ library: shellcheck-clean POSIX sh, and each does what its comment says."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent.parent / "scripts"
ALL = sorted(SCRIPTS.glob("*.sh"))


def run(
    name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
        check=False,
    )


def test_the_library_is_complete() -> None:
    assert [p.name for p in ALL] == [
        "check_file.sh",
        "check_http.sh",
        "check_process.sh",
        "check_tcp.sh",
        "notify_log.sh",
    ]


@pytest.mark.parametrize("script", ALL, ids=lambda p: p.name)
def test_shellcheck_clean_posix_sh_with_usage(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is missing: apt-get install shellcheck (make test installs it)")
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "# Exit codes:" in text


@pytest.fixture
def server() -> Iterator[int]:
    """An HTTP server on loopback: / answers 200, anything else 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_http(server: int) -> None:
    assert run("check_http.sh", f"http://127.0.0.1:{server}/").returncode == 0
    assert run("check_http.sh", f"http://127.0.0.1:{server}/missing", "404").returncode == 0
    bad = run("check_http.sh", f"http://127.0.0.1:{server}/missing")
    assert bad.returncode == 1
    assert "answered 404, expected 200" in bad.stderr
    assert run("check_http.sh", f"http://127.0.0.1:{free_port()}/", "200", "1").returncode == 1
    assert run("check_http.sh").returncode == 2


def test_check_tcp(server: int) -> None:
    assert run("check_tcp.sh", "127.0.0.1", str(server)).returncode == 0
    closed = run("check_tcp.sh", "127.0.0.1", str(free_port()), "1")
    assert closed.returncode == 1
    assert "cannot connect" in closed.stderr
    assert run("check_tcp.sh", "127.0.0.1").returncode == 2


def test_check_process() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert run("check_process.sh", "sleep").returncode == 0
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run("check_process.sh", "no-such-process-name").returncode == 1
    assert run("check_process.sh").returncode == 2


def test_check_file_is_a_maintenance_switch(tmp_path: Path) -> None:
    switch = tmp_path / "maintenance"
    assert run("check_file.sh", str(switch)).returncode == 0
    switch.touch()
    drained = run("check_file.sh", str(switch))
    assert drained.returncode == 1
    assert "maintenance file" in drained.stderr


def test_notify_log_appends_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "transitions.jsonl"
    env = {"PATH": "/usr/bin:/bin", "VRRPD_NOTIFY_LOG": str(log), "VRRPD_VRID": "51", "VRRPD_INTERFACE": "eth0",
           "VRRPD_VIPS": "192.0.2.100", "VRRPD_REASON": 'higher priority 150 from "x"'}  # fmt: skip
    assert run("notify_log.sh", "INSTANCE", "web", "MASTER", "150", env=env).returncode == 0
    assert run("notify_log.sh", "GROUP", "front", "BACKUP", "100", env=env).returncode == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["type"], r["name"], r["state"], r["priority"]) for r in lines] == [
        ("INSTANCE", "web", "MASTER", "150"),
        ("GROUP", "front", "BACKUP", "100"),
    ]
    assert lines[0]["reason"] == 'higher priority 150 from "x"'
    assert lines[0]["vips"] == "192.0.2.100"
