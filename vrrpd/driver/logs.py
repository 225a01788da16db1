"""Log helpers shared by the driver: rate limiting and the instance prefix.

A flood of bad packets must not become a flood of log lines (the journal would
rate-limit the whole service, hiding the state changes that matter), yet the
operator must learn how much was held back. Keys can come from the network (a
spoofed source, a VRID): the table is capped (least recently used out first) and
pruned, so no sender can grow it, and an optional global budget bounds the lines of
every key together, with one "suppressed N" line when the window turns.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from vrrpd.core.config import InstanceConfig

MAX_KEYS = 1024
"""Keys a rate limit remembers: far more than reasons x instances of a big config."""


@dataclass
class RateLimit:
    """At most one line per key per ``interval`` seconds, counting what was held back;
    with ``budget``, at most that many lines per ``interval`` over all keys."""

    interval: float = 10.0
    budget: int | None = None
    max_keys: int = MAX_KEYS
    last: OrderedDict[str, float] = field(default_factory=OrderedDict)
    held: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
    """Lines the global budget held back in the current window (not in ``held``)."""
    forgotten: int = 0
    """Held-back counts of keys evicted from a full table (reported with ``suppressed``)."""
    _window: float = -1e9
    _spent: int = 0

    def allow(self, key: str, now: float) -> int | None:
        """None to stay quiet, else how many lines were held back since the last one."""
        last = self.last.get(key)
        if last is not None and now - last < self.interval:
            self.held[key] = self.held.get(key, 0) + 1
            self.last.move_to_end(key)
            return None
        if self.budget is not None:
            if now - self._window >= self.interval:
                self._window, self._spent = now, 0
            if self._spent >= self.budget:
                self.suppressed += 1
                return None
            self._spent += 1
        self.last[key] = now
        self.last.move_to_end(key)
        self._prune(now)
        return self.held.pop(key, 0)

    def report(self, now: float) -> int:
        """Lines held back by the budget or lost with evicted keys, once the window has
        turned (0 before): the caller writes one "suppressed N" line for them."""
        if not (self.suppressed or self.forgotten) or now - self._window < self.interval:
            return 0
        count, self.suppressed, self.forgotten = self.suppressed + self.forgotten, 0, 0
        return count

    def flush(self, now: float) -> int:
        """``report`` after forgetting the keys whose interval is over: what they held back
        is due now, even if they are never heard again (a flood that stopped). Every key
        is looked at (at most ``max_keys``), not only the least recently used end, so
        that nothing left is due before ``due()``: the caller's timer cannot spin."""
        for key, when in list(self.last.items()):
            if now - when >= self.interval:
                del self.last[key]
                self.forgotten += self.held.pop(key, 0)
        return self.report(now)

    def due(self) -> float | None:
        """When ``flush`` will have something to report (None: nothing is held back), so a
        caller can write the count when the window turns, not at the next line."""
        times = [self.last[key] + self.interval for key, count in self.held.items() if count]
        if self.suppressed or self.forgotten:
            times.append(self._window + self.interval)
        return min(times) if times else None

    def _prune(self, now: float) -> None:
        """From the least recently used end: keys whose interval is over, then any over the
        cap (constant time per call on average, however many sources a flood spoofs)."""
        while self.last:
            key, when = next(iter(self.last.items()))
            if len(self.last) <= self.max_keys and now - when < self.interval:
                break
            del self.last[key]
            self.forgotten += self.held.pop(key, 0)


def prefixes(instances: tuple[InstanceConfig, ...]) -> dict[str, str]:
    """``[web eth0 v4]``-style prefixes by instance name (STYLE.md's log habit)."""
    return {i.name: f"{i.name} {i.interface} {i.family}" for i in instances}
