"""A simulated LAN: N real ``Node`` cores on one virtual clock.

The clock jumps to the next deadline or packet, so a minute of protocol time runs
in milliseconds and every timing is exact. Adverts are really encoded and decoded
on the way. Loss, delay and partitions are packets that are not delivered (or
delivered later); a dead host is one whose core is no longer called. This is how
the election is tested without a network, and what ``vrrpd simulate`` shows.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address, ip_address

from vrrpd.core.actions import (
    Action,
    AddAddresses,
    Notice,
    PacketDropped,
    RemoveAddresses,
    RunCheck,
    RunNotify,
    SendAdvert,
    SendGratuitousArp,
    SendNeighborAdvert,
    StateChanged,
)
from vrrpd.core.config import Config
from vrrpd.core.constants import TTL, IPAddress
from vrrpd.core.events import (
    CheckFinished,
    ConfigChanged,
    DatagramReceived,
    Event,
    LinkChanged,
    MaintenanceRequested,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.node import Node
from vrrpd.core.packet import decode
from vrrpd.core.state import State


@dataclass(frozen=True)
class Delivery:
    """One advert that reached a host (for timing assertions)."""

    time: float
    sender: str
    receiver: str
    instance: str
    priority: int


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    time: float
    host: str
    text: str


PEER_KINDS = ("vrrpd", "keepalived", "frr")
"""What runs on a simulated host. ``keepalived`` and ``frr`` are models of RFC-strict
peers as Keepalived 2.2.7 and FRR 8.4 behave, built from the vrrpd core with what they
do differently (so mixed clusters are tested as cheaply as vrrpd-only ones):

* no fast preemption: a backup discards a lower-priority advert and waits out its
  Master_Down_Interval (3 x Master_Adver_Interval + Skew_Time, RFC 5798 6.4.2);
