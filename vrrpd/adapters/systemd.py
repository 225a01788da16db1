"""sd_notify: READY=1, RELOADING=1, STOPPING=1, STATUS=... over $NOTIFY_SOCKET.

Standard library only: the protocol is one datagram on a unix socket, and an agent
started outside systemd (no NOTIFY_SOCKET) simply sends nothing.
"""

from __future__ import annotations

import asyncio
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


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec=), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2e6 if int(usec) > 0 else None
    except ValueError:
        return None


def start_watchdog(loop: asyncio.AbstractEventLoop) -> asyncio.TimerHandle | None:
    """Ping systemd's watchdog from a callback of ``loop`` itself, not from a thread: the
    ping stops exactly when the loop that sends the adverts stops turning, and systemd
    then kills and restarts the agent (WatchdogSec= in the unit)."""
    interval = watchdog_interval()
    if interval is None:
        return None
    handle: list[asyncio.TimerHandle] = []

    def ping() -> None:
        notify("WATCHDOG=1")
        handle[:] = [loop.call_later(interval, ping)]

    handle.append(loop.call_later(0, ping))
    return handle[0]
