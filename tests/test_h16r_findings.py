"""h16r's adversarial review of issue 16: each test is an attack that worked on main.

The attacker is a local user (uid 1000) or a client of the agent's sockets; each test
names what the attack won before its fix.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import grp
import os
import shutil
import socket
import struct
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from vrrpd.adapters import http, rawsock, scripts
from vrrpd.config.loader import loads
from vrrpd.config.security import command_problems, writable_by_others
from vrrpd.control import server
from vrrpd.control.client import exchange
from vrrpd.driver.control import Surface

USER = 1000


@pytest.fixture
def safe(tmp_path: Path) -> Path:
    """A root-owned 0755 directory (pytest's own are root-owned, under /tmp)."""
    tmp_path.chmod(0o755)
    return tmp_path


def user_bin(folder: Path) -> Path:
    """A directory of uid 1000's, with a program of theirs in it."""
    home = folder / "home"
    home.mkdir(mode=0o755)
    (home / "true").write_bytes(Path("/bin/true").read_bytes())
    (home / "true").chmod(0o755)
    os.chown(home / "true", USER, USER)
    os.chown(home, USER, USER)
    return home


# ------------------------------------------------ finding 1: missing paths in drop boxes


def test_a_missing_track_file_in_a_sticky_world_writable_directory_is_refused(
    safe: Path,
) -> None:
    """The sticky bit of a drop box stops others replacing a file; it does not stop them creating a
    missing one: a track file not written yet in such a directory was accepted, then a user wrote
    their own weight into it."""
    drop = safe / "drop"
    drop.mkdir()
    drop.chmod(0o1777)
    assert writable_by_others(drop / "weight")
    assert writable_by_others(drop / "not-yet" / "weight")
    assert command_problems(f"/bin/sh {drop}/check.sh")


def test_a_missing_file_in_a_root_only_directory_is_still_accepted(safe: Path) -> None:
    assert writable_by_others(safe / "weight") is None


# ------------------------------------------------ finding 2: paths inside words


@pytest.mark.parametrize(
    "template",
    [
        "/usr/bin/env PATH={home}:/usr/bin true",
        "/usr/bin/env LD_PRELOAD={home}/true /bin/true",
        "/bin/bash --rcfile={home}/true -i",
        "/usr/bin/perl -e 'do \"{home}/true\"'",
    ],
)
def test_a_path_inside_an_argument_is_checked(safe: Path, template: str) -> None:
    """Only words starting with / were checked: ``env PATH=/home/u:/usr/bin x`` ran the
    user's ``x``, ``LD_PRELOAD=`` their library."""
    assert command_problems(template.format(home=user_bin(safe)))


def test_a_relative_path_argument_is_checked_from_the_working_directory(
    safe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_bin(safe)
    monkeypatch.chdir(safe)
    assert command_problems("/bin/sh home/true")


def test_the_interpreter_of_a_root_owned_script_is_checked(safe: Path) -> None:
    """A root-owned script whose ``#!`` names a user's interpreter runs the user's code."""
    home = user_bin(safe)
    script = safe / "check.sh"
    script.write_text(f"#!{home}/true\nexit 0\n")
    script.chmod(0o755)
    assert command_problems(str(script))


def test_a_url_and_a_root_owned_interpreter_are_still_accepted(safe: Path) -> None:
    script = safe / "check.sh"
    script.write_text("#!/bin/sh -e\nexit 0\n")
    script.chmod(0o755)
    assert command_problems(f"{script} http://192.0.2.1/health --x=/bin/true") is None


# ------------------------------------------------ finding 3: POSIX ACLs


def _set_acl(path: Path, entries: list[tuple[int, int, int]]) -> None:
    raw = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    try:
        os.setxattr(path, "system.posix_acl_access", raw)
    except OSError as error:  # a test machine without ACLs cannot show the attack
        pytest.fail(f"cannot set an ACL on {path}: {error}")


ANY = 0xFFFFFFFF


def test_a_script_a_user_may_write_through_an_acl_is_refused(safe: Path) -> None:
    """``setfacl -m u:deploy:rw check.sh``: mode 0775 root:root, the mode bits say only
    root may write, the user can."""
    script = safe / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o775)
    _set_acl(
        script, [(0x01, 7, ANY), (0x02, 6, USER), (0x04, 5, ANY), (0x10, 7, ANY), (0x20, 5, ANY)]
    )
    assert command_problems(str(script))


def test_an_acl_entry_the_mask_takes_write_from_is_accepted(safe: Path) -> None:
    script = safe / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    _set_acl(
        script, [(0x01, 7, ANY), (0x02, 6, USER), (0x04, 5, ANY), (0x10, 5, ANY), (0x20, 5, ANY)]
    )
    assert command_problems(str(script)) is None


# ------------------------------------------------ control socket: streams and slow readers


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _stream_handler(
    pause: float, item: dict[str, Any], closed: list[bool] | None = None
) -> server.Handler:
    """``watch`` streams ``item`` every ``pause`` s; ``closed`` gets False when a stream
    opens and True when it ends."""

    async def handler(command: str, request: dict[str, Any]) -> server.Reply:
        async def stream() -> AsyncIterator[dict[str, Any]]:
            if closed is not None:
                closed.append(False)  # opened
            try:
                while True:
                    yield item
                    await asyncio.sleep(pause)
            finally:
                if closed is not None:
                    closed.append(True)

        return stream() if command == "watch" else {"result": command}

    return handler


def test_watch_streams_cannot_grow_past_the_connection_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap only closed clients that had not sent their request: each ``watch``
    stream (read-only, so any control_group member may open one) held its fd forever,
    past the cap, and every event was copied to each."""
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 4)
    path = str(tmp_path / "c.sock")

    async def scenario() -> tuple[int, dict[str, Any]]:
        srv = await server.serve(path, _stream_handler(3600, {"event": "watching"}))
        loop = asyncio.get_running_loop()
        watchers = []
        for _ in range(10):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            await loop.sock_connect(sock, path)
            await loop.sock_sendall(sock, b'{"command":"watch"}\n')
            await asyncio.sleep(0.05)
            watchers.append(sock)
        await asyncio.sleep(0.2)
        reply = await loop.run_in_executor(
            None, functools.partial(exchange, path, b'{"command":"status"}\n', timeout=2.0)
        )
        ended = 0
        for sock in watchers:
            data = b""
            with contextlib.suppress(BlockingIOError):
                while chunk := sock.recv(65536):
                    data += chunk
                ended += 1  # recv returned b"": the agent closed it
            sock.close()
        server.close(srv, path)
        return ended, reply

    ended, reply = asyncio.run(scenario())
    assert reply == {"result": "status"}
    assert ended >= 6


def test_a_watcher_that_does_not_read_is_aborted_with_its_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the write timeout the connection was closed, not aborted: close() waits for
    the buffer to drain, so a client that never reads kept its fd and buffer forever,
    no longer counted against the cap."""
    monkeypatch.setattr(server, "WRITE_TIMEOUT", 0.2)
    path = str(tmp_path / "c.sock")
    line = {"event": "x" * 1000}

    async def scenario() -> tuple[int, int]:
        srv = await server.serve(path, _stream_handler(0, line))
        loop = asyncio.get_running_loop()
        before = _open_fds()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, path)
        await loop.sock_sendall(sock, b'{"command":"watch"}\n')
        await asyncio.sleep(1.5)  # never reading
        after = _open_fds()
        sock.close()
        server.close(srv, path)
        return before, after

    before, after = asyncio.run(scenario())
    assert after == before + 1  # the client's own socket only


