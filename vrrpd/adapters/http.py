"""A minimal HTTP/1.0 endpoint for ``global.metrics_listen``: GET /metrics, nothing else.

Enough for a Prometheus scraper and curl, and bounded like every socket the agent
serves: the request must arrive within _TIMEOUT, the reply must be taken within
_TIMEOUT (a client that does not read is aborted, its buffer with it, also when only
the page's tail is left once the handler is done), at most MAX_CONNECTIONS are served
at once (past the cap the oldest connection that has not sent its request is dropped,
so idle connections cannot lock the scraper out, else the oldest that has left its page
untaken for STALLED; when every slot is busy sending and none is stalled, the newcomer
gets a 503), and the page is built at most once per CACHE_SECONDS (for 200 instances it is about 400 KB
and several milliseconds of the event loop that sends the adverts).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

_LIMIT = 8192
_TIMEOUT = 5.0
MAX_CONNECTIONS = 16
CACHE_SECONDS = 1.0
STALLED = 1.0
"""Seconds a connection may leave its page untaken before a newcomer past the cap takes
its slot."""

_open: dict[int, set[asyncio.StreamWriter]] = {}


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``."""
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def open_connections(server: asyncio.Server) -> int:
    """Connections being served (for the tests and the hostile-load figures)."""
    return len(_open.get(id(server), ()))


async def serve(listen: str, body: Callable[[], str]) -> asyncio.Server:
    host, port = parse_listen(listen)
    clients: set[asyncio.StreamWriter] = set()
    waiting: dict[asyncio.StreamWriter, None] = {}  # no request yet; oldest first
    sending: dict[asyncio.StreamWriter, float] = {}  # page not yet taken, since; oldest first
    cache: list[tuple[float, bytes]] = []

    def page() -> bytes:
        now = time.monotonic()
        if not cache or now - cache[0][0] >= CACHE_SECONDS:
            cache[:] = [(now, body().encode())]
        return cache[0][1]

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(clients) >= MAX_CONNECTIONS and waiting:
            idle = next(iter(waiting))
            waiting.pop(idle)
            clients.discard(idle)
            idle.transport.abort()
        elif len(clients) >= MAX_CONNECTIONS and sending:
            # A page takes a scraper milliseconds: a connection still not taking its
            # own after STALLED gives its slot up, or 16 that never read held every slot
            # for the write timeout, again and again (h16r3 finding 12).
            oldest, since = next(iter(sending.items()))
            if time.monotonic() - since >= STALLED:
                sending.pop(oldest)
                clients.discard(oldest)
                oldest.transport.abort()
        if len(clients) >= MAX_CONNECTIONS:
            writer.write(b"HTTP/1.0 503 Service Unavailable\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        clients.add(writer)
        waiting[writer] = None
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _TIMEOUT)
            finally:
                waiting.pop(writer, None)
            request = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
            if len(request) >= 2 and request[0] == "GET" and request[1].split("?")[0] == "/metrics":
                payload = page()
                status, kind = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
            else:
                payload, status, kind = b"only GET /metrics here\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            sending[writer] = time.monotonic()
            await asyncio.wait_for(writer.drain(), _TIMEOUT)
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            writer.transport.abort()  # a client that does not read: drop its buffer too
        finally:
            clients.discard(writer)
            sending.pop(writer, None)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), _TIMEOUT)
            except (ConnectionError, TimeoutError):
                writer.transport.abort()  # the tail was never taken: its fd goes too

    # The listen queue no longer than the cap: asyncio accepts up to the backlog in one
    # turn of the loop, and a local user's connect flood held it 0.10-0.14 s with the
    # default 100; past the cap the kernel holds them back (h16r3 finding 6).
    server = await asyncio.start_server(client, host, port, limit=_LIMIT, backlog=MAX_CONNECTIONS)
    _open[id(server)] = clients
    return server
