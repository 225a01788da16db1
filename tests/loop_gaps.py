"""How long the event loop stalls while something runs beside it (pure tests)."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class LoopGaps:
    """A 5 ms ticker on the running loop, for ``async with``: ``longest`` is the longest
    gap between its ticks, i.e. how long the loop that sends the adverts was held."""

    def __init__(self) -> None:
        self.gaps = [0.0]
        self._task: asyncio.Task[None] | None = None

    @property
    def longest(self) -> float:
        return max(self.gaps)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            self.gaps.append(now - last)
            last = now

    async def __aenter__(self) -> LoopGaps:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # the ticker runs before what it measures
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