def test_a_reload_that_takes_the_group_away_ends_its_streams(tmp_path: Path) -> None:
    """A member of control_group kept receiving ``watch`` events after a reload removed
    the group: the old server stopped listening, its connections kept streaming."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    path = str(folder / "c.sock")
    nogroup = grp.getgrnam("nogroup").gr_gid
    reader = (
        "import socket,sys,time\n"
        "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
        's.sendall(b\'{"command":"watch"}\\n\')\n'
        "while s.recv(65536): pass\n"
    )
    closed: list[bool] = []

    async def scenario() -> tuple[bool, list[bool]]:
        srv = await server.serve(
            path, _stream_handler(0.05, {"event": "tick"}, closed), group="nogroup"
        )
        child = await asyncio.create_subprocess_exec(
            "/usr/bin/python3", "-c", reader, path, user=USER, group=nogroup, extra_groups=[]
        )
        for _ in range(200):  # the member's stream is open (a loaded machine: up to 10 s)
            if closed:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        streaming = closed == [False]
        # What Surface.open does when the group changes: a new socket over the old path.
        bound = await server.serve(path, _stream_handler(0.05, {}), group=None, replace=True)
        srv.close()
        await asyncio.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            child.kill()  # it may have ended: the agent closed its stream
        await child.wait()
        server.close(bound, path)
        return streaming, list(closed)  # asyncio.run cancels what is left, later

    try:
        streaming, ended = asyncio.run(scenario())
        assert streaming, "the member's stream never started"
        assert ended == [False, True]
    finally:
        shutil.rmtree(folder)


# ------------------------------------------------ the metrics endpoint


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_idle_connections_cannot_lock_the_scraper_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """16 connections that send nothing, renewed every 5 s, got every scrape a 503
    (``metrics_listen`` is often on a routed address): the cap never made room."""
    monkeypatch.setattr(http, "MAX_CONNECTIONS", 4)

    async def scenario() -> bytes:
        port = _free_port()
        srv = await http.serve(f"127.0.0.1:{port}", lambda: "vrrpd_up 1\n")
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.0\r\n\r\n")
        page = await asyncio.wait_for(reader.read(), 2)
        writer.close()
        for _, idle_writer in idle:
            idle_writer.close()
        srv.close()
        return page

    page = asyncio.run(scenario())
    assert page.startswith(b"HTTP/1.0 200")


async def _never_reading(port: int, srv: Any) -> tuple[socket.socket, int]:
    """A scrape that never reads: the socket, and what the agent holds in its buffer."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, b"GET /metrics HTTP/1.0\r\n\r\n")
    while not http._open[id(srv)]:
        await asyncio.sleep(0.001)
    (served,) = http._open[id(srv)]
    await asyncio.sleep(0.2)
    return sock, served.transport.get_write_buffer_size()


