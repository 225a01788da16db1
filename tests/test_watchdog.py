"""WATCHDOG=1 from the event loop itself (issue 16): a frozen loop stops the pings."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from vrrpd.adapters import systemd


def test_pings_come_from_the_loop_and_stop_when_it_freezes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    receiver.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))

    def drain() -> list[bytes]:
        out = []
        while True:
            try:
                out.append(receiver.recv(100))
            except BlockingIOError:
                return out

    async def scenario() -> tuple[int, int, int]:
        assert systemd.start_watchdog(asyncio.get_running_loop()) is not None
        await asyncio.sleep(0.5)
        turning = drain()
        time.sleep(0.5)  # the loop frozen: nothing may be sent meanwhile
        frozen = drain()
        await asyncio.sleep(0.2)
        return len(turning), len(frozen), len(drain())

    turning, frozen, after = asyncio.run(scenario())
    receiver.close()
    assert turning >= 5  # every 50 ms (half of 100 ms) while the loop turns
    assert frozen == 0
    assert after >= 1


def test_no_watchdog_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert systemd.watchdog_interval() is None
