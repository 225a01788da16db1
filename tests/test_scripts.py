"""The scripts/ library: shellcheck-clean POSIX sh, and each does what its comment says."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
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
        "check_bgp.sh",
        "check_file.sh",
        "check_haproxy.sh",
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


def test_check_http_positional_form_kept(server: int) -> None:
    assert run("check_http.sh", f"http://127.0.0.1:{server}/").returncode == 0
    assert run("check_http.sh", f"http://127.0.0.1:{server}/missing", "404").returncode == 0
    bad = run("check_http.sh", f"http://127.0.0.1:{server}/missing")
    assert bad.returncode == 2
    assert "answered 404, expected 200" in bad.stdout
    assert run("check_http.sh", f"http://127.0.0.1:{server}/", "200", "1").returncode == 0
    assert run("check_http.sh", f"http://127.0.0.1:{free_port()}/", "200", "1").returncode == 2


@pytest.fixture
def vhosts() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server that answers 200 only for the virtual host www.example.com and
    remembers the Host headers it saw."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Host", ""))
            ok = self.headers.get("Host", "").split(":")[0] == "www.example.com"
            self.send_response(200 if ok and self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_check_http_monitoring_plugins_options(vhosts: tuple[int, list[str]]) -> None:
    """-H is the virtual host (Host header), -I where to connect, -u the URI, -e the status."""
    port, seen = vhosts
    ok = run("check_http.sh", "-H", "www.example.com", "-I", "127.0.0.1", "-p", str(port),
             "-u", "/health", "-t", "2")  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("HTTP OK: ")
    assert seen[-1] == f"www.example.com:{port}"
    other = run("check_http.sh", "-H", "127.0.0.1", "-p", str(port), "-u", "/health")
    assert other.returncode == 2
    assert "answered 404, expected 200" in other.stdout
    expected = run(
        "check_http.sh", "-H", "127.0.0.1", "-p", str(port), "-u", "/health", "-e", "404"
    )
    assert expected.returncode == 0
    slow = run("check_http.sh", "-H", "www.example.com", "-I", "127.0.0.1", "-p", str(port),
               "-u", "/health", "-w", "0.0000001")  # fmt: skip
    assert slow.returncode == 1
    assert slow.stdout.startswith("HTTP WARNING: ")


def test_check_http_unknown_on_usage_errors() -> None:
    """3 is UNKNOWN, as the monitoring plugins say; 2 (CRITICAL) used to mean usage."""
    for args in ((), ("-p", "80"), ("-H",), ("-H", "x", "-t", "soon"), ("-H", "x", "--bogus", "1")):
        result = run("check_http.sh", *args)
        assert result.returncode == 3, args
        assert "usage:" in result.stderr


def test_check_tcp(server: int) -> None:
    assert run("check_tcp.sh", "127.0.0.1", str(server)).returncode == 0
    assert run("check_tcp.sh", "-H", "127.0.0.1", "-p", str(server), "-t", "1").returncode == 0
    closed = run("check_tcp.sh", "127.0.0.1", str(free_port()), "1")
    assert closed.returncode == 2
    assert "cannot connect" in closed.stdout
    assert run("check_tcp.sh", "-H", "127.0.0.1", "-p", str(free_port())).returncode == 2
    assert run("check_tcp.sh", "127.0.0.1").returncode == 3
    assert run("check_tcp.sh", "-H", "127.0.0.1").returncode == 3


def test_check_tcp_returns_once_connected_to_a_server_that_keeps_it_open() -> None:
    """An HTTP port waits for a request: the check took its whole timeout (2.02 s, so it
    always failed under a 1 s check timeout)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = run("check_tcp.sh", "-H", "127.0.0.1", "-p", str(port), "-t", "3")
        took = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert took < 0.5, f"{took:.3f} s"


STAT_HEADER = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
    "wretr,wredis,status,weight\n"
)


def _stat(rows: list[tuple[str, str, str]]) -> str:
    zeros = ",".join(["0"] * 15)
    return STAT_HEADER + "".join(f"{px},{sv},{zeros},{status},1\n" for px, sv, status in rows)