def test_a_page_whose_tail_the_client_never_takes_is_aborted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the page's tail fit under the write buffer's high-water mark, drain() returned
    at once and close() waited for a reader that never came: after the grace period the
    handler left, the transport stayed open with its fd and buffer, outside the cap. A
    remote client that learns the page's size (it is the same for a second) leaks one
    descriptor per connection, until checks cannot start."""
    monkeypatch.setattr(http, "_TIMEOUT", 0.3)
    monkeypatch.setattr(http, "CACHE_SECONDS", 0.0)
    size = [16 << 20]

    async def scenario() -> tuple[int, int, int]:
        port = _free_port()
        srv = await http.serve(f"127.0.0.1:{port}", lambda: "x" * size[0])
        sock, pending = await _never_reading(port, srv)
        absorbed = size[0] - pending  # what the kernel takes from a client not reading
        sock.close()
        await asyncio.sleep(0.8)
        size[0] = absorbed + 8000  # the tail: under the high-water mark
        before = _open_fds()
        sock, pending = await _never_reading(port, srv)
        await asyncio.sleep(1.2)  # grace periods over
        after = _open_fds()
        sock.close()
        srv.close()
        return before, after, pending

    before, after, pending = asyncio.run(scenario())
    assert pending > 0, "the attack needs bytes left in the agent's buffer"
    assert after == before + 1  # the client's own socket only


# ------------------------------------------------ the socket filter


@pytest.mark.parametrize(
    "program",
    [
        [(0x15, 300, 0, 1), (0x06, 0, 0, 0)],  # a jump past what an instruction holds
        [(0x15, 0, -1, 1), (0x06, 0, 0, 0)],
        [(0x06, 0, 0, 1 << 32)],
        [(0x06, 0, 0, 0)] * 70_000,  # more than sock_fprog's 16-bit length
    ],
)
def test_a_program_that_cannot_be_encoded_is_an_oserror(program: list[Any]) -> None:
    """struct.error escaped attach_filter; its callers catch OSError (the agent then
    checks everything itself), so a filter that cannot be said stopped the agent."""
    left, right = socket.socketpair()
    with left, right, pytest.raises(OSError, match="socket filter"):
        rawsock.attach_filter(left, program)


def test_a_valid_program_still_attaches_and_filters() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with left, right:
        rawsock.attach_filter(right, [(0x06, 0, 0, 0)])  # drop everything
        left.send(b"x")
        right.setblocking(False)
        with pytest.raises(BlockingIOError):
            right.recv(10)


# ------------------------------------------------ control socket: a request that stalls the loop


def test_a_large_request_does_not_stall_the_loop_that_sends_the_adverts(tmp_path: Path) -> None:
    """A request up to 1 MiB was accepted and parsed on the event loop: a byte-by-byte
    nesting scan, then json.loads of half a million numbers, 0.28 s in one go, past the
    master-down interval of a 0.1 s advert (the backup takes over). Any member of
    control_group may send one (status is theirs); a real request is a few KiB."""
    path = str(tmp_path / "c.sock")
    request = b'{"command":"status","x":[' + b"1," * 500_000 + b"1]}\n"

    async def scenario() -> tuple[float, dict[str, Any]]:
        srv = await server.serve(path, _stream_handler(1, {}))
        loop = asyncio.get_running_loop()
        gaps: list[float] = []

        async def ticker() -> None:
            last = loop.time()
            while True:
                await asyncio.sleep(0.005)
                gaps.append(loop.time() - last)
                last = loop.time()

        tick = asyncio.create_task(ticker())
        reply = await loop.run_in_executor(
            None, functools.partial(exchange, path, request, timeout=5.0)
        )
        await asyncio.sleep(0.05)
        tick.cancel()
        server.close(srv, path)
        return max(gaps), reply

    longest, reply = asyncio.run(scenario())
    assert "error" in reply
    assert longest < 0.1, f"the loop stood still for {longest:.3f}s"


# ------------------------------------------------ checks: a run that never ends


def _bounded(coroutine: Any, bound: float) -> Any:
    async def scenario() -> Any:
        return await asyncio.wait_for(coroutine, bound)

    return asyncio.run(scenario())


def test_a_check_still_printing_at_its_timeout_is_reported_not_hung() -> None:
    """At the timeout the reader stopped, the pipe's buffer filled (the transport paused),
    so its end of file was never seen, and Python 3.11's Process.wait() waits for the pipes
    too: run() never returned. The check stayed "running" for good (never run again, its
    last result frozen), or the instance's hook queue stopped. A check whose output a local
    user controls (curl of a port they can bind) was enough."""
    outcome = _bounded(scripts.run("/usr/bin/yes", timeout=0.3), 5.0)
    assert outcome.timed_out
    assert outcome.exit_code is None


def test_a_check_whose_grandchild_keeps_the_output_open_is_reported_not_hung() -> None:
    """A grandchild in its own session (setsid) escapes the group kill and holds the pipe:
    the end of file never comes; the run must still end at its timeout. (The sleep
    outlives the test by a few seconds: the unit's cgroup is what ends it in service.)"""
    outcome = _bounded(
        scripts.run("/usr/bin/setsid -f /bin/sleep 7; /bin/sleep 5", timeout=0.3), 4.0
    )
    assert outcome.timed_out


def test_a_hook_still_printing_at_its_timeout_does_not_stop_the_queue() -> None:
    ran: list[str] = []

    async def scenario() -> None:
        async with asyncio.TaskGroup() as group:
            queues = scripts.HookQueues(group, lambda hook, outcome: ran.append(hook.command))
            for command in ("/usr/bin/yes", "/bin/true"):
                queues.submit("web", command, env={}, args=(), user=None, timeout=0.3)
            await asyncio.wait_for(queues.join(), 5.0)
            for task in asyncio.all_tasks():
                if task.get_name() == "hooks web":
                    task.cancel()

    asyncio.run(scenario())
    assert ran == ["/usr/bin/yes", "/bin/true"]


def test_checks_due_together_do_not_stall_the_loop() -> None:
    """h16r finding 11: each run was forked on the event loop with a preexec_fn
    (PR_SET_PDEATHSIG), which rules out vfork and makes Popen wait for the child's Python
    code and exec: about 10 ms of the loop per start, 0.31 s for 32 checks due together,
    past a 0.1 s advert's master-down interval."""

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        gaps: list[float] = []

        async def ticker() -> None:
            last = loop.time()
            while True:
                await asyncio.sleep(0.002)
                gaps.append(loop.time() - last)
                last = loop.time()

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        await asyncio.gather(*[scripts.run("/bin/true", timeout=5.0) for _ in range(64)])
        tick.cancel()
        return max(gaps)

    assert asyncio.run(scenario()) < 0.1


def test_a_reload_that_removes_metrics_listen_closes_the_endpoint(tmp_path: Path) -> None:
    """The endpoint was opened once and never followed the config: an operator who
    removed ``metrics_listen`` (or moved it off a routed address) and reloaded still had
    it listening where they had closed it."""
    port = _free_port()
    base = (
        f"global: {{control_socket: {tmp_path / 'c.sock'}LISTEN}}\n"
        "instances:\n  web: {interface: eth0, vrid: 51, virtual_addresses: [192.0.2.100/24]}\n"
    )

    async def echo(command: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"result": command}

    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    async def scenario() -> list[bool]:
        surface = Surface(echo, lambda: "vrrpd_up 1\n")
        seen = []
        for listen in (f", metrics_listen: '127.0.0.1:{port}'", ""):
            await surface.open(loads(base.replace("LISTEN", listen)))
            seen.append(await listening())
        surface.close()
        return seen

    assert asyncio.run(scenario()) == [True, False]


def test_a_fifo_a_user_put_as_the_program_is_refused_not_read(safe: Path) -> None:
    """Reading the ``#!`` line before judging the program would block the load (and a
    reload, on the event loop) on a FIFO: h16r's own first version did."""
    home = user_bin(safe)
    fifo = home / "check"
    os.mkfifo(fifo)
    os.chown(fifo, USER, USER)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(command_problems, str(fifo))
    try:
        why = future.result(timeout=3.0)
    except concurrent.futures.TimeoutError:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # let the stuck reader go
        pytest.fail("command_problems blocked on a FIFO")
    finally:
        pool.shutdown(wait=True)
    assert "owned by uid" in (why or "")


def test_an_interpreter_that_is_a_script_is_checked_in_turn(safe: Path) -> None:
    home = user_bin(safe)
    middle = safe / "interp"
    middle.write_text(f"#!{home}/true\n")
    middle.chmod(0o755)
    script = safe / "check.sh"
    script.write_text(f"#!{middle}\nexit 0\n")
    script.chmod(0o755)
    assert command_problems(str(script))
