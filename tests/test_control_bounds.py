"""The control socket's bounds (issue 16, items 4, 6, 9, 13): timeouts, a connection
cap, nesting, argument types, a bounded reply, the umask, the group on reload."""

from __future__ import annotations

import asyncio
import functools
import grp
import os
import resource
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vrrpd.adapters import scripts
from vrrpd.config.loader import loads
from vrrpd.control import protocol, server
from vrrpd.control.client import exchange
from vrrpd.driver.control import Surface


async def echo(command: str, request: dict[str, Any]) -> dict[str, Any]:
    names = [str(i) for i in request.get("instances") or []]
    if command == "big":
        return {"result": "big", "instances": {f"i{n}": "x" * 100 for n in range(20000)}}
    return {"result": command, "names": names}


IDLE_CLIENTS = 1_100
"""Issue 16's bar: 1,100 idle control clients, and status still answers, checks still run."""


@pytest.fixture
def low_fd_limit() -> Iterator[None]:
    """Room for the 1,100 clients (in this process too) and little more: the server must
    not spend a descriptor per idle client, or the checks cannot start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1400, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_idle_clients_cannot_lock_out_status_or_the_checks(
    tmp_path: Path, low_fd_limit: None
) -> None:
    path = str(tmp_path / "c.sock")

    async def scenario() -> tuple[dict[str, Any], int | None]:
        srv = await server.serve(path, echo)
        loop = asyncio.get_running_loop()
        idle = []
        for _ in range(IDLE_CLIENTS):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            await loop.sock_connect(sock, path)
            idle.append(sock)
            await asyncio.sleep(0)
        await asyncio.sleep(0.2)
        reply = await loop.run_in_executor(
            None, functools.partial(exchange, path, b'{"command":"status"}\n', timeout=2.0)
        )
        check = await scripts.run("/bin/true", timeout=5)
        for sock in idle:
            sock.close()
        server.close(srv, path)
        return reply, check.exit_code

    reply, exit_code = asyncio.run(scenario())
    assert reply["result"] == "status"
    assert exit_code == 0


def test_a_client_that_sends_nothing_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "READ_TIMEOUT", 0.2)
    path = str(tmp_path / "c.sock")

    async def scenario() -> bytes:
        srv = await server.serve(path, echo)
        reader, writer = await asyncio.open_unix_connection(path)
        got = await asyncio.wait_for(reader.read(100), 3)
        writer.close()
        server.close(srv, path)
        return got

    assert asyncio.run(scenario()) == b""


def ask(path: str, line: bytes) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        srv = await server.serve(path, echo)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                None, functools.partial(exchange, path, line, timeout=5.0)
            )
        finally:
            server.close(srv, path)

    return asyncio.run(scenario())


def test_deep_nesting_is_refused_before_parsing(tmp_path: Path) -> None:
    line = b'{"command":"status","x":' + b"[" * 30_000 + b"]" * 30_000 + b"}\n"
    reply = ask(str(tmp_path / "c.sock"), line)
    assert "nested deeper" in reply["error"]


def test_wrong_argument_types_get_a_clear_error(tmp_path: Path) -> None:
    reply = ask(str(tmp_path / "c.sock"), b'{"command":"maintenance","instances":5}\n')
    assert reply == {"error": "'instances' must be a list of instance names"}


def test_a_reply_over_the_limit_is_truncated_with_a_marker(tmp_path: Path) -> None:
    reply = ask(str(tmp_path / "c.sock"), b'{"command":"big"}\n')
    assert reply["truncated"] is True
    assert reply["result"] == "big"
    assert 0 < len(reply["instances"]) < 20000


def test_the_umask_is_never_changed_across_an_await(tmp_path: Path) -> None:
    seen: set[int] = set()

    async def watch(stop: asyncio.Event) -> None:
        while not stop.is_set():
            mask = os.umask(0o022)
            os.umask(mask)
            seen.add(mask)
            await asyncio.sleep(0)

    async def scenario() -> int:
        mask = os.umask(0o022)
        os.umask(mask)
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(stop))
        await asyncio.sleep(0)
        for n in range(20):
            srv = await server.serve(str(tmp_path / f"{n}.sock"), echo)
            server.close(srv, str(tmp_path / f"{n}.sock"))
        stop.set()
        await watcher
        return mask

    mask = asyncio.run(scenario())
    assert seen == {mask}


def test_a_control_group_change_on_reload_applies(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    base = (
        f"global: {{control_socket: {path}, control_group: GROUP}}\n"
        "instances:\n  web: {interface: eth0, vrid: 51, virtual_addresses: [192.0.2.100/24]}\n"
    )

    async def scenario() -> list[int]:
        surface = Surface(echo, lambda: "")
        gids = []
        for group in ("root", "nogroup"):
            await surface.open(loads(base.replace("GROUP", group)))
            gids.append(os.stat(path).st_gid)
        surface.close()
        return gids

    assert asyncio.run(scenario()) == [0, grp.getgrnam("nogroup").gr_gid]


def test_encode_bounded_keeps_small_replies_whole() -> None:
    message = {"result": "ok", "instances": {"web": {"state": "MASTER"}}}
    assert protocol.decode(protocol.encode_bounded(message)) == message
