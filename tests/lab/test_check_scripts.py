"""The shipped check scripts against the real servers they watch: nginx (http, https with
a self-signed certificate, two TLS names) and HAProxy (its stats socket), in a lab."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vrrpd.lab import Lab, LabError, pair_and_client, wait_for

pytestmark = pytest.mark.netns

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
SERVER = "192.0.2.11"


def _tool(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (make test installs it)")
    return found


def _certificate(workdir: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name``, made here: nothing secret in the tree."""
    key, cert = workdir / f"{name}.key", workdir / f"{name}.crt"
    subprocess.run(
        [_tool("openssl", "openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return key, cert


def _nginx(lab: Lab) -> None:
    """On n1: port 80 with a virtual host www.example.com (/health 200, elsewhere 404)
    beside a default server (404 everywhere); port 443 with a self-signed certificate
    for www.example.com and another for api.example.com, /sni telling which was asked."""
    work = lab.workdir
    www_key, www_cert = _certificate(work, "www.example.com")
    api_key, api_cert = _certificate(work, "api.example.com")
    sni = (
        'location = /sni { if ($ssl_server_name = "api.example.com") { return 200; } return 404; }'
    )
    health = "location = /health { return 200; } location / { return 404; }"
    conf = work / "nginx.conf"
    conf.write_text(
        f"user root; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
        "events { worker_connections 64; }\n"
        "http { access_log off;\n"
        "  server { listen 80 default_server; listen [::]:80 default_server; "
        "location / { return 404; } }\n"
        f"  server {{ listen 80; listen [::]:80; server_name www.example.com; {health} }}\n"
        f"  server {{ listen 443 ssl default_server; server_name www.example.com; "
        f"ssl_certificate {www_cert}; ssl_certificate_key {www_key}; {sni} {health} }}\n"
        f"  server {{ listen 443 ssl; server_name api.example.com; "
        f"ssl_certificate {api_cert}; ssl_certificate_key {api_key}; {sni} {health} }}\n"
        "}\n"
    )
    lab.start("n1", [_tool("nginx", "nginx-light"), "-c", str(conf), "-g", "daemon off;"])
    wait_for(lambda: check(lab, "check_tcp.sh", "-H", SERVER, "-p", "443")[0] == 0,
             timeout=10, what="nginx on 443")  # fmt: skip


def check(lab: Lab, script: str, *args: str) -> tuple[int, str, float]:
    """The script run on the client: exit code, its line, and how long it took."""
    started = time.monotonic()
    done = lab.exec("cl", str(SCRIPTS / script), *args, check=False, timeout=30)
    return done.returncode, (done.stdout + done.stderr).strip(), time.monotonic() - started


@pytest.fixture
def web() -> Iterator[Lab]:
    lab = pair_and_client()
    try:
        _nginx(lab)
        yield lab
    finally:
        lab.close()


def test_check_http_against_nginx_virtual_hosts_and_tls(web: Lab) -> None:
    vhost = ("-H", "www.example.com", "-I", SERVER, "-u", "/health", "-t", "2")
    code, line, _ = check(web, "check_http.sh", *vhost)
    assert code == 0, line
    assert line.startswith("HTTP OK: http://www.example.com:80/health answered 200 in ")
    code, line, _ = check(web, "check_http.sh", "-H", "www.example.com", "-I", "2001:db8::11",
                          "-u", "/health")  # fmt: skip
    assert code == 0, line
    code, line, _ = check(web, "check_http.sh", "-H", SERVER, "-u", "/health")
    assert (code, "answered 404, expected 200" in line) == (2, True), line
    # https, self-signed: refused unless -k (the old script said "answered 000")
    code, line, _ = check(web, "check_http.sh", *vhost, "-S")
    assert code == 2, line
    assert "no answer" in line, line
    assert "certificate" in line, line
    code, line, _ = check(web, "check_http.sh", *vhost, "-S", "-k")
    assert code == 0, line
    assert line.startswith("HTTP OK: https://www.example.com:443/health answered 200")
    # SNI: the TLS name picks the certificate (and nginx's $ssl_server_name)
    sni = ("-H", "www.example.com", "-I", SERVER, "-u", "/sni", "-S", "-k")
    assert check(web, "check_http.sh", *sni)[0] == 2
    code, line, _ = check(web, "check_http.sh", *sni, "--sni", "api.example.com")
    assert code == 0, line
    # the positional form still works
    assert check(web, "check_http.sh", f"http://{SERVER}/")[0] == 2  # default server: 404
    assert check(web, "check_http.sh", f"http://{SERVER}/", "404", "1")[0] == 0


def test_check_tcp_returns_as_soon_as_nginx_accepts(web: Lab) -> None:
    """nginx keeps an idle connection open waiting for a request (the old check took its
    whole 2 s timeout, so it always failed under a 1 s check timeout)."""
    timings = []
    for _ in range(5):
        code, line, took = check(web, "check_tcp.sh", "-H", SERVER, "-p", "80", "-t", "2")
        assert code == 0, line
        timings.append(took)
    assert min(timings) < 0.2, timings
    assert check(web, "check_tcp.sh", SERVER, "80")[0] == 0  # positional
    assert check(web, "check_tcp.sh", "-H", "2001:db8::11", "-p", "80")[0] == 0
    code, line, _ = check(web, "check_tcp.sh", "-H", SERVER, "-p", "81", "-t", "1")
    assert code == 2, line
    assert "cannot connect" in line, line


def _haproxy(lab: Lab) -> Path:
    """HAProxy on n1 in front of nginx: backend web (one server up on 80, one down on
    81), backend dead (none up), backend plain (no health checks)."""
    sock = lab.workdir / "haproxy.sock"
    conf = lab.workdir / "haproxy.cfg"
    conf.write_text(
        f"global\n  stats socket {sock} mode 600 level user\n"
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n"
        "frontend fe\n  bind 192.0.2.11:8000\n  default_backend web\n"
        "backend web\n"
        f"  server a {SERVER}:80 check inter 100ms fall 1 rise 1\n"
        f"  server b {SERVER}:81 check inter 100ms fall 1 rise 1\n"
        "backend dead\n"
        f"  server c {SERVER}:82 check inter 100ms fall 1 rise 1\n"
        "backend plain\n"
        f"  server d {SERVER}:80\n"
    )
    lab.start("n1", [_tool("haproxy", "haproxy"), "-db", "-f", str(conf)], label="haproxy")
    wait_for(sock.exists, timeout=10, what="HAProxy's stats socket")
    return sock


def test_check_haproxy_reads_the_stats_socket(web: Lab) -> None:
    sock = str(_haproxy(web))

    def haproxy(*args: str) -> tuple[int, str]:
        done = web.exec("n1", str(SCRIPTS / "check_haproxy.sh"), "-s", sock, *args, check=False)
        return done.returncode, (done.stdout + done.stderr).strip()

    try:
        wait_for(lambda: haproxy("-b", "dead")[0] == 2, timeout=10, what="c DOWN")
        wait_for(lambda: "1 of 2" in haproxy("-b", "web")[1], timeout=10, what="b DOWN")
    except LabError:
        pytest.fail(f"HAProxy's view never settled: {haproxy('-b', 'web')} {haproxy('-b', 'dead')}")
    assert haproxy("-b", "web") == (0, "HAPROXY OK: 1 of 2 servers up in web (at least 1 wanted)")
    assert haproxy("-b", "web", "-m", "2") == (
        1, "HAPROXY WARNING: only 1 of 2 servers up in web (at least 2 wanted)")  # fmt: skip
    assert haproxy("-b", "dead") == (2, "HAPROXY CRITICAL: no server up in dead (1 configured)")
    assert haproxy("-b", "plain")[0] == 0  # no health check: HAProxy sends it traffic
    assert haproxy("-b", "nope") == (3, "HAPROXY UNKNOWN: HAProxy has no backend named nope")
    # nginx stops: web has nobody left
    [nginx] = [p for p in web.processes if p.name == "nginx"]
    web.signal(nginx, 9)
    web.wait(nginx)
    wait_for(lambda: haproxy("-b", "web")[0] == 2, timeout=10, what="a DOWN")
    # HAProxy stops: the socket does not answer
    [proxy] = [p for p in web.processes if p.name == "haproxy"]
    web.signal(proxy, 15)
    web.wait(proxy)
    code, line = haproxy("-b", "web")
    assert code == 2, line
    assert "no answer from HAProxy" in line, line
