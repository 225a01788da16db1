"""The metrics endpoint's bounds (issue 16, item 5): write timeout for clients that do
not read, a connection cap, and a page built at most once per CACHE_SECONDS."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from vrrpd.adapters import http

REQUEST = b"GET /metrics HTTP/1.0\r\n\r\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def fetch(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    data = await reader.read()
    writer.close()
    return data


def test_the_page_is_built_at_most_once_per_cache_period() -> None:
    built: list[float] = []

    def body() -> str:
        built.append(time.monotonic())
        return "vrrpd_up 1\n"

    async def scenario() -> list[bytes]:
        port = free_port()
        srv = await http.serve(f"127.0.0.1:{port}", body)
        pages = [await fetch(port) for _ in range(20)]
        srv.close()
        return pages

    pages = asyncio.run(scenario())
    assert all(p.endswith(b"vrrpd_up 1\n") for p in pages)
    assert len(built) == 1


def test_a_client_that_does_not_read_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "_TIMEOUT", 0.3)
    big = "x" * (16 << 20)  # more than the socket buffers hold

    async def scenario() -> bool:
        port = free_port()
        srv = await http.serve(f"127.0.0.1:{port}", lambda: big)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(REQUEST)
        await asyncio.sleep(1.5)  # never reading
        open_clients = http.open_connections(srv)
        sock.close()
        srv.close()
        return open_clients == 0

    assert asyncio.run(scenario())


def test_connections_past_the_cap_are_closed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every slot busy sending a page nobody reads: the next client gets a 503 at once
    (idle ones, which have not asked for anything, make room instead: see
    tests/test_h16r_findings.py)."""
    monkeypatch.setattr(http, "MAX_CONNECTIONS", 5)
    monkeypatch.setattr(http, "_TIMEOUT", 30.0)
    big = "x" * (16 << 20)

    async def scenario() -> tuple[bytes, float]:
        port = free_port()
        srv = await http.serve(f"127.0.0.1:{port}", lambda: big)
        busy = []
        for _ in range(5):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(REQUEST)
            busy.append(sock)
        await asyncio.sleep(0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        began = time.monotonic()
        data = await asyncio.wait_for(reader.read(), 5)
        took = time.monotonic() - began
        writer.close()
        for sock in busy:
            sock.close()
        srv.close()
        return data, took

    data, took = asyncio.run(scenario())
    assert data.startswith(b"HTTP/1.0 503")
    assert took < 1.0
