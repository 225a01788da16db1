"""The control socket server: one JSON request line, one JSON reply line, per connection.

Mode 0600 (umask while binding), or 0660 for ``global.control_group``; every request is
checked against the peer's credentials (SO_PEERCRED): reading for root and that group,
changing for root only. A stale socket file from a crashed agent is
replaced; a live one (another agent on the same path) is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from vrrpd.control import protocol

Reply = dict[str, Any] | AsyncIterator[dict[str, Any]]
Handler = Callable[[str, dict[str, Any]], Awaitable[Reply]]
"""A command's name and the whole request -> its reply (awaited: a reload finishes before it answers), or a
stream of them (``watch``), one line each, until the client goes away."""


def is_live(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def peer(sock: socket.socket) -> tuple[int, frozenset[int]]:
    """The connected peer's uid and groups (primary and supplementary), from SO_PEERCRED."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    groups = {gid}
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Groups:"):
                groups.update(int(g) for g in line.split()[1:])
    return uid, frozenset(groups)


async def serve(path: str, handler: Handler, *, group: str | None = None) -> asyncio.Server:
    """Listen on ``path``: mode 0600, or 0660 owned by ``group`` (status only, see
    ``protocol.authorize``). A malformed or oversized request gets an error reply."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if is_live(path):
            raise OSError(f"another agent is listening on {path}")
        os.unlink(path)
    gid = grp.getgrnam(group).gr_gid if group else None

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                line = await reader.readline()
                request = protocol.decode(line)
                command = str(request.get("command", ""))
                uid, groups = peer(writer.get_extra_info("socket"))
                refusal = protocol.authorize(command, uid=uid, groups=groups, status_gid=gid)
                reply: Reply = {"error": refusal} if refusal else await handler(command, request)
            except (protocol.ProtocolError, ValueError) as error:  # ValueError: over the limit
                reply = {"error": str(error)}
            if isinstance(reply, dict):
                writer.write(protocol.encode(reply))
                await writer.drain()
                return
            try:
                async for item in reply:
                    writer.write(protocol.encode(item))
                    await writer.drain()
            finally:
                await reply.aclose()  # type: ignore[attr-defined]
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing to answer
        finally:
            writer.close()

    old = os.umask(0o117 if gid is not None else 0o177)
    try:
        server = await asyncio.start_unix_server(client, path=path, limit=protocol.MAX_LINE + 1)
    finally:
        os.umask(old)
    if gid is not None:
        os.chown(path, -1, gid)
    return server


def close(server: asyncio.Server, path: str) -> None:
    server.close()
    with contextlib.suppress(OSError):
        os.unlink(path)
