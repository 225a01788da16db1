"""Instance states and the table of legal transitions.

Theory of operation
-------------------
Each virtual router (one VRID on one interface and family) is in one of four
states. INIT, BACKUP and MASTER are RFC 5798 section 6.4's Initialize, Backup and
Master (RFC 9568's Active); FAULT is Keepalived's addition, entered while the
instance *cannot* serve: its link is down, it has no source address, a tracked
thing with weight 0 is down, or a sync-group sibling is in FAULT.

* INIT -> BACKUP on startup (an address owner, priority 255, goes straight to MASTER).
* BACKUP waits Master_Down_Interval for adverts; silence means the master is gone,
  and the backup takes over. A priority-0 advert (a master releasing) shortens the
  wait to Skew_Time, so the highest-priority backup wins the race.
* MASTER advertises every Advertisement_Interval and yields to a better advert
  (higher priority, or equal priority from a higher primary address).
* Any state -> FAULT while a fault reason holds; FAULT -> BACKUP when the last one
  clears (the owner goes back to MASTER). A master entering FAULT first sends
  priority 0 so the others take over within Skew_Time.
* Every running state -> INIT on shutdown (a master sends priority 0 first).

Every state change goes through ``VirtualRouter._transition``, which refuses any
pair not in ``TRANSITIONS`` (that would be a bug) and records a human reason.
The diagram in docs/architecture.md is generated from this table.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Final


class State(enum.Enum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"

    def __str__(self) -> str:
        return self.value

    @property
    def notify_word(self) -> str:
        """Keepalived's word for hooks: leaving to INIT is a STOP."""
        return "STOP" if self is State.INIT else self.value


TRANSITIONS: Final = MappingProxyType(
    {
        (State.INIT, State.BACKUP): "startup",
        (State.INIT, State.MASTER): "startup as address owner (255)",
        (State.INIT, State.FAULT): "startup while a fault holds",
        (State.BACKUP, State.MASTER): "master down timer expired / sync group",
        (State.BACKUP, State.FAULT): "fault",
        (State.BACKUP, State.INIT): "shutdown",
        (State.MASTER, State.BACKUP): "better advert / sync group",
        (State.MASTER, State.FAULT): "fault (sends priority 0)",
        (State.MASTER, State.INIT): "shutdown (sends priority 0)",
        (State.FAULT, State.BACKUP): "last fault cleared",
        (State.FAULT, State.MASTER): "last fault cleared, address owner",
        (State.FAULT, State.INIT): "shutdown",
    }
)
"""(from, to) -> what triggers it. Anything else is a bug."""


def mermaid_diagram() -> str:
    """The state diagram of ``TRANSITIONS`` in Mermaid syntax (docs/architecture.md)."""
    lines = ["stateDiagram-v2", "    [*] --> INIT"]
    for (old, new), label in TRANSITIONS.items():
        lines.append(f"    {old} --> {new}: {label}")
    return "\n".join(lines) + "\n"
