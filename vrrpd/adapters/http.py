"""A minimal HTTP/1.0 endpoint for ``global.metrics_listen``: GET /metrics, nothing else.

Enough for a Prometheus scraper and curl; requests are small and bounded, and a
slow client is dropped after a few seconds so it cannot pile up connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

_LIMIT = 8192
_TIMEOUT = 5.0


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``."""
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve(listen: str, body: Callable[[], str]) -> asyncio.Server:
    host, port = parse_listen(listen)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _TIMEOUT)
            request = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
            if len(request) >= 2 and request[0] == "GET" and request[1].split("?")[0] == "/metrics":
                payload = body().encode()
                status, kind = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
            else:
                payload, status, kind = b"only GET /metrics here\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(client, host, port, limit=_LIMIT)
