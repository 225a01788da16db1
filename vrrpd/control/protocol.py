"""Control-socket framing: one JSON object per line, each way, with a size limit.

Pure functions so the limits and errors are tested without a socket.
"""

from __future__ import annotations

import json
from typing import Any

MAX_LINE = 1 << 20
"""A request or reply larger than this is refused (a status of many instances fits)."""


class ProtocolError(ValueError):
    pass


def encode(message: dict[str, Any]) -> bytes:
    line = json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"
    if len(line) > MAX_LINE:
        raise ProtocolError(f"message of {len(line)} bytes exceeds {MAX_LINE}")
    return line


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE:
        raise ProtocolError(f"line of {len(line)} bytes exceeds {MAX_LINE}")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message


READ_ONLY = frozenset({"status", "watch"})
"""Commands that change nothing; every other command is root's alone."""


def authorize(command: str, *, uid: int, groups: frozenset[int], status_gid: int | None) -> str:
    """'' when the peer (by SO_PEERCRED) may run ``command``, else why not.

    The socket's mode already keeps strangers out; this is the second lock, so a
    group given read access for monitoring cannot reload or hand over mastership.
    """
    if uid == 0:
        return ""
    if command in READ_ONLY and status_gid is not None and status_gid in groups:
        return ""
    if command in READ_ONLY:
        return f"permission denied: {command!r} is for root and global.control_group"
    return f"permission denied: {command!r} changes the agent and is for root only"
