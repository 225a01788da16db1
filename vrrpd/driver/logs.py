"""Log helpers shared by the driver: rate limiting and the instance prefix.

A flood of bad packets must not become a flood of log lines (the journal would
rate-limit the whole service, hiding the state changes that matter), yet the
operator must learn how much was held back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrrpd.core.config import InstanceConfig


@dataclass
class RateLimit:
    """At most one line per key per ``interval`` seconds, counting what was held back."""

    interval: float = 10.0
    last: dict[str, float] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> int | None:
        """None to stay quiet, else how many lines were held back since the last one."""
        if now - self.last.get(key, -1e9) < self.interval:
            self.held[key] = self.held.get(key, 0) + 1
            return None
        self.last[key] = now
        return self.held.pop(key, 0)


def prefixes(instances: tuple[InstanceConfig, ...]) -> dict[str, str]:
    """``[web eth0 v4]``-style prefixes by instance name (STYLE.md's log habit)."""
    return {i.name: f"{i.name} {i.interface} {i.family}" for i in instances}
