"""The control socket server: one JSON request line, one JSON reply line, per connection.

Mode 0600, or 0660 for ``global.control_group``; every request is checked against the
peer's credentials taken from the socket itself (SO_PEERCRED, SO_PEERGROUPS: never
/proc after the request, where the PID may already be another process's): reading for
root and that group, changing for root only. A stale socket file from a crashed agent
is replaced; a live one (another agent on the same path) is an error.

Bounded like every socket the agent serves: a request must arrive within
READ_TIMEOUT, each reply line must be taken within WRITE_TIMEOUT (else the connection
is aborted with its buffer: a plain close would keep both until the client reads), and
at most MAX_CONNECTIONS are open: a new one past the cap closes the oldest that has not
sent its request yet, else the oldest ``watch`` stream (idle clients and streams cannot
lock out ``vrrpd status`` or use up the fds the checks need), else it is refused
itself unless it is root's. A stream is checked against the socket's group before every line, so a reload
that takes the group away ends it.
Replies are cut to the line limit with a marker, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from vrrpd.control import protocol

log = logging.getLogger("vrrpd")

Reply = dict[str, Any] | AsyncIterator[dict[str, Any]]
Handler = Callable[[str, dict[str, Any]], Awaitable[Reply]]
"""A command's name and the whole request -> its reply (awaited: a reload finishes before it answers), or a
stream of them (``watch``), one line each, until the client goes away."""

READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)

_groups: dict[str, int | None] = {}
"""The status group of each served path: changed in place on reload."""


def is_live(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def peer(sock: socket.socket) -> tuple[int, frozenset[int]]:
    """The connected peer's uid and groups (primary and supplementary), as the kernel
    recorded them at connect (SO_PEERCRED, SO_PEERGROUPS)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, gid = struct.unpack("3i", creds)
    groups = {gid}
    size = 4 * 64
    while size <= 4 * 65536:
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, size)
        except OSError as error:
            if error.errno == 34:  # ERANGE: more groups than room
                size *= 4
                continue
            break
        groups.update(struct.unpack(f"{len(raw) // 4}I", raw[: len(raw) // 4 * 4]))
        break
    return uid, frozenset(groups)


def _root(writer: asyncio.StreamWriter) -> bool:
    """Whether the peer is root, by the credentials the kernel took at connect."""
    try:
        return peer(writer.get_extra_info("socket"))[0] == 0
    except OSError:
        return False


async def _request_line(reader: asyncio.StreamReader) -> bytes:
    """The request line; one over MAX_REQUEST is read to its end and thrown away (in
    chunks, never parsed), so the client can read the error instead of a broken pipe."""
    try:
        return await reader.readline()
    except ValueError:  # over the reader's limit: its buffer was cleared
        thrown = 0
        while thrown < 16 * protocol.MAX_LINE:
            chunk = await reader.read(65536)
            if not chunk or b"\n" in chunk:
                break
            thrown += len(chunk)
        raise ValueError(f"request larger than {protocol.MAX_REQUEST} bytes") from None


def _bind(path: str, gid: int | None) -> socket.socket:
    """A listening socket at ``path`` with its final mode and group from the start.

    Bound under a name beside ``path`` and renamed over it, so a reload that changes
    the group never leaves the path missing. The umask is set around the bind() call
    only, with no await in between. The group comes from the effective gid at bind
    (CAP_SETGID, which the unit grants), or chown (CAP_CHOWN, which it does not):
    if neither works, a clear error and the socket stays root's alone (0600)."""
    part = f"{path}.new"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old_umask = os.umask(0o177)
    egid = os.getegid()
    try:
        switched = False
        if gid is not None and gid != egid:
            with contextlib.suppress(OSError):
                os.setegid(gid)
                switched = True
        try:
            sock.bind(part)
        finally:
            if switched:
                os.setegid(egid)
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    if gid is not None:
        try:
            if os.stat(part).st_gid != gid:
                os.chown(part, -1, gid)
            os.chmod(part, 0o660)
        except OSError as error:
            log.error(
                "control socket %s: cannot give it to group %d (%s): status stays root's only",
                path,
                gid,
                error.strerror,
            )
    os.replace(part, path)
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(
    path: str, handler: Handler, *, group: str | None = None, replace: bool = False
) -> asyncio.Server:
    """Listen on ``path``: mode 0600, or 0660 owned by ``group`` (status only, see
    ``protocol.authorize``). A malformed or oversized request gets an error reply.
    ``replace``: our own server is on ``path`` (a reload changed the group)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if not replace and is_live(path):
            raise OSError(f"another agent is listening on {path}")
        if not replace:
            os.unlink(path)
    gid = grp.getgrnam(group).gr_gid if group else None
    _groups[path] = gid
    # Insertion order: oldest first. Streams keep their task, to end them when evicted.
    waiting: dict[asyncio.StreamWriter, None] = {}
    streams: dict[asyncio.StreamWriter, asyncio.Task[Any] | None] = {}
    open_count = 0
    turn = asyncio.Lock()
    """Held while a read-only reply is built, and for one turn of the loop after: each
    turn builds at most one, and the timers that send the adverts run in between.
    Without it every client whose request arrived in the same turn had its reply built
    in that turn, one after another: 200 instances' status is ~14 ms, and 32 members of
    control_group asking in a loop held the loop 0.78 s (h16r3 finding 1)."""

    def evict(newcomer: asyncio.StreamWriter) -> bool:
        """Past the cap: the oldest idle connection goes, else the oldest stream; False
        when every other connection is busy with a request (then the newcomer goes)."""
        for oldest in waiting:
            if oldest is not newcomer:
                waiting.pop(oldest)
                oldest.transport.abort()
                return True
        if streams:
            oldest = next(iter(streams))
            task = streams.pop(oldest)
            oldest.transport.abort()
            if task is not None:
                task.cancel()
            return True
        return False

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_count
        encoded = b""
        open_count += 1
        waiting[writer] = None
        if open_count > MAX_CONNECTIONS and not evict(writer) and not _root(writer):
            # Every slot busy with a request: refused, or they would pile up beyond the
            # cap, an fd each (h16r3 finding 9). Root never is: a monitoring user's
            # requests must not make `systemctl reload` fail.
            open_count -= 1
            waiting.pop(writer, None)
            writer.write(protocol.encode({"error": "busy: too many connections, try again"}))
            writer.close()
            return
        try:
            try:
                try:
                    line = await asyncio.wait_for(_request_line(reader), READ_TIMEOUT)
                finally:
                    waiting.pop(writer, None)
                request = protocol.decode(line, protocol.MAX_REQUEST)
                protocol.check_arguments(request)
                command = str(request.get("command", ""))
                uid, groups = peer(writer.get_extra_info("socket"))
                refusal = protocol.authorize(
                    command, uid=uid, groups=groups, status_gid=_groups.get(path)
                )
                if refusal:
                    reply: Reply = {"error": refusal}
                elif command in protocol.READ_ONLY:
                    # One read-only reply built per turn of the loop (see ``turn``).
                    async with turn:
                        reply = await handler(command, request)
                        if isinstance(reply, dict):
                            encoded = protocol.encode_bounded(reply)
                        await asyncio.sleep(0)
                else:
                    reply = await handler(command, request)
            except (protocol.ProtocolError, ValueError, TypeError) as error:
                reply = {"error": str(error)}  # ValueError: over the limit
                encoded = b""
            if isinstance(reply, dict):
                writer.write(encoded or protocol.encode_bounded(reply))
                await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
                return
            streams[writer] = asyncio.current_task()
            try:
                async for item in reply:
                    if protocol.authorize(
                        command, uid=uid, groups=groups, status_gid=_groups.get(path)
                    ):
                        break  # a reload took the group away: the stream ends
                    writer.write(protocol.encode_bounded(item))
                    await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
            finally:
                await reply.aclose()  # type: ignore[attr-defined]
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, OSError):
            writer.transport.abort()  # gone, or too slow: its unsent buffer goes too
        finally:
            open_count -= 1
            waiting.pop(writer, None)
            streams.pop(writer, None)
            writer.close()
            if writer.transport.get_write_buffer_size():
                # The last reply is still queued: the client has WRITE_TIMEOUT to take it.
                asyncio.get_running_loop().call_later(WRITE_TIMEOUT, writer.transport.abort)

    sock = _bind(path, gid)
    return await asyncio.start_unix_server(client, sock=sock, limit=protocol.MAX_REQUEST + 1)


def close(server: asyncio.Server, path: str) -> None:
    server.close()
    with contextlib.suppress(OSError):
        os.unlink(path)
