"""What the core asks the outside world to do: frozen imperatives, executed in order.

Order matters and is part of the contract: a new master advertises first (as the
RFC orders it, so the other routers settle at once), then adds the VIPs, then
announces them (GARP / NA): neighbours move to it only once the addresses exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrrpd.core.config import VirtualAddress
from vrrpd.core.constants import Family, IPAddress
from vrrpd.core.state import State


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send ``data`` (an encoded advert) out of ``interface`` from ``src`` to ``dst``, TTL 255."""

    instance: str
    interface: str
    family: Family
    src: IPAddress
    dst: IPAddress
    data: bytes
    priority: int


@dataclass(frozen=True, slots=True)
class SendGratuitousArp:
    """Announce each IPv4 VIP ``count`` times (frames from ``core.arp``), from the MAC of
    ``interface``: the device carrying the VIPs (the instance's macvlan with ``use_vmac``)."""

    instance: str
    interface: str
    addresses: tuple[IPAddress, ...]
    count: int
    vrid: int
    use_vmac: bool


@dataclass(frozen=True, slots=True)
class SendNeighborAdvert:
    """Send ``count`` unsolicited NAs for each IPv6 VIP (frames from ``core.ndisc``) from
    ``interface``, with the Router flag set: RFC 5798 section 6.4.2 says a router
    announces its addresses, and hosts that learnt the default route from the virtual
    link-local address drop a route whose neighbour stops being a router."""

    instance: str
    interface: str
    addresses: tuple[IPAddress, ...]
    count: int
    vrid: int
    use_vmac: bool


@dataclass(frozen=True, slots=True)
class AddAddresses:
    """Configure the VIPs (idempotently) on ``device`` (or each VIP's own ``dev``), after
    bringing ``vmac`` up when the instance uses a virtual MAC."""

    instance: str
    interface: str
    addresses: tuple[VirtualAddress, ...]
    device: str
    vmac: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveAddresses:
    """Remove the VIPs this agent added (absent ones count as removed), then take ``vmac``
    down."""

    instance: str
    interface: str
    addresses: tuple[VirtualAddress, ...]
    device: str
    vmac: str | None = None
    linger: float = 0.0
    """Seconds to keep accepting traffic to the removed VIPs (a local route that routing
    daemons do not import), so that a withdrawn BGP route loses nothing in flight."""


@dataclass(frozen=True, slots=True)
class RunCheck:
    """Start one run of a check; the driver answers with ``CheckFinished``."""

    name: str
    command: str
    timeout: float
    user: str | None


@dataclass(frozen=True, slots=True)
class StateChanged:
    """An instance changed state; ``reason`` is the sentence operators read."""

    instance: str
    old: State
    new: State
    reason: str
    priority: int
    at: float


@dataclass(frozen=True, slots=True)
class RunNotify:
    """Run an operator's notify command for a state change (instance or sync group)."""

    instance: str
    command: str
    state: str
    """MASTER, BACKUP, FAULT or STOP (Keepalived's words)."""
    reason: str
    priority: int
    group: str | None = None
    keepalived_args: bool = False
    """Append ``INSTANCE|GROUP NAME STATE PRIORITY``, for the generic ``any`` hook."""
    vrid: int | None = None
    interface: str = ""
    vips: tuple[str, ...] = ()
    """What the hook's environment says (``VRRPD_VRID``, ``VRRPD_INTERFACE``, ``VRRPD_VIPS``)."""


@dataclass(frozen=True, slots=True)
class PacketDropped:
    """A received packet was discarded and counted; logged rate-limited by the driver."""

    instance: str | None
    interface: str
    src: IPAddress
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something an operator should read once (a peer's checksum form, a list mismatch)."""

    instance: str
    message: str


Action = (
    SendAdvert
    | SendGratuitousArp
    | SendNeighborAdvert
    | AddAddresses
    | RemoveAddresses
    | RunCheck
    | StateChanged
    | RunNotify
    | PacketDropped
    | Notice
)
