"""One virtual router: the RFC 5798 section 6.4 state machine for one VRID, interface and family.

Everything that changes an instance's state lives here. Each public method is an
event; it returns the actions to execute, in order. Every state change goes through
``_transition``, which checks ``TRANSITIONS`` and records the reason operators read.
See ``vrrpd.core.state`` for the theory of operation.
"""

from __future__ import annotations

from vrrpd.core.actions import (
    Action,
    AddAddresses,
    Notice,
    PacketDropped,
    RemoveAddresses,
    RunNotify,
    SendAdvert,
    SendGratuitousArp,
    SendNeighborAdvert,
    StateChanged,
)
from vrrpd.core.config import Announce, ChecksumMode, Election, InstanceConfig, VirtualAddress
from vrrpd.core.constants import (
    AUTH_NONE,
    AUTH_PASS,
    PRIORITY_RELEASE,
    Family,
    IPAddress,
)
from vrrpd.core.errors import DropReason
from vrrpd.core.packet import Advertisement, ChecksumForm, Decoded, encode, password_bytes
from vrrpd.core.receive import Counters, LowerMasters, NewMasterReason, Receiver
from vrrpd.core.state import DISPATCH, TRANSITIONS, Ignored, State, Stimulus
from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.core.tracking import Contribution, effective_priority


def same_identity(old: InstanceConfig, new: InstanceConfig) -> bool:
    """Whether ``new`` is the same router on the wire as ``old``, so that a reload applies
    it in place (state and VIPs kept): the same VRID on the same interface and family,
    the same VMAC use, and not becoming or ceasing to be the address owner. Everything
    else (priority, VIPs, interval, version, peers, authentication, trackers, hooks)
    changes without a release: restarting the instance would hand mastership over
    with priority 0 and take the VIPs away for nothing."""
    return (old.vrid, old.interface, old.family, old.use_vmac, old.owner) == (
        new.vrid,
        new.interface,
        new.family,
        new.use_vmac,
        new.owner,
    )


YIELD_GRACE = 0.02
"""Seconds a master that yielded keeps its VIPs (at most one advert interval): more than
the new master's netlink add and announcement take, little enough that few neighbours
ask for the address while both hold it."""


def kept_after_yield(config: InstanceConfig) -> float:
    """How long a yielding master keeps its VIPs. On a segment, a moment (both holding
    them makes ARP flap); through BGP, until the new master's route has reached the
    routers (they keep the older of two paths, so ours carries the traffic until we
    withdraw it, and withdrawing first would leave the VIP without a route)."""
    if config.announce is Announce.BGP:
        return config.announce_hold
    return min(YIELD_GRACE, config.advert_interval)


_WIRE_FIELDS = ("virtual_addresses", "interval_cs", "version", "authentication",
                "unicast_peers", "unicast_source", "v3_ipv4_checksum",
                "excluded_addresses")  # fmt: skip
"""What peers see in our adverts (or where they go): a master advertises a change at once
(and moves the excluded addresses, which peers never see, with the VIPs)."""


