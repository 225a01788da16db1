"""Keepalived 2.2.7 as the oracle for `vrrpd convert`, on every file of our corpus
(tests/data/keepalived-corpus): Keepalived reads the file in a network namespace whose
interfaces carry the lab's names, dumps what it parsed (SIGUSR1: /tmp/keepalived.data),
and each instance is compared with the converted YAML as vrrpd loads it. Every
difference must be carried over, warned about (FILE:LINE) or refused (AH).

Four namespaces for the whole run (four Keepalived at once); each Keepalived runs alone, in its own mount and UTS
namespace (the corpus bound on /etc/keepalived, a private /tmp for its pid files and
dump, host name ``lb1.example.org``: Keepalived without ``-i`` keeps the ``@lb1`` lines,
and so must `convert` without ``--config-id``), so nothing collides.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.oracle import compare, keepalived_view
from vrrpd.config.loader import loads
from vrrpd.convert import convert

pytestmark = pytest.mark.netns

CORPUS = Path(__file__).parent.parent / "data" / "keepalived-corpus"
HOST = "lb1"
LINKS = {
    "eth0": ("192.0.2.1/24", "2001:db8::1/64"),
    "eth1": ("198.51.100.1/24", "2001:db8:1::1/64"),
    "eth2": ("203.0.113.1/24", "2001:db8:2::1/64"),
}
RUN = """
set -e
mount --make-rprivate /
mount --bind "$CORPUS" /etc/keepalived
mount --bind "$OUT" /tmp
hostname {host}.example.org
keepalived -t -f "/etc/keepalived/$FILE" > /tmp/test.log 2>&1 || echo $? > /tmp/test.rc
keepalived -n -l -P -f "/etc/keepalived/$FILE" -p /tmp/k.pid -r /tmp/v.pid > /tmp/run.log 2>&1 &
main=$!
for i in $(seq 100); do grep -q "Startup complete" /tmp/run.log && break; sleep 0.05; done
kill -USR1 $main
for i in $(seq 100); do grep -q "VRRP Topology" /tmp/keepalived.data 2>/dev/null && break; sleep 0.05; done
sleep 0.1
kill -TERM $main
wait $main || true
""".replace("{host}", HOST)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


WORKERS = 4
"""Keepalived runs at once, each in a namespace of its own: a run mostly waits (start-up,
the dump), so the corpus takes a quarter of the time it took one file after another."""


def _namespace() -> str:
    name = f"i15or-{uuid.uuid4().hex[:8]}"
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")
    for index, (link, addresses) in enumerate(LINKS.items()):
        _ip("-n", name, "link", "add", link, "type", "veth", "peer", "name", f"peer{index}")
        for dev in (link, f"peer{index}"):
            _ip("-n", name, "link", "set", dev, "up")
        for address in addresses:
            _ip("-n", name, "addr", "add", address, "dev", link, "nodad")
    return name


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """file -> (Keepalived's dump, what ``keepalived -t`` said), or the error of its run."""
    if shutil.which("keepalived") is None:
        pytest.fail("keepalived is missing: apt-get install keepalived (make apt does)")
    names: list[str] = []
    try:
        for _ in range(WORKERS):
            names.append(_namespace())
        free: queue.Queue[str] = queue.Queue()
        for name in names:
            free.put(name)
        root = tmp_path_factory.mktemp("oracle")

        def one(file: str) -> tuple[str, str]:
            namespace = free.get()
            try:
                out = root / file
                out.mkdir()
                dump = keepalived_dump(namespace, file, out)
                return dump, (out / "test.log").read_text(errors="replace")
            finally:
                free.put(namespace)

        with ThreadPoolExecutor(WORKERS) as pool:
            futures = {file: pool.submit(one, file) for file in corpus()}
            results: dict[str, tuple[str, str]] = {}
            for file, future in futures.items():
                error = future.exception()
                results[file] = ("", f"error: {error}") if error else future.result()
        yield results
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def _stop_leftover(pid_file: Path) -> None:
    """Keepalived removes its pid file when it stops; one left means it is still running
    (the run was cut short): stop that process, ours by its pid file, and its children."""
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    comm = Path(f"/proc/{pid}/comm")
    if comm.exists() and comm.read_text().strip() == "keepalived":
        os.kill(pid, signal.SIGTERM)  # it stops its children and removes the VIPs


def corpus() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.conf"))


def keepalived_dump(namespace: str, file: str, out: Path) -> str:
    env = {**os.environ, "CORPUS": str(CORPUS), "OUT": str(out), "FILE": file}
    try:
        subprocess.run(
            ["ip", "netns", "exec", namespace, "unshare", "-m", "-u", "sh", "-c", RUN],
            env=env,
            check=True,
            timeout=30,
            capture_output=True,
        )
    finally:
        _stop_leftover(out / "k.pid")
    dump = out / "keepalived.data"
    if not dump.exists():
        log = (out / "run.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{file}: Keepalived wrote no dump\n{log}")
    return dump.read_text(errors="replace")


def test_the_corpus_is_big_enough() -> None:
    assert len(corpus()) >= 30


@pytest.mark.parametrize("file", corpus())
def test_keepalived_and_the_converted_file_agree(
    dumps: dict[str, tuple[str, str]], file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump, checked = dumps[file]
    assert not checked.startswith("error: "), checked
    theirs = keepalived_view(dump)
    assert "Unknown keyword" not in checked, f"{file}: keepalived -t says\n{checked}"
    assert theirs, f"{file}: Keepalived runs no VRRP instance"
    # Keepalived ran without -i on a host named lb1.example.org: so does the conversion
    monkeypatch.setattr("socket.gethostname", lambda: f"{HOST}.example.org")
    conversion = convert(CORPUS / file)
    config = None if conversion.errors else loads(conversion.yaml(), file)
    problems = compare(theirs, conversion, config)
    assert not problems, "\n".join([file, *problems, "warnings:", *conversion.warnings])