@pytest.fixture
def stats_socket(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A stand-in for HAProxy's stats socket: answers `show stat` with the CSV in the
    list (its one element), then closes, as HAProxy does."""
    path = tmp_path / "admin.sock"
    answer = [""]
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(100)
                conn.sendall(answer[0].encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path, answer
    finally:
        listener.close()


def test_check_haproxy_counts_servers_up(stats_socket: tuple[Path, list[str]]) -> None:
    path, answer = stats_socket
    answer[0] = _stat([("fe", "FRONTEND", "OPEN"), ("web", "a", "UP"), ("web", "b", "UP 1/3"),
                       ("web", "c", "DOWN"), ("web", "d", "MAINT"), ("web", "BACKEND", "UP"),
                       ("api", "x", "DOWN"), ("static", "s", "no check")])  # fmt: skip
    ok = run("check_haproxy.sh", "-b", "web", "-m", "2", "-s", str(path))
    assert (ok.returncode, ok.stdout.strip()) == (
        0, "HAPROXY OK: 2 of 4 servers up in web (at least 2 wanted)")  # fmt: skip
    few = run("check_haproxy.sh", "-b", "web", "-m", "3", "-s", str(path))
    assert few.returncode == 1
    assert "only 2 of 4" in few.stdout
    assert run("check_haproxy.sh", "-b", "api", "-s", str(path)).returncode == 2
    assert run("check_haproxy.sh", "-b", "static", "-s", str(path)).returncode == 0
    unknown = run("check_haproxy.sh", "-b", "nope", "-s", str(path))
    assert unknown.returncode == 3
    assert "no backend named nope" in unknown.stdout


def test_check_haproxy_critical_when_haproxy_is_down(tmp_path: Path) -> None:
    down = run("check_haproxy.sh", "-b", "web", "-s", str(tmp_path / "none.sock"))
    assert down.returncode == 2
    assert "no answer from HAProxy" in down.stdout
    assert run("check_haproxy.sh", "-m", "1").returncode == 3


def test_check_process() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert run("check_process.sh", "sleep").returncode == 0
    finally:
        sleeper.kill()
        sleeper.wait()
    # the monitoring plugins' codes, as the other check_*.sh: 2 CRITICAL, 3 UNKNOWN
    assert run("check_process.sh", "no-such-process-name").returncode == 2
    assert run("check_process.sh").returncode == 3


def test_check_file_is_a_maintenance_switch(tmp_path: Path) -> None:
    switch = tmp_path / "maintenance"
    assert run("check_file.sh", str(switch)).returncode == 0
    switch.touch()
    drained = run("check_file.sh", str(switch))
    assert drained.returncode == 2  # CRITICAL, as the other check_*.sh
    assert "maintenance file" in drained.stdout
    assert run("check_file.sh").returncode == 3  # UNKNOWN: usage


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


def _fake_vtysh(tmp_path: Path, reply: str, rc: int = 0) -> dict[str, str]:
    """A vtysh on PATH that prints ``reply`` (what FRR's would for the summary)."""
    fake = tmp_path / "vtysh"
    (tmp_path / "reply.json").write_text(reply)
    fake.write_text(f"#!/bin/sh\ncat {tmp_path / 'reply.json'}\nexit {rc}\n")
    fake.chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin"}


def _summary(**states: str) -> str:
    peers = {peer: {"state": state, "peerUptimeMsec": 60000} for peer, state in states.items()}
    return json.dumps({"ipv4Unicast": {"peers": peers}})


def test_check_bgp_is_ok_only_while_the_sessions_are_established(tmp_path: Path) -> None:
    up = _fake_vtysh(tmp_path, _summary(**{"198.51.100.1": "Established"}))
    result = run("check_bgp.sh", env=up)
    assert (result.returncode, result.stdout.strip()) == (0, "BGP OK: 1 session(s) Established")
    both = _summary(**{"198.51.100.1": "Established", "198.51.100.5": "Active"})
    env = _fake_vtysh(tmp_path, both)
    result = run("check_bgp.sh", env=env)
    assert (result.returncode, result.stdout.strip()) == (
        2,
        "BGP CRITICAL: not Established (or up less than 2s): 198.51.100.5",
    )
    assert run("check_bgp.sh", "-n", "198.51.100.1", env=env).returncode == 0
    assert run("check_bgp.sh", "-n", "198.51.100.9", env=env).returncode == 2
    assert run("check_bgp.sh", env=_fake_vtysh(tmp_path, "{}")).returncode == 2
    assert run("check_bgp.sh", env=_fake_vtysh(tmp_path, "bgpd is not running", 1)).returncode == 2
    assert run("check_bgp.sh", "-t", "x", env=up).returncode == 3
    assert run("check_bgp.sh", "-u", "soon", env=up).returncode == 3
    assert run("check_bgp.sh", env={"PATH": str(tmp_path / "empty")}).returncode == 3
    young = json.dumps(
        {
            "ipv4Unicast": {
                "peers": {"198.51.100.1": {"state": "Established", "peerUptimeMsec": 900}}
            }
        }
    )
    assert run("check_bgp.sh", env=_fake_vtysh(tmp_path, young)).returncode == 2
    assert run("check_bgp.sh", "-u", "0.5", env=_fake_vtysh(tmp_path, young)).returncode == 0