* priority 0 -> take over after Skew_Time; the owner (255) is MASTER at start;
* a master that yields removes its VIPs at once, and sends no last advert first
  (both are vrrpd's make-before-break extensions);
* ``frr`` only: a master ignores a lower-priority advert (RFC 5798 6.4.3 discards it;
  Keepalived, like vrrpd, answers it at once with an advert).
"""


def rfc_strict(config: Config) -> Config:
    """A peer's configuration in vrrpd terms: the RFC's timers, no vrrpd extension."""
    return replace(
        config, instances=tuple(replace(i, fast_preempt=False) for i in config.instances)
    )


@dataclass
class Host:
    name: str
    config: Config
    addresses: tuple[IPAddress, ...]
    interface: str = "eth0"
    kind: str = "vrrpd"
    """One of ``PEER_KINDS``."""
    node: Node | None = None
    check_results: dict[str, bool] = field(default_factory=dict)
    """Check name -> whether it succeeds (default: succeeds)."""
    vips: set[IPAddress] = field(default_factory=set)
    notifications: list[RunNotify] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    drops: list[PacketDropped] = field(default_factory=list)
    announcements: list[tuple[float, tuple[IPAddress, ...], int]] = field(default_factory=list)
    lag: float = 0.0
    """Seconds the host's timers fire late (a loaded machine's scheduling delay): the RFC
    orders backups by Skew_Time, which at 0.1 s adverts is 0.4 ms per priority step."""

    @property
    def alive(self) -> bool:
        return self.node is not None

    def state(self, instance: str) -> State | None:
        return self.node.routers[instance].state if self.node else None


class Lan:
    """One broadcast segment and a virtual clock."""

    def __init__(
        self, *, seed: int = 0, delay: float = 0.0, loss: float = 0.0, check_duration: float = 0.01
    ) -> None:
        self.now = 0.0
        self.hosts: dict[str, Host] = {}
        self.delay = delay
        self.loss = loss
        self.check_duration = check_duration
        self.timeline: list[Entry] = []
        self.deliveries: list[Delivery] = []
        self.transitions: list[tuple[float, str, StateChanged]] = []
        self._random = random.Random(seed)
        self._queue: list[tuple[float, int, str, Event]] = []
        self._seq = itertools.count()
        self._partitions: list[set[str]] | None = None
        self.vip_log: list[tuple[float, str, IPAddress, bool]] = []
        """(time, host, vip, added) every time a host adds or removes a VIP, or dies holding it."""

    # ------------------------------------------------------------------ topology

    def add_host(
        self,
        name: str,
        config: Config,
        *addresses: str,
        interface: str = "eth0",
        kind: str = "vrrpd",
    ) -> Host:
        if kind not in PEER_KINDS:
            raise ValueError(f"unknown peer kind {kind!r}; known: {', '.join(PEER_KINDS)}")
        host = Host(name, config, tuple(ip_address(a) for a in addresses), interface, kind)
        self.hosts[name] = host
        return host

    def start(
        self, *names: str, maintenance: bool | tuple[str, ...] = False, link_up: bool = True
    ) -> None:
        """Boot agents: each fresh core learns its link, then starts. ``maintenance``: it
        was in maintenance before (the agent restores that before the start; a tuple:
        those instances only). ``link_up``: the link's state at boot."""
        for name in names:
            host = self.hosts[name]
            peer = host.kind != "vrrpd"
            host.node = Node(rfc_strict(host.config) if peer else host.config, rfc_timers=peer)
            self._log(name, f"{host.kind} started" + (" in maintenance" if maintenance else ""))
            self._handle(host, LinkChanged(host.interface, link_up, host.addresses))
            if maintenance:
                scope = maintenance if isinstance(maintenance, tuple) else ()
                self._handle(host, MaintenanceRequested(True, scope))
            self._handle(host, Startup())

    def reload(self, name: str, config: Config) -> None:
        """``vrrpd reload`` (or a peer's) with ``config``; a dead host boots with it later."""
        host = self.hosts[name]
        host.config = config
        self._log(name, "reload")
        self._handle(host, ConfigChanged(config if host.kind == "vrrpd" else rfc_strict(config)))

    def kill(self, name: str) -> None:
        """The host dies silently (power cut, kernel panic): no priority 0, VIPs gone with it."""
        host = self.hosts[name]
        host.node = None
        for vip in sorted(host.vips, key=str):
            self.vip_log.append((self.now, name, vip, False))
        host.vips.clear()
        self._log(name, "killed silently")

    def stop(self, name: str) -> None:
        """Graceful stop (SIGTERM): priority 0 out, VIPs removed, then the agent is gone."""
        host = self.hosts[name]
        self._log(name, "stopping (SIGTERM)")
        self._handle(host, Shutdown())
        host.node = None

    def link(self, name: str, up: bool) -> None:
        host = self.hosts[name]
        self._log(name, f"link {host.interface} {'up' if up else 'down'}")
        self._handle(host, LinkChanged(host.interface, up, host.addresses))

    def maintenance(self, name: str, on: bool, *instances: str) -> None:
        """``vrrpd maintenance on|off`` on a host."""
        self._log(name, f"maintenance {'on' if on else 'off'}")
        self._handle(self.hosts[name], MaintenanceRequested(on, instances))

    def set_check(self, name: str, check: str, ok: bool) -> None:
        self.hosts[name].check_results[check] = ok
        self._log(name, f"check {check} will {'succeed' if ok else 'fail'}")

    def partition(self, *groups: Iterable[str]) -> None:
        self._partitions = [set(g) for g in groups]
        self._log("lan", "partition " + " | ".join(",".join(sorted(g)) for g in self._partitions))

    def heal(self) -> None:
        self._partitions = None
        self._log("lan", "partition healed")

    def connected(self, a: str, b: str) -> bool:
        if self._partitions is None:
            return True
        return any(a in g and b in g for g in self._partitions)

    # ------------------------------------------------------------------ queries

    def masters(self, instance: str) -> list[str]:
        return sorted(n for n, h in self.hosts.items() if h.state(instance) is State.MASTER)

    def holders(self, vip: str) -> list[str]:
        address = ip_address(vip)
        return sorted(n for n, h in self.hosts.items() if address in h.vips)

    def last_heard(
        self, receiver: str, instance: str, *, before: float | None = None
    ) -> float | None:
        """When ``receiver`` last received a non-zero advert for ``instance``."""
        times = [
            d.time
            for d in self.deliveries
            if d.receiver == receiver
            and d.instance == instance
            and d.priority > 0
            and (before is None or d.time <= before)
        ]
        return max(times) if times else None

    def became(self, host: str, instance: str, state: State, *, after: float = 0.0) -> float | None:
        """The first time at or after ``after`` that ``host``'s ``instance`` entered ``state``."""
        for t, name, change in self.transitions:
            if name == host and change.instance == instance and change.new is state and t >= after:
                return t
        return None

    # ------------------------------------------------------------------ the clock

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until(
        self, end: float, *, max_steps: int = 1_000_000, max_same_instant: int = 1_000
    ) -> None:
        """Advance to ``end``; a livelock (endless events at one instant) fails loudly."""
        same_instant, last = 0, -1.0
        for _ in range(max_steps):
            step = self._next()
            if step is None or step[0] > end:
                self.now = max(self.now, end)
                return
            when, host, event, queued = step
            if queued:
                heapq.heappop(self._queue)
            same_instant = same_instant + 1 if when == last else 0
            last = when
            if same_instant > max_same_instant:
                raise AssertionError(
                    f"livelock: {max_same_instant} events at t={when} (hosts answering each other?)"
                )
            self.now = max(self.now, when)
            self._handle(host, event)
        raise AssertionError("simulation did not reach its end time (a timer loop?)")

    def _next(self) -> tuple[float, Host, Event, bool] | None:
        """Peek at the next packet or timer; packets go first at equal times (sent earlier).

        Nothing is consumed here: a step beyond ``run_until``'s end must stay queued.
        """
        while self._queue and not self.hosts[self._queue[0][2]].alive:
            heapq.heappop(self._queue)  # addressed to a host that died meanwhile
        best: tuple[float, Host, Event, bool] | None = None
        for name in sorted(self.hosts):
            host = self.hosts[name]
            deadline = host.node.next_deadline() if host.node else None
            if deadline is not None:
                deadline += host.lag
            if deadline is not None and (best is None or deadline < best[0]):
                best = (deadline, host, TimerFired(), False)
        if self._queue and (best is None or self._queue[0][0] <= best[0]):
            when, _, name, event = self._queue[0]
            return when, self.hosts[name], event, True
        return best

    # ------------------------------------------------------------------ executing actions

    def _handle(self, host: Host, event: Event) -> None:
        if host.node is None:
            return
        if isinstance(event, DatagramReceived):
            decoded = decode(event.data, family=event.family, src=event.src, dst=event.dst)
            sender = self._owner_of(event.src)
            self.deliveries.append(
                Delivery(
                    self.now,
                    sender or "?",
                    host.name,
                    self._instance_for(host, decoded.advert.vrid),
                    decoded.advert.priority,
                )
            )
        if host.kind == "frr" and isinstance(event, DatagramReceived):
            if self._frr_discards(host, event, decoded.advert.vrid, decoded.advert.priority):
                return
            # Timers due now run first, unfiltered: the filter below is for the answer to
            # this advert only, never an Adver_Timer advert firing at the same instant.
            states = {n: r.state for n, r in host.node.routers.items()}
            fired = host.node.handle(TimerFired(), now=self.now)
            for action in self._as_peer(host, TimerFired(), states, fired):
                self._execute(host, action)
        before = {n: r.state for n, r in host.node.routers.items()}
        actions = host.node.handle(event, now=self.now)
        if host.kind != "vrrpd":
            actions = self._as_peer(host, event, before, actions)
        for action in actions:
            self._execute(host, action)

    @staticmethod
    def _frr_discards(host: Host, event: DatagramReceived, vrid: int, priority: int) -> bool:
        """An FRR master discards a lower-priority advert whole (RFC 5798 6.4.3): nothing
        is sent and its Adver_Timer is not touched (the core would answer at once and
        re-arm it; a lower master advertising faster then silenced the model)."""
        assert host.node is not None
        for router in host.node.routers.values():
            if router.config.vrid != vrid or router.family is not event.family:
                continue
            source = router.source
            if router.state is not State.MASTER or source is None or priority == 0:
                return False
            return priority < router.priority or (
                priority == router.priority and int(event.src) < int(source)
            )
        return False

    @staticmethod
    def _as_peer(
        host: Host, event: Event, before: dict[str, State], actions: list[Action]
    ) -> list[Action]:
        """What an RFC-strict peer does instead of vrrpd's extensions (see ``PEER_KINDS``)."""
        assert host.node is not None
        out: list[Action] = []
        for n, action in enumerate(actions):
            nxt = actions[n + 1] if n + 1 < len(actions) else None
            yields = isinstance(nxt, StateChanged) and nxt.old is State.MASTER
            if isinstance(action, SendAdvert) and yields and nxt.new is State.BACKUP:  # type: ignore[union-attr]
                continue  # no last advert before yielding
            out.append(action)
            if isinstance(action, StateChanged) and action.old is State.MASTER:
                cfg = host.node.routers[action.instance].config
                out.append(
                    RemoveAddresses(
                        action.instance,
                        cfg.interface,
                        cfg.virtual_addresses,
                        cfg.device,
                        cfg.vmac_device,
                    )
                )
        if host.kind == "frr" and isinstance(event, DatagramReceived):
            still = {n for n, r in host.node.routers.items() if r.state is State.MASTER}
            if still and all(before.get(n) is State.MASTER for n in still):
                # a master hearing a lower priority: discarded, nothing sent or announced
                out = [a for a in out if not isinstance(a, SendAdvert | SendGratuitousArp
                       | SendNeighborAdvert | Notice | RunNotify)]  # fmt: skip
        return out

    def _execute(self, host: Host, action: Action) -> None:
        if isinstance(action, SendAdvert):
            self._send(host, action)
        elif isinstance(action, AddAddresses):
            for vip in action.addresses:
                if vip.address.ip not in host.vips:
                    host.vips.add(vip.address.ip)
                    self.vip_log.append((self.now, host.name, vip.address.ip, True))
        elif isinstance(action, RemoveAddresses):
            for vip in action.addresses:
                if vip.address.ip in host.vips:
                    host.vips.discard(vip.address.ip)
                    self.vip_log.append((self.now, host.name, vip.address.ip, False))
        elif isinstance(action, StateChanged):
            self.transitions.append((self.now, host.name, action))
            self._log(
                host.name,
                f"{action.instance}: {action.old} → {action.new} (prio {action.priority}): {action.reason}",
            )
        elif isinstance(action, RunCheck):
            ok = host.check_results.get(action.name, True)
            event = CheckFinished(action.name, ok, 0 if ok else 1, self.check_duration)
            self._enqueue(self.now + self.check_duration, host.name, event)
        elif isinstance(action, RunNotify):
            host.notifications.append(action)
        elif isinstance(action, Notice):
            host.notices.append(action.message)
            self._log(host.name, f"{action.instance}: {action.message}")
        elif isinstance(action, PacketDropped):
            host.drops.append(action)
        elif isinstance(action, SendGratuitousArp | SendNeighborAdvert):
            host.announcements.append((self.now, action.addresses, action.count))

    def _send(self, sender: Host, advert: SendAdvert) -> None:
        for name in sorted(self.hosts):
            peer = self.hosts[name]
            if peer is sender or not self.connected(sender.name, name):
                continue
            if not advert.dst.is_multicast and advert.dst not in peer.addresses:
                continue
            if self.loss and self._random.random() < self.loss:
                continue
            event = DatagramReceived(
                peer.interface, advert.family, advert.src, advert.dst, TTL, advert.data
            )
            self._enqueue(self.now + self.delay, name, event)

    def _enqueue(self, when: float, host: str, event: Event) -> None:
        heapq.heappush(self._queue, (when, next(self._seq), host, event))

    def _owner_of(self, address: IPAddress) -> str | None:
        return next((n for n, h in self.hosts.items() if address in h.addresses), None)

    @staticmethod
    def _instance_for(host: Host, vrid: int) -> str:
        return next((i.name for i in host.config.instances if i.vrid == vrid), "?")

    def _log(self, host: str, text: str) -> None:
        self.timeline.append(Entry(self.now, host, text))


