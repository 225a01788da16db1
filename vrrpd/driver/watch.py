"""``vrrpd watch``: state changes, priority changes, check flips and faults, as they happen.

Each watcher gets its own bounded queue. One that does not keep up (a stuck dashboard)
is dropped with a last line saying so, rather than making the agent buffer without end
or wait for it: the protocol never waits for an observer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from vrrpd.core.actions import StateChanged
from vrrpd.core.state import State

QUEUE = 1000
"""Events a watcher may fall behind by before it is dropped."""


def state_event(action: StateChanged) -> dict[str, Any]:
    """A state change as ``vrrpd watch`` shows it (a change into FAULT is a ``fault``)."""
    return {
        "event": "fault" if action.new is State.FAULT else "state",
        "instance": action.instance,
        "old": str(action.old),
        "new": str(action.new),
        "priority": action.priority,
        "reason": action.reason,
    }


class Watchers:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def __len__(self) -> int:
        return len(self._queues)

    def publish(self, event: dict[str, Any]) -> None:
        if not self._queues:
            return
        stamped = {"time": round(time.time(), 3), **event}
        for queue in list(self._queues):
            try:
                queue.put_nowait(stamped)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue.get_nowait()  # room for the last word
                queue.put_nowait(None)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE)
        self._queues.add(queue)
        try:
            yield {"event": "watching", "time": round(time.time(), 3)}
            while (event := await queue.get()) is not None:
                yield event
            yield {"event": "dropped", "reason": f"fell {QUEUE} events behind"}
        finally:
            self._queues.discard(queue)
