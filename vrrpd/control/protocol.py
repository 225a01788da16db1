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
