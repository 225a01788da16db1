"""The control socket server: one JSON request line, one JSON reply line, per connection.

Mode 0600 (umask while binding). A stale socket file from a crashed agent is
replaced; a live one (another agent on the same path) is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from vrrpd.control import protocol

Handler = Callable[[str], Awaitable[dict[str, Any]]]
"""A command's name -> its reply (awaited: a reload finishes before it answers)."""


def is_live(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


async def serve(path: str, handler: Handler) -> asyncio.Server:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if is_live(path):
            raise OSError(f"another agent is listening on {path}")
        os.unlink(path)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                request = protocol.decode(line)
                reply = await handler(str(request.get("command", "")))
            except protocol.ProtocolError as error:
                reply = {"error": str(error)}
            writer.write(protocol.encode(reply))
            await writer.drain()
        finally:
            writer.close()

    old = os.umask(0o177)
    try:
        return await asyncio.start_unix_server(client, path=path)
    finally:
        os.umask(old)


def close(server: asyncio.Server, path: str) -> None:
    server.close()
    with contextlib.suppress(OSError):
        os.unlink(path)
