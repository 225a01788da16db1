"""The node: every virtual router and check of one agent, behind one ``handle``.

In the manner of aioquic's sans-IO connection::

    node = Node(config)
    actions = node.handle(event, now=t)
    node.next_deadline()      # arm the driver's one timer here
    node.statistics()         # a frozen record for status and metrics

The node validates the config, routes packets by (interface, family, VRID), owns
every deadline (instances and checks), feeds check results into priorities, and
keeps sync groups together. It never raises for anything the network sends.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from vrrpd.core.actions import Action, Notice, PacketDropped, RunCheck, RunNotify, StateChanged
from vrrpd.core.config import Announce, Config, InstanceConfig, SyncGroupConfig, validate
from vrrpd.core.constants import TTL, Family, IPAddress
from vrrpd.core.errors import ConfigurationError, DecodeError, DropReason
from vrrpd.core.events import (
    AddressesRemoved,
    AnnounceRequested,
    CheckFinished,
    ConfigChanged,
    DatagramReceived,
    Event,
    FileRead,
    LinkChanged,
    MaintenanceRequested,
    ProcessesCounted,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.packet import decode, peek_vrid
from vrrpd.core.receive import min_ttl
from vrrpd.core.state import State, Stimulus
from vrrpd.core.tracking import (
    CheckStatistics,
    CheckTracker,
    Observation,
    Tracker,
    TrackerKind,
    TrackerStatus,
    trackers,
)
from vrrpd.core.virtual_router import VirtualRouter, same_identity

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_MAX_ROUNDS = 64
"""Bound on timer rounds and sync-group propagation within one ``handle`` (a bug guard)."""
_ROUTER, _CHECK = 0, 1
"""Kinds of timer in the deadline heap."""


def _in_place(old: InstanceConfig, new: InstanceConfig) -> bool:
    """Whether a reload applies ``new`` to the running router (``same_identity``) and
    its VIPs stay where they are. A reload that moves them to another device
    (``announce_device``, ``announce`` arp <-> bgp with the same /32) restarts the
    instance: applied in place, the VIP stayed on the old device (its route announced)
    and the next release removed it from the new one, where it never was."""
    return same_identity(old, new) and old.device == new.device


@dataclass(frozen=True, slots=True)
class InstanceStatistics:
    """One instance as ``vrrpd status`` shows it."""

    name: str
    interface: str
    family: Family
    vrid: int
    version: int
    state: State
    base_priority: int
    priority: int
    """Effective priority, after trackers."""
    priority_reason: str
    master: IPAddress | None
    master_priority: int | None
    source: IPAddress | None
    last_reason: str
    last_transition_at: float | None
    faults: tuple[str, ...]
    contributions: tuple[tuple[str, str, int], ...]
    """(tracker, status, delta) for each tracker."""
    master_down_interval: float
    skew_time: float
    master_adver_interval: float
    counters: Mapping[str, object]
    maintenance: bool = False
    draining: bool = False
    """Handing over: priority 0 sent, VIPs kept until a new master is heard."""
    announce: str = "arp"
    """How the VIPs reach the clients: ``arp`` (GARP / NA) or ``bgp`` (a host route on
    ``announce_device`` that FRR announces, docs/bgp.md)."""
    announce_device: str | None = None
    """``announce: bgp`` only: the device the VIPs go on while MASTER."""
    election: str = "vrrp"
    """``vrrp``, or ``none`` (anycast: every node whose checks pass holds the VIPs)."""


@dataclass(frozen=True, slots=True)
class NodeStatistics:
    """Router-wide counters (RFC 6527 vrrpv3Router*) plus every instance and check."""

    checksum_errors: int
    """Bad checksum, VRID unreadable or not ours (an instance's own count otherwise)."""
    version_errors: int
    """Unknown version, VRID unreadable or not ours."""
    vrid_errors: int
    """Well-formed, for a VRID no instance runs on that interface and family."""
    invalid_packets: int
    """Any other refusal that no instance can be held to (truncated, bad type...)."""
    packets_received: int
    instances: Mapping[str, InstanceStatistics]
    checks: Mapping[str, CheckStatistics]

    @property
    def dropped(self) -> int:
        """Every refused packet, each counted exactly once (router-wide or one instance)."""
        router = (
            self.checksum_errors + self.version_errors + self.vrid_errors + self.invalid_packets
        )
        return router + sum(int(i.counters["packets_dropped"]) for i in self.instances.values())  # type: ignore[call-overload]


class Node:
    """All virtual routers of one agent. ``handle`` is its only mutator."""

    def __init__(self, config: Config, *, rfc_timers: bool = False) -> None:
        """``rfc_timers``: RFC 5798's backup timers exactly (the simulator's models of
        RFC-strict peers; fast preemption is the config's ``fast_preempt``). vrrpd's own
        backups use them too since the guard before preempting a lower master was
        withdrawn (docs/architecture.md): the flag marks the models for when it returns."""
        problems = validate(config)
        if problems:
            raise ConfigurationError("; ".join(map(str, problems)))
        self.config = config
        self.rfc_timers = rfc_timers
        self.routers: dict[str, VirtualRouter] = {}
        self.checks: dict[str, CheckTracker] = {}
        self._links: dict[str, LinkChanged] = {}
        self._by_key: dict[tuple[str, Family, int], VirtualRouter] = {}
        self._group_of: dict[str, SyncGroupConfig] = {}
        self._group_state: dict[str, State] = {}
        self._watchers: dict[tuple[TrackerKind, str], list[tuple[VirtualRouter, Tracker]]] = {}
        """(kind, name) -> every instance tracking it, with its tracker."""
        self._running = False
        self._held: set[str] = set()
        """Routers whose start waits for the first result of a check they track."""
        self._tracked_checks: dict[str, tuple[str, ...]] = {}
        self._checksum_errors = self._version_errors = self._vrid_errors = self._packets = 0
        self._invalid = 0
        # Deadlines: a heap of (time, seq, kind, name) with lazy deletion; ``_armed`` holds
        # each timer's current time, and an entry that disagrees with it is stale. Only
        # what an event touched is re-armed, so an event costs O(log K), not O(K).
        self._heap: list[tuple[float, int, int, str]] = []
        self._armed: dict[tuple[int, str], float] = {}
        self._seq = itertools.count()
        self._dirty: set[tuple[int, str]] = set()
        self._adopt(config, 0.0)
        self._touch_all()
        self._rearm()

    # ------------------------------------------------------------------ surface

    def handle(self, event: Event, *, now: float) -> list[Action]:
        """Apply one event at monotonic time ``now``; return the actions, in order."""
        if isinstance(event, Startup):
            actions = self._startup(now)
        elif isinstance(event, Shutdown):
            actions = self._shutdown(now)
        elif isinstance(event, DatagramReceived):
            actions = self._receive(event, now)
        elif isinstance(event, LinkChanged):
            actions = self._link(event, now)
        elif isinstance(event, CheckFinished):
            actions = self._check_finished(event, now)
        elif isinstance(event, ConfigChanged):
            actions = self._reconfigure(event.config, now)
        elif isinstance(event, FileRead):
            actions = self._file_read(event, now)
        elif isinstance(event, ProcessesCounted):
            actions = self._processes_counted(event, now)
        elif isinstance(event, MaintenanceRequested):
            scope = self.maintenance_scope(event.instances)
            actions = self._each(scope, lambda r: r.set_maintenance(event.on, now))
        elif isinstance(event, AnnounceRequested):
            actions = self._each(event.instances, lambda r: r.dispatch(Stimulus.ANNOUNCE, now))
        elif isinstance(event, AddressesRemoved):
            actions = [
                a
                for r in self.routers.values()
                for a in r.addresses_removed(event.interface, event.addresses, now)
            ]
        else:
            assert isinstance(event, TimerFired)
            actions = []
        if not isinstance(event, DatagramReceived | TimerFired | CheckFinished | LinkChanged):
            self._touch_all()  # rare events that may touch every instance
        self._rearm()
        actions += self._fire(now)
        actions = self._synchronize(actions, now)
        self._rearm()
        return actions

    def _each(
        self, names: tuple[str, ...], act: Callable[[VirtualRouter], list[Action]]
    ) -> list[Action]:
        """``act`` on the named instances (every one when none is named), in config order."""
        wanted = set(names) or set(self.routers)
        return [a for name, r in self.routers.items() if name in wanted for a in act(r)]

    def maintenance_scope(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The instances a maintenance request for ``names`` moves (empty: every one). A
        sync group hands over as a whole: a member alone would be pulled back to MASTER
        by its siblings, its maintenance flag still set, so naming one names its group."""
        wanted = set(names)
        for group in self.config.sync_groups:
            if wanted & set(group.instances):
                wanted |= set(group.instances)
        return tuple(name for name in self.routers if name in wanted)

    def next_deadline(self) -> float | None:
        """The earliest deadline of every instance and check (None: nothing armed)."""
        heap, armed = self._heap, self._armed
        while heap:
            at, _, kind, name = heap[0]
            if armed.get((kind, name)) == at:
                return at
            heapq.heappop(heap)
        return None

    # ------------------------------------------------------------------ deadlines

    def _touch(self, router: VirtualRouter) -> None:
        self._dirty.add((_ROUTER, router.name))

    def _touch_all(self) -> None:
        self._dirty.update((_ROUTER, n) for n in self.routers)
        self._dirty.update((_CHECK, n) for n in self.checks)
        self._dirty.update(k for k in self._armed)  # removed ones are disarmed

    def _rearm(self) -> None:
        for key in self._dirty:
            kind, name = key
            owner = (self.routers if kind == _ROUTER else self.checks).get(name)
            at = owner.deadline() if owner is not None else None
            if at is None:
                self._armed.pop(key, None)
            elif self._armed.get(key) != at:
                self._armed[key] = at
                heapq.heappush(self._heap, (at, next(self._seq), kind, name))
        self._dirty.clear()

    def _due(self, now: float) -> list[tuple[int, str]]:
        """Pop every timer due at ``now`` (each once)."""
        due: list[tuple[int, str]] = []
        while (at := self.next_deadline()) is not None and at <= now:
            _, _, kind, name = heapq.heappop(self._heap)
            key = (kind, name)
            del self._armed[key]
            due.append(key)
        return due

    def statistics(self) -> NodeStatistics:
        return NodeStatistics(
            checksum_errors=self._checksum_errors,
            version_errors=self._version_errors,
            vrid_errors=self._vrid_errors,
            invalid_packets=self._invalid,
            packets_received=self._packets,
            instances=MappingProxyType(
                {n: _instance_stats(r, self._waiting(n)) for n, r in self.routers.items()}
            ),
            checks=MappingProxyType({n: c.statistics() for n, c in self.checks.items()}),
        )

    # ------------------------------------------------------------------ events

    def _startup(self, now: float) -> list[Action]:
        if self._running:
            return []
        self._running = True
        for check in self.checks.values():
            check.start(now)
        actions: list[Action] = []
        for router in self.routers.values():
            actions += self._start(router, now)
        return actions

    def _start(self, router: VirtualRouter, now: float) -> list[Action]:
        """Start ``router`` unless a check it (or its sync group) tracks has not answered.

        A check counts for nothing before its first result, so an agent restarted beside
        a working master while its own service is down would preempt with its full
        priority (vrrpd preempts within Skew_Time, long before a second check run) and
        serve a dead service until the check's fall. Keepalived holds an instance in
        FAULT (init), without hooks, until its weight-0 scripts answered; here every
        tracked check counts, weighted ones too, because fast preemption would otherwise
        beat them. The hold is bounded: each run ends by its timeout (failed then)."""
        self._held.add(router.name)
        return self._release(now)

    def _release(self, now: float) -> list[Action]:
        """Start each held router whose group's tracked checks have all answered."""
        actions: list[Action] = []
        for name in sorted(self._held):
            router = self.routers.get(name)
            if router is None:
                self._held.discard(name)
                continue
            group = self._group_of.get(name)
            members = group.instances if group is not None else (name,)
            if any(
                self.checks[c].status is TrackerStatus.INIT
                for m in members
                for c in self._tracked_checks.get(m, ())
                if c in self.checks
            ):
                continue
            self._held.discard(name)
            self._touch(router)
            actions += router.startup(now)
        return actions

    def _waiting(self, name: str) -> str | None:
        """Why a held router has not started: what `vrrpd status` says instead of INIT's
        empty reason (an operator sees the start is waiting, and on what)."""
        if name not in self._held:
            return None
        group = self._group_of.get(name)
        members = group.instances if group is not None else (name,)
        pending = sorted(
            {
                c
                for m in members
                for c in self._tracked_checks.get(m, ())
                if c in self.checks and self.checks[c].status is TrackerStatus.INIT
            }
        )
        return "start waits for the first result of check " + ", ".join(pending)

    def _shutdown(self, now: float) -> list[Action]:
        if not self._running:
            return []
        self._running = False
        self._held.clear()
        for check in self.checks.values():
            check.stop()
        actions: list[Action] = []
        for router in self.routers.values():
            actions += router.shutdown(now)
        return actions

    def _receive(self, event: DatagramReceived, now: float) -> list[Action]:
        self._packets += 1
        vrid = peek_vrid(event.data)
        router = (
            self._by_key.get((event.interface, event.family, vrid)) if vrid is not None else None
        )
        if router is not None:
            self._touch(router)
            if not min_ttl(router.config) <= event.ttl <= TTL:
                # RFC 5798 7.1's first check, before any decoding: a packet that came
                # from off the link is a TTL error, whatever else is wrong with it.
                return router.drop(DropReason.TTL, event.src, f"TTL {event.ttl}")
            if router.repeated(event.data, event.src, event.ttl, now):
                return []
        try:
            decoded = decode(event.data, family=event.family, src=event.src, dst=event.dst)
        except DecodeError as error:
            # Each drop is counted once: against its instance when the VRID names one,
            # else router-wide (RFC 6527 vrrpv3Router*Errors; other reasons in invalid).
            if router is not None:
                return router.drop(error.reason, event.src, error.detail)
            if error.reason is DropReason.BAD_CHECKSUM:
                self._checksum_errors += 1
            elif error.reason is DropReason.BAD_VERSION:
                self._version_errors += 1
            else:
                self._invalid += 1
            return [
                PacketDropped(None, event.interface, event.src, error.reason.value, error.detail)
            ]
        if router is None:
            self._vrid_errors += 1
            return [
                PacketDropped(
                    None,
                    event.interface,
                    event.src,
                    DropReason.UNKNOWN_VRID.value,
                    f"VRID {decoded.advert.vrid}",
                )
            ]
        return router.on_datagram(decoded, src=event.src, ttl=event.ttl, now=now, raw=event.data)

    def _adopt(self, config: Config, now: float) -> list[Action]:
        """Take ``config``: keep unchanged instances and checks, start new ones."""
        actions: list[Action] = []
        old_checks, self.checks = self.checks, {}
        for cfg in config.scripts:
            kept = old_checks.get(cfg.name)
            if kept is not None and kept.config == cfg:
                self.checks[cfg.name] = kept
            else:
                self.checks[cfg.name] = check = CheckTracker(cfg, config.global_.script_user)
                if self._running:
                    check.start(now)
        old_routers, self.routers = self.routers, {}
        starting: list[VirtualRouter] = []
        weights = {c.name: c.weight for c in config.scripts}
        watchers: dict[tuple[TrackerKind, str], list[tuple[VirtualRouter, Tracker]]] = {}
        for inst in config.instances:
            kept_router = old_routers.get(inst.name)
            tracked = trackers(inst, weights)
            if kept_router is not None and kept_router.config == inst:
                self.routers[inst.name] = kept_router
                for tracker in tracked:
                    watchers.setdefault((tracker.kind, tracker.name), []).append(
                        (kept_router, tracker)
                    )
                continue
            soft = kept_router is not None and _in_place(kept_router.config, inst)
            if kept_router is not None and soft:
                # Same VRID, interface, VIPs...: apply in place, state and VIPs kept.
                router = kept_router
                actions += router.reconfigure(inst, now, frozenset(t.key for t in tracked))
            else:
                router = VirtualRouter(inst, rfc_timers=self.rfc_timers)
                link = self._links.get(inst.interface)
                if link is not None:
                    router.link_changed(up=link.up, addresses=link.addresses, now=now)
                if kept_router is not None and kept_router.maintenance:
                    # the operator's maintenance outlives a restart by a reload (another
                    # VRID, another device): set before the start, as the agent does
                    actions += router.set_maintenance(True, now)
            self.routers[inst.name] = router
            for tracker in tracked:
                watchers.setdefault((tracker.kind, tracker.name), []).append((router, tracker))
                seen: Observation
                if tracker.kind is TrackerKind.CHECK:
                    seen = self.checks[tracker.name].status
                elif tracker.kind is TrackerKind.INTERFACE and tracker.name in self._links:
                    seen = self._links[tracker.name].up
                else:
                    continue  # files and processes: their next reading (the poller restarts)
                actions += router.set_contribution(tracker.key, tracker.judge(seen), now)
            if self._running and not soft:
                starting.append(router)
        self.config = config
        self._watchers = watchers
        self._by_key = {
            (r.config.interface, r.family, r.config.vrid): r for r in self.routers.values()
        }
        self._group_of = {m: g for g in config.sync_groups for m in g.instances}
        self._group_state = {g.name: State.INIT for g in config.sync_groups}
        self._tracked_checks = {
            i.name: tuple(t.name for t in i.track_scripts) for i in config.instances
        }
        for router in starting:
            actions += self._start(router, now)
        return actions

    def _reconfigure(self, config: Config, now: float) -> list[Action]:
        problems = validate(config)
        if problems:
            # The driver validates first; this is the last line of defence.
            return [Notice("", f"reload refused: {problems[0]}")]
        actions: list[Action] = []
        for name, router in self.routers.items():
            new = next((i for i in config.instances if i.name == name), None)
            if (new is None or not _in_place(router.config, new)) and self._running:
                actions += router.shutdown(now)
        return actions + self._adopt(config, now)

    def _link(self, event: LinkChanged, now: float) -> list[Action]:
        self._links[event.interface] = event
        actions: list[Action] = []
        for router in self.routers.values():
            if router.config.interface == event.interface:
                self._touch(router)
                actions += router.link_changed(up=event.up, addresses=event.addresses, now=now)
        return actions + self._observe(TrackerKind.INTERFACE, event.interface, event.up, now)

    def _observe(self, kind: TrackerKind, name: str, seen: Observation, now: float) -> list[Action]:
        """Something tracked was seen: every instance tracking it judges it by its own rule."""
        actions: list[Action] = []
        for router, tracker in self._watchers.get((kind, name), ()):
            self._touch(router)
            actions += router.set_contribution(tracker.key, tracker.judge(seen), now)
        return actions

    def _file_read(self, event: FileRead, now: float) -> list[Action]:
        return self._observe(TrackerKind.FILE, event.path, event.value, now)

    def _processes_counted(self, event: ProcessesCounted, now: float) -> list[Action]:
        return self._observe(TrackerKind.PROCESS, event.name, event.count, now)

    def _check_finished(self, event: CheckFinished, now: float) -> list[Action]:
        check = self.checks.get(event.name)
        if check is None or not check.running:
            return []  # a stale result (e.g. after a reload removed the check)
        self._dirty.add((_CHECK, event.name))
        changed = check.finished(
            success=event.success,
            exit_code=event.exit_code,
            duration=event.duration,
            output=event.output,
            now=now,
            active=self._running,
        )
        if not changed:
            return []
        actions = self._observe(TrackerKind.CHECK, event.name, check.status, now)
        return actions + self._release(now) if self._held else actions

    def _fire(self, now: float) -> list[Action]:
        """Run every deadline due at ``now``; handlers always re-arm strictly later."""
        actions: list[Action] = []
        for _ in range(_MAX_ROUNDS):
            due = self._due(now)
            if not due:
                return actions
            for kind, name in due:
                self._dirty.add((kind, name))
                if kind == _CHECK:
                    check = self.checks[name]
                    if check.due(now):
                        cfg = check.config
                        actions.append(
                            RunCheck(cfg.name, cfg.command, cfg.effective_timeout, check.user)
                        )
                else:
                    actions += self.routers[name].on_timer(now)
            self._rearm()
        raise AssertionError("deadlines keep firing at the same instant")

    # ------------------------------------------------------------------ sync groups

    def _synchronize(self, actions: list[Action], now: float) -> list[Action]:
        """Keep each sync group all-MASTER or none; FAULT in one member is FAULT in all."""
        if not self.config.sync_groups:
            return actions
        pending = list(actions)
        for _ in range(_MAX_ROUNDS):
            changes = [
                a for a in pending if isinstance(a, StateChanged) and a.instance in self._group_of
            ]
            pending = []
            for change in changes:
                group = self._group_of[change.instance]
                why = f"sync group {group.name}: {change.instance} {change.old} → {change.new}"
                for member in group.instances:
                    if member == change.instance:
                        continue
                    sibling = self.routers[member]
                    self._touch(sibling)
                    if change.new is State.MASTER:
                        pending += sibling.force_master(why, now)
                    elif change.new is State.BACKUP and change.old is State.MASTER:
                        pending += sibling.force_backup(why, now)
            for group in self.config.sync_groups:
                members = [self.routers[m] for m in group.instances]
                for router in members:
                    self._touch(router)
                    faulty = [m.name for m in members if m is not router and m.own_faults()]
                    reason = (
                        f"sync group {group.name}: {', '.join(faulty)} in FAULT" if faulty else None
                    )
                    pending += router.set_fault(f"sync:{group.name}", reason, now)
            if not pending:
                return actions + self._group_notify(now)
            actions += pending
        raise AssertionError("sync groups did not settle")

    def _group_notify(self, now: float) -> list[Action]:
        del now
        actions: list[Action] = []
        for group in self.config.sync_groups:
            states = {self.routers[m].state for m in group.instances}
            if State.FAULT in states:
                state = State.FAULT
            elif states == {State.MASTER}:
                state = State.MASTER
            elif states == {State.INIT}:
                state = State.INIT
            else:
                state = State.BACKUP
            if state is self._group_state[group.name]:
                continue
            self._group_state[group.name] = state
            word = state.notify_word
            first = self.routers[group.instances[0]]
            for command, generic in group.notify.hooks(word):
                actions.append(
                    RunNotify(
                        group.name,
                        command,
                        word,
                        first.last_reason,
                        first.priority,
                        group=group.name,
                        keepalived_args=generic,
                    )
                )
        return actions


def _instance_stats(router: VirtualRouter, waiting: str | None = None) -> InstanceStatistics:
    cfg: InstanceConfig = router.config
    counters = dict(vars(router.counters))
    counters["new_master_reason"] = router.counters.new_master_reason.value
    counters["checksum_forms"] = dict(router.counters.checksum_forms)
    return InstanceStatistics(
        name=router.name,
        interface=cfg.interface,
        family=cfg.family,
        vrid=cfg.vrid,
        version=cfg.version,
        state=router.state,
        base_priority=cfg.priority,
        priority=router.priority,
        priority_reason=router.priority_reason,
        master=router.current_master(),
        master_priority=router.master_priority
        if router.state is not State.MASTER
        else router.priority,
        source=router.source,
        last_reason=waiting or router.last_reason,
        last_transition_at=router.last_transition_at,
        faults=tuple(router.faults.values()),
        contributions=tuple(
            (c.source, str(c.status), c.delta) for c in router.contributions.values()
        ),
        master_down_interval=router.master_down_interval,
        skew_time=router.skew_time,
        master_adver_interval=router.master_adver_interval_cs / 100,
        counters=MappingProxyType(counters),
        maintenance=router.maintenance,
        draining=router.draining,
        announce=cfg.announce.value,
        announce_device=cfg.announce_device if cfg.announce is Announce.BGP else None,
        election=cfg.election.value,
    )


__all__ = ["InstanceStatistics", "Node", "NodeStatistics", "TrackerStatus"]
