"""RFC timer arithmetic in one place.

Wire units carry a ``_cs`` suffix (centiseconds); everything returned is seconds.
Skew_Time uses the instance's *effective* priority, as Keepalived does, so a
backup whose checks lowered its priority also waits a little longer.
"""

from __future__ import annotations

from vrrpd.core.constants import CENTISECONDS

DOWN_INTERVAL_ADVERTS = 3
"""Master_Down_Interval is three advertisement intervals plus the skew."""


def skew_time(priority: int, master_adver_interval_cs: int, version: int) -> float:
    """v2: (256 - priority) / 256 seconds; v3: (256 - priority) * Master_Adver_Interval / 256."""
    if version == 2:
        return (256 - priority) / 256
    return (256 - priority) * master_adver_interval_cs / 256 / CENTISECONDS


def master_down_interval(priority: int, master_adver_interval_cs: int, version: int) -> float:
    """3 * Master_Adver_Interval + Skew_Time (v2 uses its own interval, it learns none)."""
    interval = master_adver_interval_cs / CENTISECONDS
    return DOWN_INTERVAL_ADVERTS * interval + skew_time(priority, master_adver_interval_cs, version)
