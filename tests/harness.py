"""A node on a hand-advanced clock, and peers' adverts built with the real encoder."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from vrrpd.core.actions import Action, SendAdvert, StateChanged
from vrrpd.core.config import Config
from vrrpd.core.constants import Family
from vrrpd.core.events import DatagramReceived, Event, LinkChanged, Startup, TimerFired
from vrrpd.core.node import Node
from vrrpd.core.packet import Advertisement, ChecksumForm, decode, encode
from vrrpd.core.state import State

ME = IPv4Address("192.0.2.11")
PEER = IPv4Address("192.0.2.12")
LOWER_PEER = IPv4Address("192.0.2.5")
ME6 = IPv6Address("fe80::11")
PEER6 = IPv6Address("fe80::12")


class Harness:
    def __init__(
        self,
        config: Config,
        *,
        addresses: tuple[IPv4Address | IPv6Address, ...] = (ME, ME6),
        start: bool = True,
    ) -> None:
        self.node = Node(config)
        self.now = 0.0
        self.actions: list[Action] = []
        self.feed(LinkChanged("eth0", True, addresses))
        if start:
            self.feed(Startup())

    @property
    def router(self):  # type: ignore[no-untyped-def]
        return next(iter(self.node.routers.values()))

    @property
    def state(self) -> State:
        return self.router.state

    def feed(self, event: Event, at: float | None = None) -> list[Action]:
        if at is not None:
            self.now = at
        self.actions = self.node.handle(event, now=self.now)
        return self.actions

    def advance(self, to: float) -> list[Action]:
        """Fire every deadline up to ``to``, like the driver's single timer would."""
        out: list[Action] = []
        while (deadline := self.node.next_deadline()) is not None and deadline <= to:
            out += self.feed(TimerFired(), at=deadline)
        self.now = to
        self.actions = out
        return out

    def receive(
        self,
        priority: int,
        *,
        src: IPv4Address | IPv6Address = PEER,
        at: float | None = None,
        ttl: int = 255,
        form: ChecksumForm = ChecksumForm.PSEUDO,
        **fields: object,
    ) -> list[Action]:
        router = self.router
        cfg = router.config
        values: dict[str, object] = {
            "version": cfg.version,
            "vrid": cfg.vrid,
            "priority": priority,
            "interval_cs": cfg.interval_cs,
            "addresses": tuple(v.address.ip for v in cfg.virtual_addresses),
        }
        values.update(fields)
        advert = Advertisement(**values)  # type: ignore[arg-type]
        family = Family.V4 if src.version == 4 else Family.V6
        dst = family.multicast_group
        data = encode(advert, src=src, dst=dst, checksum_form=form)
        return self.feed(DatagramReceived("eth0", family, src, dst, ttl, data), at=at)


def kinds(actions: list[Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


def sent_priorities(actions: list[Action]) -> list[int]:
    return [a.priority for a in actions if isinstance(a, SendAdvert)]


def changes(actions: list[Action]) -> list[tuple[State, State, str]]:
    return [(a.old, a.new, a.reason) for a in actions if isinstance(a, StateChanged)]


def decoded_adverts(actions: list[Action]) -> list[Advertisement]:
    return [
        decode(a.data, family=a.family, src=a.src, dst=a.dst).advert
        for a in actions
        if isinstance(a, SendAdvert)
    ]
