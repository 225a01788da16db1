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
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping


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


class Stimulus(enum.Enum):
    """What can happen to one instance (the node turns events into these)."""

    STARTUP = "startup"
    SHUTDOWN = "shutdown"
    ADVERT = "a valid advert"
    TIMER = "a deadline fell due"
    FAULT = "a fault appeared"
    CLEARED = "the last fault cleared"
    PRIORITY = "the effective priority changed"
    GROUP_MASTER = "a sync-group sibling became MASTER"
    GROUP_BACKUP = "a sync-group sibling left MASTER for BACKUP"
    VIPS_REMOVED = "some of our VIPs were removed by something else"
    RECONFIGURED = "a reload changed the VIPs, interval or advert contents in place"
    ANNOUNCE = "an operator asked for the VIPs to be announced again"
    MAINTENANCE = "an operator put the node in maintenance, or took it out"


@dataclass(frozen=True, slots=True)
class Handle:
    """Run ``VirtualRouter.<handler>``; it must end in one of ``to``."""

    handler: str
    to: frozenset[State]


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing happens, and this is why."""

    why: str


def _h(handler: str, *to: State) -> Handle:
    return Handle(handler, frozenset(to))


_I, _B, _M, _F = State.INIT, State.BACKUP, State.MASTER, State.FAULT
DISPATCH: Final[Mapping[tuple[State, Stimulus], Handle | Ignored]] = MappingProxyType(
    {
        (_I, Stimulus.STARTUP): _h("_on_startup", _B, _M, _F),
        (_B, Stimulus.STARTUP): Ignored("already running"),
        (_M, Stimulus.STARTUP): Ignored("already running"),
        (_F, Stimulus.STARTUP): Ignored("already running"),
        (_I, Stimulus.SHUTDOWN): Ignored("not running"),
        (_B, Stimulus.SHUTDOWN): _h("_on_shutdown", _I),
        (_M, Stimulus.SHUTDOWN): _h("_on_shutdown", _I),
        (_F, Stimulus.SHUTDOWN): _h("_on_shutdown", _I),
        (_I, Stimulus.ADVERT): Ignored("not running: counted, not acted on"),
        (_B, Stimulus.ADVERT): _h("_backup_receives", _B),
        (_M, Stimulus.ADVERT): _h("_master_receives", _M, _B),
        (_F, Stimulus.ADVERT): Ignored("cannot serve: counted, not acted on"),
        (_I, Stimulus.TIMER): Ignored("no timer is armed while not running"),
        (_B, Stimulus.TIMER): _h("_backup_timer", _B, _M),
        (_M, Stimulus.TIMER): _h("_master_timer", _M),
        (_F, Stimulus.TIMER): Ignored("no timer is armed in FAULT"),
        (_I, Stimulus.FAULT): Ignored("recorded: startup goes to FAULT while it holds"),
        (_B, Stimulus.FAULT): _h("_on_fault", _F),
        (_M, Stimulus.FAULT): _h("_on_fault", _F),
        (_F, Stimulus.FAULT): Ignored("already in FAULT: the reason is recorded"),
        (_I, Stimulus.CLEARED): Ignored("not running"),
        (_B, Stimulus.CLEARED): Ignored("was not in FAULT"),
        (_M, Stimulus.CLEARED): Ignored("was not in FAULT"),
        (_F, Stimulus.CLEARED): _h("_on_cleared", _B, _M),
        (_I, Stimulus.PRIORITY): Ignored("not running: the next startup uses it"),
        (_B, Stimulus.PRIORITY): _h("_backup_priority_changed", _B),
        (_M, Stimulus.PRIORITY): _h("_master_priority_changed", _M),
        (_F, Stimulus.PRIORITY): Ignored("in FAULT nothing is advertised"),
        (_I, Stimulus.GROUP_MASTER): Ignored("not running"),
        (_B, Stimulus.GROUP_MASTER): _h("_on_group_master", _M),
        (_M, Stimulus.GROUP_MASTER): Ignored("already MASTER"),
        (_F, Stimulus.GROUP_MASTER): Ignored("cannot serve"),
        (_I, Stimulus.GROUP_BACKUP): Ignored("not running"),
        (_B, Stimulus.GROUP_BACKUP): Ignored("already BACKUP"),
        (_M, Stimulus.GROUP_BACKUP): _h("_on_group_backup", _B),
        (_F, Stimulus.GROUP_BACKUP): Ignored("FAULT stays FAULT"),
        (_I, Stimulus.VIPS_REMOVED): Ignored("not ours to hold"),
        (_B, Stimulus.VIPS_REMOVED): Ignored("not ours to hold"),
        (_M, Stimulus.VIPS_REMOVED): _h("_restore_vips", _M),
        (_F, Stimulus.VIPS_REMOVED): Ignored("not ours to hold"),
        (_I, Stimulus.RECONFIGURED): Ignored("not running: the next startup uses it"),
        (_B, Stimulus.RECONFIGURED): Ignored("a backup holds no VIP and is silent"),
        (_M, Stimulus.RECONFIGURED): _h("_master_reconfigured", _M),
        (_F, Stimulus.RECONFIGURED): Ignored("in FAULT nothing is held or advertised"),
        (_I, Stimulus.ANNOUNCE): Ignored("not running: nothing is held"),
        (_B, Stimulus.ANNOUNCE): Ignored("a backup holds no VIP to announce"),
        (_M, Stimulus.ANNOUNCE): _h("_on_announce", _M),
        (_F, Stimulus.ANNOUNCE): Ignored("in FAULT nothing is held"),
        (_I, Stimulus.MAINTENANCE): Ignored("recorded: applies from startup on"),
        (_B, Stimulus.MAINTENANCE): _h("_backup_maintenance", _B, _M),
        (_M, Stimulus.MAINTENANCE): _h("_master_maintenance", _M, _B),
        (_F, Stimulus.MAINTENANCE): Ignored("recorded: applies when the fault clears"),
    }
)
"""(state, stimulus) -> the handler and the states it may end in, or why nothing happens.
Total over State x Stimulus (tests/test_table.py sweeps it); every outcome is checked
at run time, so a handler that ends anywhere else is a bug caught where it happens."""
