"""sd_notify: READY=1, RELOADING=1, STOPPING=1, STATUS=... over $NOTIFY_SOCKET.

Standard library only: the protocol is one datagram on a unix socket, and an agent
started outside systemd (no NOTIFY_SOCKET) simply sends nothing.
"""

from __future__ import annotations

import os
import socket


def notify(*fields: str) -> bool:
    """Send ``KEY=value`` fields to systemd; False when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
        except OSError:
            return False
    return True
