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
        agent._rearm = agent._follow_masters = lambda: None
        agent._last_heard = {}
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


class _Repeats:
    """One datagram per wake-up, from ``sources`` in turn: a master's repeated adverts."""

    interface, family = "eth0", Family.V4

    def __init__(self, *sources: str) -> None:
        self.sources = list(sources)
        self.waiting = False

    def receive(self) -> Received | None:
        if not self.waiting:
            return None
        self.waiting = False
        src = IPv4Address(self.sources.pop(0))
        return Received(src, IPv4Address("224.0.0.18"), 255, b"\x31\x07\x64\x01\x00\x0a")


class _Walked(dict[str, Any]):
    """The instances, counting how often ``_follow_masters`` walks them."""

    walks = 0

    def values(self) -> Any:
        self.walks += 1
        return super().values()


def _backup(routers: _Walked) -> Any:
    agent: Any = SimpleNamespace(_last_heard={}, _follow_stale=True, loop=None)
    agent.node = SimpleNamespace(routers=routers, handle=lambda event, now: agent.actions)
    agent.kernel = SimpleNamespace(lanes={("eth0", Family.V4): object()}, follow=lambda f: None)
    agent.executor = SimpleNamespace(submit=lambda actions: None)
    agent.actions = []
    agent.dispatch = lambda event, now=None, rearm=True: Agent.dispatch(
        agent, event, 0.0, rearm=False
    )
    agent._rearm = lambda: None
    agent._follow_masters = lambda: Agent._follow_masters(agent)
    return agent


def test_repeated_adverts_do_not_walk_every_instance_again() -> None:
    """Issue 17: the followed masters were recomputed over every instance after each
    advert received; a byte-for-byte repeat from the same master changes nobody's."""
    routers = _Walked()
    agent = _backup(routers)
    sock = _Repeats("192.0.2.11", "192.0.2.11", "192.0.2.11", "192.0.2.12", "192.0.2.12")
    walks = []
    for _ in range(5):
        sock.waiting = True
        Agent._readable(agent, sock)  # type: ignore[arg-type]
        walks.append(routers.walks)
    assert walks == [1, 1, 1, 2, 2]  # the first advert, then another master's


def test_a_state_change_or_a_timer_walks_them_again_adverts_sent_do_not() -> None:
    from vrrpd.core import actions as act
    from vrrpd.core.events import TimerFired
    from vrrpd.core.state import State

    routers = _Walked()
    agent = _backup(routers)
    agent._follow_masters()
    advert = act.SendAdvert("web", "eth0", Family.V4, IPv4Address("192.0.2.11"),
                            IPv4Address("224.0.0.18"), b"", 100)  # fmt: skip
    agent.actions = [advert]
    Agent.dispatch(agent, TimerFired(), 0.0, rearm=False)
    agent._follow_masters()
    assert routers.walks == 1
    agent.actions = [act.StateChanged("web", State.BACKUP, State.MASTER, "timer", 100, 0.0)]
    Agent.dispatch(agent, TimerFired(), 0.0, rearm=False)
    agent._follow_masters()
    assert routers.walks == 2
    agent.actions = []
    Agent.dispatch(agent, TimerFired(), 0.0, rearm=False)  # nothing said: assume anything
    agent._follow_masters()
    assert routers.walks == 3