def outages(lan: Lan, vip: str, start: float, end: float) -> list[tuple[float, float]]:
    """Intervals within [start, end] when no live host held ``vip`` (what a client sees)."""
    address: IPv4Address | IPv6Address = ip_address(vip)
    events = sorted((e for e in lan.vip_log if e[2] == address and e[0] <= end), key=lambda e: e[0])
    holders = {host for _, host, _, added in _replay(e for e in events if e[0] <= start)}
    gaps: list[tuple[float, float]] = []
    gap_start = None if holders else start
    for t, host, _, added in events:
        if t <= start:
            continue
        if added:
            holders.add(host)
        else:
            holders.discard(host)
        if holders and gap_start is not None:
            gaps.append((gap_start, t))
            gap_start = None
        elif not holders and gap_start is None:
            gap_start = t
    if gap_start is not None:
        gaps.append((gap_start, end))
    return [(a, b) for a, b in gaps if b > a]


def _replay(
    events: Iterable[tuple[float, str, IPAddress, bool]],
) -> list[tuple[float, str, IPAddress, bool]]:
    """The add events still standing after ``events`` (a later removal cancels an add)."""
    standing: dict[str, tuple[float, str, IPAddress, bool]] = {}
    for event in events:
        if event[3]:
            standing[event[1]] = event
        else:
            standing.pop(event[1], None)
    return list(standing.values())
