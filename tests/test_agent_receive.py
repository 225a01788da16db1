"""Issue 16 item 13: a receive budget per wake-up, so timers run during a flood."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

from vrrpd.adapters.rawsock import Received
from vrrpd.core.constants import Family
from vrrpd.driver.agent import Agent

FLOOD = 20_000


class _Flood:
    """A socket with FLOOD datagrams waiting; readable (a real fd) until they are read."""

    interface, family = "eth0", Family.V4

    def __init__(self) -> None:
        self.left = FLOOD
        self.ours, self.theirs = socket.socketpair()
        self.theirs.send(b"x")  # keeps ``ours`` readable for the loop

    def receive(self) -> Received | None:
        if not self.left:
            return None
        self.left -= 1
        return Received(IPv4Address("198.51.100.1"), IPv4Address("224.0.0.18"), 255, b"")

    def fileno(self) -> int:
        return self.ours.fileno()


def test_a_flood_is_read_in_batches_and_the_timer_fires_in_between() -> None:
    handled: list[int] = []

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        sock = _Flood()
        agent: Any = SimpleNamespace(dispatch=lambda event, rearm: handled.append(1))
        agent._rearm = lambda: None
        fired = loop.create_future()
        loop.call_later(0, lambda: fired.done() or fired.set_result(len(handled)))
        first = 0

        def readable() -> None:
            nonlocal first
            Agent._readable(agent, sock)  # type: ignore[arg-type]
            first = first or len(handled)
            if not sock.left:
                loop.remove_reader(sock.fileno())

        loop.add_reader(sock.fileno(), readable)
        at_timer = await fired
        while sock.left:
            await asyncio.sleep(0)
        sock.ours.close()
        sock.theirs.close()
        return first, at_timer

    first, at_timer = asyncio.run(main())
    assert at_timer < FLOOD  # the timer ran while the flood was still being read
    assert first <= 64  # one wake-up reads one batch
    assert len(handled) == FLOOD  # nothing lost, only spread over turns of the loop