class VirtualRouter:
    """The state machine of one instance. Not thread-safe; the node is its only caller."""

    def __init__(self, config: InstanceConfig, *, rfc_timers: bool = False) -> None:
        self.config = config
        self.rfc_timers = rfc_timers
        """RFC 5798's timers exactly (a peer model, see ``Node``)."""
        self.name = config.name
        self.state = State.INIT
        self.running = False
        self.counters = Counters()
        self.receiver = Receiver(config, self.counters)
        self.link_up: bool | None = None
        self.interface_addresses: tuple[IPAddress, ...] = ()
        self.faults: dict[str, str] = {}
        """Fault key -> human reason; the instance is in FAULT while any holds."""
        self.contributions: dict[str, Contribution] = {}
        self.priority = effective_priority(config.priority, [])
        self.priority_reason = "configured"
        self.master_adver_interval_cs = config.interval_cs
        self.master_address: IPAddress | None = None
        self.master_priority: int | None = None
        self.last_reason = "not started"
        self.last_transition_at: float | None = None
        # Deadlines (None = not armed).
        self.adver_at: float | None = None
        self.master_down_at: float | None = None
        self.garp_at: float | None = None
        self.garp_refresh_at: float | None = None
        # Why the master-down timer will fire, for the reason of the takeover.
        self._preempt_at: float | None = None
        self._lower_master: tuple[IPAddress, int] | None = None
        self._released_by: IPAddress | None = None
        self._lower_unfollowed: IPAddress | None = None
        """A lower-priority master heard since the master we follow last spoke (its
        adverts discarded): if our timer then takes over, it is still master until it
        hears us, and its adverts until then are trailing ones, no split brain."""
        self._preempted: tuple[IPAddress | None, float] | None = None
        """(address, until): the master we just preempted; its trailing adverts are no split
        brain. None: any (we became master without waiting for a master to go quiet: an
        owner's start, a sync group's force; whichever master there was has not heard us yet)."""
        self.maintenance = False
        """Set by ``vrrpd maintenance on``: hand over, and take no part in elections."""
        self._vips_go_at: float | None = None
        """After yielding to a better master: when our VIPs go (see ``_leave_master``)."""
        self._drain_until: float | None = None
        self._drain_started = 0.0
        """While handing over: when to give up waiting for a new master and carry on."""
        self._lower_heard = LowerMasters()
        """Lower-priority masters heard while MASTER, and when last: one whose adverts went
        quiet (it yielded) and come back is a new split brain, to be healed again (bounded,
        and rate-limited: the sources may be spoofed)."""
        self._followed: tuple[bytes, IPAddress, int] | None = None
        """(bytes, source, TTL) of the last advert that only refreshed Master_Down_Timer:
        an identical one may skip decoding and validation (see ``repeated``)."""
        self._vip_ips = frozenset(v.address.ip for v in config.virtual_addresses)
        self._vip_texts = tuple(str(v.address.ip) for v in config.virtual_addresses)
        self._update_link_faults()

    # ------------------------------------------------------------------ queries

    @property
    def family(self) -> Family:
        return self.config.family

    @property
    def source(self) -> IPAddress | None:
        """Our primary address: the advert source and the tie-breaker (RFC 5798 section 6.4.3)."""
        if self.config.unicast_source is not None:
            return self.config.unicast_source
        for address in self.interface_addresses:
            if address.version == 4 and self.family is Family.V4:
                return address
            if address.version == 6 and self.family is Family.V6 and address.is_link_local:
                return address
        return None

    @property
    def skew_time(self) -> float:
        return skew_time(self.priority, self.master_adver_interval_cs, self.config.version)

    @property
    def master_down_interval(self) -> float:
        return master_down_interval(
            self.priority, self.master_adver_interval_cs, self.config.version
        )

    @property
    def advert_interval(self) -> float:
        return self.config.interval_cs / 100

    def deadline(self) -> float | None:
        # In maintenance a backup never takes over, so its Master_Down_Timer is not armed.
        master_down = None if self.maintenance else self.master_down_at
        timers = (self.adver_at, master_down, self.garp_at, self.garp_refresh_at,
                  self._drain_until, self._vips_go_at)  # fmt: skip
        armed = [t for t in timers if t is not None]
        return min(armed) if armed else None

    def current_master(self) -> IPAddress | None:
        if self.state is State.MASTER:
            return self.source
        if self.state is State.BACKUP:
            return self.master_address
        return None

    # ------------------------------------------------------------------ lifecycle events

    def startup(self, now: float) -> list[Action]:
        """RFC 5798 section 6.4.1: Initialize, on Startup (the node calls it once per start)."""
        self.running = True
        return self.dispatch(Stimulus.STARTUP, now)

    def shutdown(self, now: float) -> list[Action]:
        """Sections 6.4.2/6.4.3, on Shutdown: a master releases with priority 0 first."""
        self.running = False
        return self.dispatch(Stimulus.SHUTDOWN, now)

    def on_timer(self, now: float) -> list[Action]:
        """Fire every deadline of this instance that is due at ``now``."""
        return self.dispatch(Stimulus.TIMER, now)

    def dispatch(self, stimulus: Stimulus, now: float, *args: object) -> list[Action]:
        """The one way a stimulus reaches a handler: through ``DISPATCH``, whose cell says
        which handler runs and where it may end (or why nothing happens)."""
        old = self.state
        cell = DISPATCH[(old, stimulus)]
        if isinstance(cell, Ignored):
            return []
        actions: list[Action] = getattr(self, cell.handler)(now, *args)
        if self.state not in cell.to:
            raise AssertionError(
                f"{self.name}: {stimulus.value} in {old} ended in {self.state}, not {set(cell.to)}"
            )
        return actions

    # ------------------------------------------------------------------ handlers (via DISPATCH)

    def _on_startup(self, now: float) -> list[Action]:
        if self.faults:
            return self._enter_fault(self._fault_summary(), now)
        if self.config.owner and not self.maintenance:
            return self._enter_master_unannounced("startup as address owner (priority 255)", now)
        if self.anycast and not self.maintenance:
            return self._enter_master_unannounced("startup (election: none)", now)
        return self._enter_backup("startup", now)

    def _on_shutdown(self, now: float) -> list[Action]:
        return self._enter_init("shutdown", now)

    def _backup_timer(self, now: float) -> list[Action]:
        """Section 6.4.2: Master_Down_Timer fires -> become Master (and VIPs kept a moment
        after yielding go now)."""
        if self._vips_go_at is not None and self._vips_go_at <= now:
            self._vips_go_at = None
            return [self._addresses(RemoveAddresses, self.config.held_addresses)]
        if self.maintenance or self.master_down_at is None or self.master_down_at > now:
            return []
        reason, why = self._takeover_reason()
        preempted = self._lower_master[0] if self._lower_master else self._lower_unfollowed
        actions = self._enter_master(reason, now, why)
        if preempted is not None:
            # Its trailing adverts (until it hears ours) are not a split brain.
            self._preempted = (preempted, now + 3 * self.advert_interval)
        return actions

    def _master_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        if self._drain_until is not None and self._drain_until <= now:
            waited = self.master_down_interval
            self.maintenance = False
            return self._resume(
                now, f"maintenance: no backup took over within {waited:.3f}s; still MASTER"
            )
        if self.adver_at is not None and self.adver_at <= now:
            # Section 6.4.3: Adver_Timer fires -> send an ADVERTISEMENT, re-arm.
            actions += self._advertise(self.priority)
            self.adver_at = now + self.advert_interval
        if self.garp_at is not None and self.garp_at <= now:
            actions += self._announce(self.config.garp.repeat)
            self.garp_at = None
        if self.garp_refresh_at is not None and self.garp_refresh_at <= now:
            actions += self._announce(1)
            self.garp_refresh_at = now + self.config.garp.refresh
        return actions

    def _on_fault(self, now: float) -> list[Action]:
        return self._enter_fault(self._fault_summary(), now)

    def _on_cleared(self, now: float, cleared: str) -> list[Action]:
        if (self.config.owner or self.anycast) and not self.maintenance:
            return self._enter_master_unannounced(f"{cleared}; address owner", now)
        return self._enter_backup(cleared, now)

    def _master_priority_changed(self, now: float, old: int) -> list[Action]:
        """Tell the backups at once rather than at the next interval (unless handing over:
        we released with priority 0, and the real priority again would abort the drain)."""
        del old
        if self.draining:
            return []
        self.adver_at = now + self.advert_interval
        return self._advertise(self.priority)

    def _backup_priority_changed(self, now: float, old: int) -> list[Action]:
        """Move Master_Down_Timer by the change in Skew_Time (as Keepalived does), so that
        the best backup still goes first when the master dies just as a priority changed
        (RFC 5798 6.4.2: Skew_Time is the current priority's). With the Skew_Time of the
        old priority, a raised backup would take over after a lower one, which then
        yields: two handovers for one change. The next advert is judged as usual."""
        if self.master_down_at is None:
            return []
        if self._preempt_at is not None and self.master_down_at >= self._preempt_at:
            return []  # the end of preempt_delay, which no priority moves
        cs, version = self.master_adver_interval_cs, self.config.version
        shift = skew_time(self.priority, cs, version) - skew_time(old, cs, version)
        self.master_down_at = max(now, self.master_down_at + shift)
        return []

    def set_maintenance(self, on: bool, now: float) -> list[Action]:
        """``vrrpd maintenance on|off`` for this instance (recorded whatever the state)."""
        if on == self.maintenance:
            return []
        self.maintenance = on
        self._followed = None
        return self.dispatch(Stimulus.MAINTENANCE, now, on)

    @property
    def draining(self) -> bool:
        return self._drain_until is not None

    def _master_maintenance(self, now: float, on: bool) -> list[Action]:
        """Make-before-break: release with priority 0 so the best backup takes over after
        its Skew_Time, and keep answering on the VIPs until its first advert is heard."""
        if not on:
            return self._resume(now, "maintenance off") if self.draining else []
        if self.anycast:  # the other nodes serve already: keep ours a moment, withdraw
            return self._enter_backup("maintenance (election: none): withdrawing", now)
        self._drain_until = now + self.master_down_interval
        self._drain_started = now
        self.adver_at = self.garp_at = self.garp_refresh_at = None
        notice = Notice(
            self.name,
            "maintenance: handing over (priority 0), VIPs kept until a new master is heard",
        )
        return [notice, *self._advertise(PRIORITY_RELEASE)]

    def _resume(self, now: float, reason: str) -> list[Action]:
        self._drain_until = None
        self.adver_at = now + self.advert_interval
        return [Notice(self.name, reason), *self._advertise(self.priority)]

    def _backup_maintenance(self, now: float, on: bool) -> list[Action]:
        if self.anycast and not on and not self.faults:
            return self._enter_master_unannounced("maintenance off (election: none)", now)
        text = "maintenance: this node takes part in no election" if on else "maintenance off"
        return [Notice(self.name, text)]

    def _on_announce(self, now: float) -> list[Action]:
        del now
        notice = Notice(self.name, "announcing the VIPs again, as asked")
        return [notice, *self._announce(self.config.garp.repeat)]

    def _on_group_master(self, now: float, reason: str) -> list[Action]:
        return self._enter_master_unannounced(reason, now)

    def _on_group_backup(self, now: float, reason: str) -> list[Action]:
        return self._enter_backup(reason, now)

    def _master_reconfigured(
        self, now: float, previous: InstanceConfig, advertise: bool
    ) -> list[Action]:
        """A master's VIPs, interval or advert contents changed by a reload: move only
        the addresses that changed, announce the new ones, and advertise the new state
        at once (unless a priority change just did)."""
        old_vips, new_vips = previous.held_addresses, self.config.held_addresses
        gone = tuple(v for v in old_vips if v not in new_vips)
        added = tuple(v for v in new_vips if v not in old_vips)
        actions: list[Action] = []
        if gone:
            names = " ".join(str(v.address) for v in gone)
            actions += [
                Notice(self.name, f"reload: VIP {names} removed"),
                self._addresses(RemoveAddresses, gone),
            ]
        if added:
            names = " ".join(str(v.address) for v in added)
            actions += [
                Notice(self.name, f"reload: VIP {names} added"),
                self._addresses(AddAddresses, added),
            ]
            actions += self._announce(self.config.garp.repeat, added)
        if self.draining:
            return actions  # released with priority 0: the real one again would abort it
        if advertise:
            actions += self._advertise(self.priority)
        self.adver_at = now + self.advert_interval
        return actions

    # ------------------------------------------------------------------ link, faults, priority

    def link_changed(
        self, *, up: bool, addresses: tuple[IPAddress, ...], now: float
    ) -> list[Action]:
        self._followed = None
        self.link_up = up
        self.interface_addresses = addresses
        return self._update_link_faults(now)

    def set_fault(self, key: str, reason: str | None, now: float) -> list[Action]:
        """Raise (``reason`` given) or clear (None) one fault; move in or out of FAULT."""
        if reason is None:
            gone = self.faults.pop(key, None)
            if gone is None:
                return []
            cleared = f"no longer: {gone}"
        else:
            if self.faults.get(key) == reason:
                return []
            self.faults[key] = reason
            cleared = ""
        if not self.running:
            return []
        if self.faults:
            return self.dispatch(Stimulus.FAULT, now)
        return self.dispatch(Stimulus.CLEARED, now, cleared)

    def own_faults(self) -> dict[str, str]:
        return {k: v for k, v in self.faults.items() if not k.startswith("sync:")}

    def set_contribution(self, key: str, contribution: Contribution, now: float) -> list[Action]:
        """A tracker changed: recompute the effective priority and the weight-0 fault."""
        self.contributions[key] = contribution
        self._followed = None
        actions: list[Action] = []
        old = self.priority
        self.priority = effective_priority(self.config.priority, list(self.contributions.values()))
        if self.priority != old:
            self.priority_reason = f"{contribution.describe()}: {old} → {self.priority}"
            actions.append(Notice(self.name, f"priority {self.priority_reason}"))
            actions += self.dispatch(Stimulus.PRIORITY, now, old)
        fault_key = f"track:{key}"
        if contribution.fault:
            actions += self.set_fault(fault_key, f"{contribution.source} down (weight 0)", now)
        else:
            actions += self.set_fault(fault_key, None, now)
        return actions

    def addresses_removed(
        self, interface: str, addresses: tuple[IPAddress, ...], now: float
    ) -> list[Action]:
        """Someone else deleted some of our VIPs (a network manager, an operator): while
        MASTER, put them back and announce them again; otherwise they are not ours to hold."""
        return self.dispatch(Stimulus.VIPS_REMOVED, now, interface, addresses)

    def _restore_vips(
        self, now: float, interface: str, addresses: tuple[IPAddress, ...]
    ) -> list[Action]:
        del now
        lost = tuple(
            v
            for v in self.config.held_addresses
            if (v.dev or self.config.interface) == interface and v.address.ip in addresses
        )
        if not lost:
            return []
        names = " ".join(str(v.address) for v in lost)
        return [
            Notice(
                self.name,
                f"VIP {names} was removed from {interface} by something else; adding it back",
            ),
            self._addresses(AddAddresses, lost),
            *self._announce(self.config.garp.repeat),
        ]

    def reconfigure(
        self, config: InstanceConfig, now: float, trackers: frozenset[str]
    ) -> list[Action]:
        """A reload kept the router's identity: keep state and VIPs, and the contributions
        of the ``trackers`` (keys) still tracked; a master applies the rest at once."""
        previous, self.config = self.config, config
        self.receiver.config = config
        self._followed = None
        self._vip_ips = frozenset(v.address.ip for v in config.virtual_addresses)
        self._vip_texts = tuple(str(v.address.ip) for v in config.virtual_addresses)
        if config.interval_cs != previous.interval_cs:
            self.master_adver_interval_cs = config.interval_cs
        kept = trackers
        actions: list[Action] = []
        for key in [k for k in self.contributions if k not in kept]:
            del self.contributions[key]
            actions += self.set_fault(f"track:{key}", None, now)
        old = self.priority
        self.priority = effective_priority(config.priority, list(self.contributions.values()))
        if self.priority != old:
            self.priority_reason = f"reload: {old} → {self.priority}"
            actions.append(Notice(self.name, f"priority {self.priority_reason}"))
            actions += self.dispatch(Stimulus.PRIORITY, now, old)
        if self._vips_go_at is not None:
            # Still held after a yield (announce_hold, the yield window): the hold's end
            # removes what the configuration then lists, so what this reload dropped
            # would have stayed on the node, its route announced, for good. Now.
            gone = tuple(v for v in previous.held_addresses if v not in config.held_addresses)
            if gone:
                actions.append(self._addresses(RemoveAddresses, gone))
        wire = any(getattr(previous, f) != getattr(config, f) for f in _WIRE_FIELDS)
        if wire:
            actions += self.dispatch(Stimulus.RECONFIGURED, now, previous, self.priority == old)
        return actions

    # ------------------------------------------------------------------ sync groups

    def force_master(self, reason: str, now: float) -> list[Action]:
        """A sync-group sibling became master: follow it (only from BACKUP)."""
        return self.dispatch(Stimulus.GROUP_MASTER, now, reason)

    def force_backup(self, reason: str, now: float) -> list[Action]:
        """A sync-group sibling lost mastership: follow it (only from MASTER)."""
        return self.dispatch(Stimulus.GROUP_BACKUP, now, reason)

    # ------------------------------------------------------------------ receiving

    def drop(self, reason: DropReason, src: IPAddress, detail: str = "") -> list[Action]:
        """Count a refused packet against this instance (ARCHITECTURE.md rule 3)."""
        return self.receiver.drop(reason, src, detail)

    def repeated(self, data: bytes, src: IPAddress, ttl: int, now: float) -> bool:
        """Whether this advert repeats, byte for byte, the last one a backup followed; then
        it is counted and restarts Master_Down_Timer, exactly as the full path would.

        Most adverts a backup hears are such repeats: skipping the decode and the checks
        is what keeps a backup of hundreds of instances cheap. Anything that could change
        the outcome (a transition, a priority or link change, a reload) forgets the last
        advert, and the next one takes the full path.
        """
        if self._followed != (data, src, ttl) or self.state is not State.BACKUP:
            return False
        self.counters.rcvd_advertisements += 1
        self.master_down_at = now + self.master_down_interval
        return True

    def on_datagram(
        self, decoded: Decoded, *, src: IPAddress, ttl: int, now: float, raw: bytes = b""
    ) -> list[Action]:
        """Receive validation (RFC 5798 section 7.1), then the state's ADVERTISEMENT handler."""
        advert = decoded.advert
        self._followed = None
        if self.anycast:
            return []  # no election: another node's adverts change nothing here
        if src in self.interface_addresses or src == self.source:
            # Our sockets never loop our own adverts back (IP_MULTICAST_LOOP off), so
            # this is another router using one of our addresses: a misconfiguration
            # the operator must hear about, and the tie-break would be meaningless.
            return self.drop(DropReason.OWN_ADDRESS, src, f"VRID {advert.vrid}")
        actions = self.receiver.validate(decoded, self.config, src=src, ttl=ttl, now=now)
        if any(isinstance(a, PacketDropped) for a in actions):
            return actions
        self.counters.rcvd_advertisements += 1
        if advert.priority == PRIORITY_RELEASE:
            self.counters.rcvd_pri_zero_packets += 1
        was = self.state
        handled = self.dispatch(Stimulus.ADVERT, now, advert, src)
        if was is State.BACKUP and (
            raw
            and not actions
            and not handled
            and self.master_address == src
            and self._lower_master is None
            and self._released_by is None
            and advert.interval_cs == self.config.interval_cs
            and frozenset(advert.addresses) == self._vip_ips
        ):
            # Nothing but the timer changed, and no counter but rcvd_advertisements.
            self._followed = (raw, src, ttl)
        return actions + handled

    def _backup_receives(self, now: float, advert: Advertisement, src: IPAddress) -> list[Action]:
        """RFC 5798 section 6.4.2, Backup: ADVERTISEMENT received."""
        if self.maintenance and advert.priority != PRIORITY_RELEASE:
            # Taking part in no election: follow whoever is master, and arm no
            # preempt_delay (it starts when maintenance is off, with the next lower advert).
            self._follow(advert, src, now)
            self._preempt_at = None
            return []
        if advert.priority == PRIORITY_RELEASE:
            if self.master_address is not None and src != self.master_address:
                # Not the master we follow (which still serves): one forged release per
                # second was a takeover and a flap per second, hooks and ARP included.
                # Its lower-priority adverts are discarded the same way (RFC 5798 6.4.2
                # names no source; following none yet, any release counts).
                return []
            # The master is leaving: take over after Skew_Time, highest priority first.
            self._released_by = src
            self.master_down_at = now + self.skew_time
            return []
        preempt = self.config.preempt or self.config.owner
        if not preempt or advert.priority >= self.priority:
            self._follow(advert, src, now)
            # A master at least as good as us: a later lower-priority master gets the
            # whole preempt_delay again (Keepalived restarts it too).
            self._preempt_at = None
            return []
        if self.master_address is not None and src != self.master_address:
            # Not the master we follow (a yielding master's last advert, one crossing a
            # takeover): discard it, as RFC 5798 6.4.2 says; our timer runs on the master
            # we follow, and fast preemption reacts to that one only. (Following none yet,
            # just started: the first master heard is the one we follow; a better RFC
            # backup would have preempted it already.)
            self._lower_unfollowed = src
            return []
        # Preempt and a lower-priority master: discard, so Master_Down_Timer runs out.
        self._lower_master = (src, advert.priority)
        if self.config.preempt_delay > 0:
            if self._preempt_at is None:
                self._preempt_at = now + self.config.preempt_delay
            if now < self._preempt_at:
                # Let it serve until the delay ends, then take over exactly then.
                self._follow(advert, src, now)
                self._lower_master = (src, advert.priority)
                assert self.master_down_at is not None
                self.master_down_at = min(self.master_down_at, self._preempt_at)
        elif self.config.fast_preempt:
            # The master has just told us it is worse (a check failed there): waiting out
            # the rest of Master_Down_Interval only prolongs the outage. Skew_Time still
            # lets the best of several backups go first. A deviation from RFC 5798's
            # timer, not its wire: the old master yields on hearing us, as the RFC says.
            due = now + self.skew_time
            self.master_down_at = (
                due if self.master_down_at is None else min(self.master_down_at, due)
            )
        return []

    def _follow(self, advert: Advertisement, src: IPAddress, now: float) -> None:
        if advert.version == 3:
            self.master_adver_interval_cs = advert.interval_cs
        self.master_address, self.master_priority = src, advert.priority
        self.master_down_at = now + self.master_down_interval
        self._released_by = None
        self._lower_master = None
        self._lower_unfollowed = None

    def _master_receives(self, now: float, advert: Advertisement, src: IPAddress) -> list[Action]:
        """RFC 5798 section 6.4.3, Master: ADVERTISEMENT received."""
        if self.draining:
            if advert.priority == PRIORITY_RELEASE:
                return []  # another router leaving too; we are already handing over
            earliest = self._drain_started + skew_time(
                advert.priority, self.config.interval_cs, self.config.version
            )
            if advert.priority <= self.priority and now < earliest - 1e-9:
                # Sent before it could have heard our priority 0 and waited its
                # Skew_Time: a yielding backup's last advert, or a master that has not
                # heard us; not the router that takes over. Keep the VIPs.
                return []
            # The new master speaks: only now do the VIPs go (make-before-break).
            actions = self._enter_backup(f"maintenance: handed over to {src}", now)
            self._follow(advert, src, now)
            return actions
        if advert.priority == PRIORITY_RELEASE:
            # Another master released: assert ourselves at once, a few times per interval
            # at most (1,000 forged releases were 1,000 adverts: a reflector).
            if not self._lower_heard.may_assert(now, self.advert_interval):
                return []
            self.adver_at = now + self.advert_interval
            return self._advertise(self.priority)
        source = self.source
        assert source is not None  # MASTER implies a source (else FAULT)
        if advert.priority > self.priority or (
            advert.priority == self.priority and int(src) > int(source)
        ):
            if advert.priority > self.priority:
                reason = f"higher priority {advert.priority} from {src} (ours {self.priority})"
            else:
                reason = f"equal priority {advert.priority} from higher address {src}"
            # One last advert before yielding: if this was a split brain, the winner may
            # never have heard us, and this tells it to re-announce the VIPs (a vrrpd
            # extension; to an RFC router it is one more lower-priority advert). It
            # carries the winner's interval: a backup that follows it after the winner's
            # advert must wait out the winner's Master_Down_Interval, not ours.
            last = self._advertise(self.priority, interval_cs=advert.interval_cs)
            actions = last + self._enter_backup(reason, now)
            self._follow(advert, src, now)
            return actions
        # RFC 9568: a lower-priority master exists: assert at once (a few times per
        # interval at most, however many sources claim to be one).
        lower, actions = self._lower_heard, []
        if lower.may_assert(now, self.advert_interval):
            self.adver_at = now + self.advert_interval
            actions = self._advertise(self.priority)
        just_preempted = (
            self._preempted is not None
            and self._preempted[0] in (None, src)
            and now <= self._preempted[1]
        )
        new_episode = lower.heard(src, now, self.advert_interval)
        if just_preempted or not new_episode or not lower.may_heal(now, self.advert_interval):
            return actions  # the master we just preempted, a heal under way or just given
        # A split brain is healing: re-announce the VIPs so neighbours that followed
        # the other master come back, and tell the operator's master hook again.
        reason = f"split brain healed: lower-priority master {src} ({advert.priority}) seen; asserting MASTER"
        return (
            actions
            + self._announce(self.config.garp.repeat)
            + [Notice(self.name, reason)]
            + self._notify(State.MASTER, reason)
        )

    # ------------------------------------------------------------------ entering states

    def _enter_master(self, reason: str, now: float, why: NewMasterReason) -> list[Action]:
        self._vips_go_at = None  # yielded a moment ago and master again: they never left
        actions = self._transition(State.MASTER, reason, now)
        self.counters.master_transitions += 1
        self.counters.new_master_reason = why
        self.master_down_at = None
        self.master_address, self.master_priority = self.source, self.priority
        # RFC 5798 6.4.2 order: advertise first (the other routers stop their timers at
        # once), then configure the VIPs, then announce them: neighbours only move to
        # us on the announcement, which comes after the addresses are in place.
        actions += self._advertise(self.priority)
        actions += [self._addresses(AddAddresses, self.config.held_addresses)]
        actions += self._announce(self.config.garp.repeat)
        self.adver_at = now + self.advert_interval
        garp = self.config.garp
        self.garp_at = now + garp.delay if garp.delay > 0 else None
        self.garp_refresh_at = now + garp.refresh if garp.refresh > 0 else None
        return actions + self._notify(State.MASTER, reason)

    def _enter_master_unannounced(self, reason: str, now: float) -> list[Action]:
        """MASTER without waiting for a master to go quiet (an owner's start or a cleared
        fault, a sync group's force): a master still there sends adverts until it hears
        ours; those are its trailing adverts, not a split brain to heal (no second hook
        run, no second ARP burst). One heard after they stop is healed as usual."""
        actions = self._enter_master(reason, now, NewMasterReason.PRIORITY)
        self._preempted = (None, now + 3 * self.advert_interval)
        return actions

    def _enter_backup(self, reason: str, now: float) -> list[Action]:
        old = self.state
        actions = self._transition(State.BACKUP, reason, now)
        actions += self._leave_master(old, release=False, now=now)
        self.master_adver_interval_cs = self.config.interval_cs
        self.master_address = self.master_priority = None
        self.master_down_at = now + self.master_down_interval
        return actions + self._notify(State.BACKUP, reason)

    def _enter_fault(self, reason: str, now: float) -> list[Action]:
        old = self.state
        actions = self._transition(State.FAULT, reason, now)
        actions += self._leave_master(old, release=True, now=now)
        self.master_down_at = None
        self.master_address = self.master_priority = None
        return actions + self._notify(State.FAULT, reason)

    def _enter_init(self, reason: str, now: float) -> list[Action]:
        old = self.state
        actions = self._transition(State.INIT, reason, now)
        actions += self._leave_master(old, release=True, now=now)
        self.master_down_at = None
        self.master_address = self.master_priority = None
        return actions + self._notify(State.INIT, reason)

    def _leave_master(self, old: State, *, release: bool, now: float) -> list[Action]:
        """Stop advertising; the VIPs go at once on a release (fault, shutdown), or a
        moment later when yielding to a better master (make-before-break: it advertises
        before its netlink add, and removing ours on its advert would leave the address
        nowhere for that long)."""
        actions: list[Action] = []
        if self._vips_go_at is not None and release:
            self._vips_go_at = None  # yielded a moment ago: they go now
            actions.append(self._addresses(RemoveAddresses, self.config.held_addresses))
        if old is not State.MASTER:
            return actions
        self.adver_at = self.garp_at = self.garp_refresh_at = None
        if not release:
            self._vips_go_at = now + kept_after_yield(self.config)
            return actions
        if self.source is not None and self.link_up:
            actions += self._advertise(PRIORITY_RELEASE)
        return [*actions, self._addresses(RemoveAddresses, self.config.held_addresses)]

    def _transition(self, new: State, reason: str, now: float) -> list[Action]:
        old = self.state
        if (old, new) not in TRANSITIONS:
            raise AssertionError(f"{self.name}: illegal transition {old} -> {new} ({reason})")
        self.state = new
        self._followed = None
        self._drain_until = None
        self.last_reason = reason
        self.last_transition_at = now
        self._preempt_at = None
        self._lower_master = None
        self._released_by = None
        self._lower_unfollowed = None
        self._preempted = None
        self._lower_heard.clear()
        return [StateChanged(self.name, old, new, reason, self.priority, now)]

    def _takeover_reason(self) -> tuple[str, NewMasterReason]:
        if self._released_by is not None:
            return (
                f"master {self._released_by} released (priority 0); skew time {self.skew_time:.3f}s elapsed",
                NewMasterReason.PRIORITY,
            )
        if self._lower_master is not None:
            address, priority = self._lower_master
            return (
                f"preempting lower-priority master {address} ({priority} < {self.priority})",
                NewMasterReason.PREEMPTED,
            )
        heard = f" from {self.master_address}" if self.master_address else ""
        return (
            f"master down timer expired: no advert{heard} for {self.master_down_interval:.3f}s",
            NewMasterReason.MASTER_NO_RESPONSE,
        )

    # ------------------------------------------------------------------ effects

    @property
    def anycast(self) -> bool:
        return self.config.election is Election.NONE

    def _advertise(self, priority: int, *, interval_cs: int | None = None) -> list[Action]:
        if self.anycast:
            return []  # election: none sends no adverts
        source = self.source
        assert source is not None  # callers send only with a source (no source means FAULT)
        cfg = self.config
        auth = cfg.authentication
        advert = Advertisement(
            version=cfg.version,
            vrid=cfg.vrid,
            priority=priority,
            interval_cs=cfg.interval_cs if interval_cs is None else interval_cs,
            addresses=tuple(v.address.ip for v in cfg.virtual_addresses),
            auth_type=AUTH_PASS if auth else AUTH_NONE,
            auth_data=password_bytes(auth.password) if auth else bytes(8),
        )
        form = (
            ChecksumForm.MESSAGE
            if cfg.v3_ipv4_checksum is ChecksumMode.MESSAGE
            else ChecksumForm.PSEUDO
        )
        destinations = cfg.unicast_peers or (self.family.multicast_group,)
        actions: list[Action] = []
        for dst in destinations:
            data = encode(advert, src=source, dst=dst, checksum_form=form)
            actions.append(
                SendAdvert(self.name, cfg.interface, self.family, source, dst, data, priority)
            )
        self.counters.sent_advertisements += len(actions)
        if priority == PRIORITY_RELEASE:
            self.counters.sent_pri_zero_packets += len(actions)
        return actions

    def _addresses(
        self, kind: type[AddAddresses | RemoveAddresses], vips: tuple[VirtualAddress, ...]
    ) -> AddAddresses | RemoveAddresses:
        cfg = self.config
        if kind is RemoveAddresses and cfg.announce is Announce.BGP:
            # Withdrawn at once, answered for a grace: routers still send us traffic
            # until the withdraw has crossed the fabric.
            linger = cfg.announce_grace
            return RemoveAddresses(self.name, cfg.interface, vips, cfg.device, None, linger)
        return kind(self.name, cfg.interface, vips, cfg.device, cfg.vmac_device)

    def _announce(self, count: int, vips: tuple[VirtualAddress, ...] | None = None) -> list[Action]:
        """Gratuitous ARP / unsolicited NA for the VIPs (or ``vips``), one action per device;
        none with ``announce: bgp`` (the route is the announcement, and a routed fabric may
        not even carry the frames)."""
        if self.config.announce is Announce.BGP:
            return []
        by_dev: dict[str, list[IPAddress]] = {}
        version = 4 if self.family is Family.V4 else 6
        for vip in self.config.held_addresses if vips is None else vips:
            if vip.address.version != version:
                continue  # an excluded address of the other family: not this socket's
            by_dev.setdefault(vip.dev or self.config.device, []).append(vip.address.ip)
        kind = SendGratuitousArp if self.family is Family.V4 else SendNeighborAdvert
        return [
            kind(self.name, dev, tuple(ips), count, self.config.vrid, self.config.use_vmac)
            for dev, ips in by_dev.items()
        ]

    def _notify(self, state: State, reason: str) -> list[Action]:
        word = state.notify_word
        return [
            RunNotify(
                self.name,
                command,
                word,
                reason,
                self.priority,
                keepalived_args=generic,
                vrid=self.config.vrid,
                interface=self.config.interface,
                vips=self._vip_texts,
            )
            for command, generic in self.config.notify.hooks(word)
        ]

    def _update_link_faults(self, now: float = 0.0) -> list[Action]:
        iface = self.config.interface
        if self.link_up is None:
            link = f"interface {iface} state not known yet"
        elif not self.link_up:
            link = f"interface {iface} down"
        else:
            link = None
        actions = self.set_fault("link", link, now)
        if self.source is None and link is None:
            what = "IPv4 address" if self.family is Family.V4 else "IPv6 link-local address"
            return actions + self.set_fault("source", f"no {what} on {iface}", now)
        return actions + self.set_fault("source", None, now)

    def _fault_summary(self) -> str:
        return "; ".join(self.faults.values())
