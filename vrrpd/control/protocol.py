"""Control-socket framing: one JSON object per line, each way, with bounds.

Pure functions so the limits and errors are tested without a socket. Every bound is
enforced by design: a request nested too deep is refused before the parser sees it
(no RecursionError), a reply too large is cut with a ``truncated`` marker (never an
exception that leaves the client without an answer), arguments of the wrong type get
an error naming the argument.
"""

from __future__ import annotations

import json
from typing import Any

MAX_LINE = 1 << 20
"""A reply larger than this is truncated (a status of many instances fits)."""
MAX_REQUEST = 64 << 10
"""A request larger than this is refused: the longest real one names instances (a few
KiB for hundreds), and a request is parsed on the event loop that sends the adverts
(1 MiB of numbers held it 0.28 s, past a 0.1 s advert's master-down interval)."""
MAX_DEPTH = 16
"""Nesting a request may have; the commands need two or three levels."""


class ProtocolError(ValueError):
    pass


def encode(message: dict[str, Any]) -> bytes:
    line = json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"
    if len(line) > MAX_LINE:
        raise ProtocolError(f"message of {len(line)} bytes exceeds {MAX_LINE}")
    return line


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def encode_bounded(message: dict[str, Any], limit: int = MAX_LINE) -> bytes:
    """``message`` as a line of at most ``limit`` bytes: while too large, the largest
    list or mapping (at the top or one level down) loses half its entries and the
    reply says ``"truncated": true``; as a last resort only an error is left."""
    message = dict(message)
    for _ in range(64):
        line = json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"
        if len(line) <= limit:
            return line
        message["truncated"] = True
        holders: list[tuple[dict[str, Any], str]] = [(message, k) for k in message]
        for key, value in list(message.items()):
            if isinstance(value, dict):
                inner = message[key] = dict(value)
                holders += [(inner, k) for k in inner]
        sized = [
            (_size(holder[key]), holder, key)
            for holder, key in holders
            if isinstance(holder[key], list | dict) and len(holder[key]) > 0
        ]
        if not sized:
            break
        _, holder, key = max(sized, key=lambda item: item[0])
        value = holder[key]
        keep = len(value) // 2
        holder[key] = value[:keep] if isinstance(value, list) else dict(list(value.items())[:keep])
    return encode({"error": f"reply larger than {limit} bytes", "truncated": True})


def _depth(line: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings, without parsing (at most the
    number of brackets: counted in C first, so a real request is never scanned in Python)."""
    brackets = line.count(b"[") + line.count(b"{")
    if brackets <= MAX_DEPTH:
        return brackets
    depth = deepest = 0
    in_string = escaped = False
    for byte in line:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def decode(line: bytes, limit: int = MAX_LINE) -> dict[str, Any]:
    """One message; ``limit``: MAX_REQUEST for what clients send, MAX_LINE for replies."""
    if len(line) > limit:
        raise ProtocolError(f"line of {len(line)} bytes exceeds {limit}")
    if _depth(line) > MAX_DEPTH:
        raise ProtocolError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message


def check_arguments(request: dict[str, Any]) -> None:
    """Arguments of the wrong type are the client's error, said plainly."""
    if not isinstance(request.get("command", ""), str):
        raise ProtocolError("'command' must be a string")
    instances = request.get("instances")
    if instances is not None and not (
        isinstance(instances, list) and all(isinstance(i, str) for i in instances)
    ):
        raise ProtocolError("'instances' must be a list of instance names")
    if "on" in request and not isinstance(request["on"], bool):
        raise ProtocolError("'on' must be true or false")


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
