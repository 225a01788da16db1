"""The control-socket client used by ``vrrpd status`` and ``vrrpd reload``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

from vrrpd.control import protocol


def stream(path: str, command: str) -> Iterator[dict[str, Any]]:
    """Each line of a streamed reply (``watch``), until the agent closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(protocol.encode({"command": command}))
        with sock.makefile("rb") as lines:
            for line in lines:
                yield protocol.decode(line)


def request(path: str, command: str, *, timeout: float = 10.0, **arguments: Any) -> dict[str, Any]:
    return exchange(path, protocol.encode({"command": command, **arguments}), timeout=timeout)


def exchange(path: str, line: bytes, *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request line as it is (the tests send malformed ones), read the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(line)
        buffer = b""
        while not buffer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > protocol.MAX_LINE:
                raise protocol.ProtocolError("reply too large")
    return protocol.decode(buffer)
