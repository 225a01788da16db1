"""What happens to the core: frozen records named in the past tense.

The driver (or the simulator) creates them and hands them to ``Node.handle`` with
the current monotonic time; nothing else ever enters the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrrpd.core.config import Config
from vrrpd.core.constants import Family, IPAddress


@dataclass(frozen=True, slots=True)
class Startup:
    """The agent is ready: sockets open, links and addresses known as far as they are."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The agent is stopping: release mastership (priority 0) and every VIP."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The driver's one timer, armed at ``Node.next_deadline()``, went off."""


@dataclass(frozen=True, slots=True)
class DatagramReceived:
    """One VRRP message (the IP payload) as a raw socket delivered it."""

    interface: str
    family: Family
    src: IPAddress
    dst: IPAddress
    ttl: int
    """Received TTL / hop limit, from ancillary data."""
    data: bytes


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """An interface's operational state and addresses, as netlink reports them.

    ``addresses`` lists the interface's own addresses (not the VIPs we added): the
    first IPv4 one is the VRRPv2/v3 source, the first link-local IPv6 one the v3 source.
    """

    interface: str
    up: bool
    addresses: tuple[IPAddress, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckFinished:
    """A check run that ``RunCheck`` asked for has ended (or was killed at its timeout)."""

    name: str
    success: bool
    exit_code: int | None = None
    """None when it was killed (timeout) or could not start."""
    duration: float = 0.0
    output: str = ""


@dataclass(frozen=True, slots=True)
class FileRead:
    """A tracked file's integer, as the driver last read it (None: missing or not a number)."""

    path: str
    value: int | None


@dataclass(frozen=True, slots=True)
class ProcessesCounted:
    """How many processes match a tracked name (or command line)."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class AddressesRemoved:
    """VIPs this agent had added are gone from ``interface``, and not by its hand."""

    interface: str
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True)
class MaintenanceRequested:
    """``vrrpd maintenance on|off``: hand mastership over without an outage, or take
    part in elections again."""

    on: bool
    instances: tuple[str, ...] = ()
    """Empty: every instance."""


@dataclass(frozen=True, slots=True)
class AnnounceRequested:
    """An operator asked masters to announce their VIPs again (``vrrpd announce``):
    after a switch replacement, or when a neighbour's cache went stale."""

    instances: tuple[str, ...] = ()
    """Empty: every instance."""


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    """A reload: the new, already validated configuration.

    Instances whose settings did not change keep their state and their VIPs.
    """

    config: Config


Event = (
    Startup
    | Shutdown
    | TimerFired
    | DatagramReceived
    | LinkChanged
    | CheckFinished
    | FileRead
    | ProcessesCounted
    | AddressesRemoved
    | AnnounceRequested
    | MaintenanceRequested
    | ConfigChanged
)
