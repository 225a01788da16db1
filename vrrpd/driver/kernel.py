"""The kernel as the driver sees it: netlink, raw sockets, packet sockets, macvlans.

* Netlink events are merged without loss: each one marks the view dirty, and one
  task refreshes until no event arrived during the refresh (a carrier that drops
  and returns while a refresh runs is seen, not skipped).
* Sockets are opened, re-joined and closed to match ``plan.wanted_sockets``.
* VIPs are added only where they are not already someone's, and removed only where
  the ledger says we added them (the address owner keeps its own address).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from vrrpd.adapters.linklayer import LinkLayer
from vrrpd.adapters.netlink import Address, Ledger, Link, LinkEvent, Netlink
from vrrpd.adapters.rawsock import (
    Accept,
    VrrpSocket,
    attach_filter,
    detach_filter,
    filter_program,
    socket_drops,
)
from vrrpd.adapters.vmac import VirtualMacs
from vrrpd.core import actions as act
from vrrpd.core.config import Announce, InstanceConfig, VirtualAddress
from vrrpd.core.constants import Family, IPAddress
from vrrpd.core.receive import min_ttl
from vrrpd.driver import plan

_DROP_ALL = 0x06
"""Classic BPF ``ret #0`` (with k = 0): a filter that refuses every packet."""

log = logging.getLogger("vrrpd")
NETLINK_TIMEOUT = 5.0
RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds before each retry of a failed VIP removal; the last repeats until it works
(a backup must not keep a VIP until its next transition), or the VIP is wanted again."""


class Coalescer:
    """Run ``refresh`` after every ``mark()``, never twice at once, never missing a mark.

    A mark during a refresh makes exactly one more refresh follow it.
    """

    def __init__(self, refresh: Callable[[], Awaitable[None]]) -> None:
        self._refresh = refresh
        self._dirty = asyncio.Event()
        self.refreshes = 0

    def mark(self) -> None:
        self._dirty.set()

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            self.refreshes += 1
            await self._refresh()


class Kernel:
    def __init__(
        self, state_file: str, *, link_layer: Callable[[str], LinkLayer] = LinkLayer
    ) -> None:
        self.netlink = Netlink(Ledger(state_file))
        self._link_layer = link_layer
        self.vmacs = VirtualMacs(self.netlink)
        self.links: dict[str, Link] = {}
        self._added: set[tuple[str, IPAddress]] = set()
        self._added_version = -1
        self.addresses: list[Address] = []
        self.sockets: dict[plan.SocketKey, VrrpSocket] = {}
        self.joined: dict[plan.SocketKey, bool] = {}
        self._layers: dict[str, LinkLayer] = {}
        self._vmac_sockets: dict[tuple[str, int], VrrpSocket] = {}
        """Send-only sockets on the macvlans: adverts from the virtual MAC."""
        self._changes = 0
        """Address changes of ours acknowledged so far."""
        self._dumped_at = 0
        """``_changes`` when the last address dump started: a change acknowledged after
        that may be missing from ``addresses`` (or an address we removed still in it)."""
        self._changed: dict[tuple[int, IPAddress], int] = {}
        self._expected: set[tuple[int, IPAddress, str]] = set()
        """(device index, address, event) our own change of it will bring: an add and a
        removal at most per VIP, so bounded by the configuration."""
        self._retrying: dict[tuple[str, str], asyncio.Task[None]] = {}
        """(device, address) -> the task retrying its failed removal."""
        self._lingering: dict[str, asyncio.Task[None]] = {}
        """VIP -> the task removing its local route once ``announce_grace`` is over."""
        self.removal_retries = 0
        """VIP removals retried (each attempt after a failure or a timeout)."""
        self.filters: dict[plan.SocketKey, list[tuple[int, int, int, int]]] = {}
        """The BPF program attached to each socket (re-attached when it changes)."""
        self.filtering = os.environ.get("VRRPD_SOCKET_FILTER", "on") != "off"
        """Off only to measure what the filter saves (docs/reliability.md)."""
        self.lanes: dict[plan.SocketKey, VrrpSocket] = {}
        """With the filter on, a second socket per (interface, family) that receives only
        the followed masters' adverts: a flood that passes the filter (our VRID, TTL 255,
        another source) fills the main socket's queue, not theirs."""
        self.followed: dict[plan.SocketKey, tuple[IPAddress, ...]] = {}
        self._instances: tuple[InstanceConfig, ...] = ()
        self._lane_filters: dict[plan.SocketKey, list[tuple[int, int, int, int]]] = {}
        self._lane_masters: dict[plan.SocketKey, tuple[IPAddress, ...]] = {}

    async def open(self) -> None:
        await self.netlink.open()

    async def close(self) -> None:
        for task in self._retrying.values():
            task.cancel()
        self._retrying.clear()
        # A graceful stop answers for withdrawn VIPs until their grace is over (a crash
        # leaves the routes to the next start's ``remove_stale``).
        await asyncio.gather(*self._lingering.values(), return_exceptions=True)
        for key in list(self.sockets):
            self._close_socket(key)
        for vmac in self._vmac_sockets.values():
            vmac.close()
        self._vmac_sockets.clear()
        for layer in self._layers.values():
            layer.close()
        self._layers.clear()
        with contextlib.suppress(Exception):
            await self.vmacs.remove_all()
        await self.netlink.close()

    def announced(self, instances: tuple[InstanceConfig, ...]) -> dict[str, bool]:
        """``announce: bgp`` instance -> every VIP on its announce device, and that
        device up, in the last view of the kernel (the connected route FRR announces
        exists exactly then: zebra imports no connected route of a down interface)."""
        out = {}
        for inst in instances:
            if inst.announce is not Announce.BGP:
                continue
            link = self.links.get(inst.announce_device)
            held = {a.address for a in self.addresses if link and a.interface_index == link.index}
            out[inst.name] = (
                link is not None
                and link.up
                and all(vip.address.ip in held for vip in inst.virtual_addresses)
            )
        return out

    def foreign_vips(
        self, instances: tuple[InstanceConfig, ...]
    ) -> list[tuple[str, str, IPAddress]]:
        """(instance, device, VIP) of ``announce: bgp`` VIPs already on their announce
        device and not added by this agent: not ours to remove, so the connected route
        FRR announces stays whatever this node's state (a second route beside the
        master's). On a segment the same is an owner's own address, and harmless."""
        added = self.added()
        out = []
        for inst in instances:
            link = self.links.get(inst.announce_device)
            if inst.announce is not Announce.BGP or link is None:
                continue
            held = {a.address for a in self.addresses if a.interface_index == link.index}
            for vip in inst.held_addresses:
                ip = vip.address.ip
                if ip in held and (inst.announce_device, ip) not in added:
                    out.append((inst.name, inst.announce_device, ip))
        return out

    # ------------------------------------------------------------------ the view

    async def refresh(self) -> None:
        self.links = await self.netlink.links()
        await self._dump_addresses()

    async def _dump_addresses(self) -> None:
        started = self._changes
        self.addresses = await self.netlink.addresses()
        self._dumped_at = max(self._dumped_at, started)

    def _stale(self, index: int, ip: IPAddress) -> bool:
        """Did we change this address after the last dump started?"""
        return self._changed.get((index, ip), -1) > self._dumped_at

    def _did_change(self, index: int | None, ip: IPAddress) -> None:
        self._changes += 1
        if index is not None:
            self._changed[(index, ip)] = self._changes

    def added(self) -> set[tuple[str, IPAddress]]:
        """The ledger's entries parsed, once per change of the ledger (every address
        action and every refresh asks: with 200 VIPs, parsing each time was quadratic)."""
        ledger = self.netlink.ledger
        if self._added_version != ledger.version:
            self._added = plan.ours(ledger.entries)
            self._added_version = ledger.version
        return self._added

    async def events(self, mark: Callable[[], None]) -> None:
        """Forever: every link or address event marks the view dirty, but the echo of a
        VIP change of our own (the kernel confirming what it acknowledged already).

        Re-reading after each echo made 200 VIPs cost 200 dumps of 200 addresses: the
        new master's loop was busy for seconds after a takeover or a reload, its adverts
        went out late and the backup took over (CI, 200 instances under the unit)."""
        async for event in self.netlink.events():
            if self._echo(event):
                continue
            mark()

    def _expect(self, index: int | None, ip: IPAddress, kind: str) -> None:
        if index is not None:
            self._expected.add((index, ip, kind))

    def _echo(self, event: LinkEvent) -> bool:
        """Is this the one event our own add (removal) of this address announces?"""
        if event.index is None or event.address is None:
            return False
        key = (event.index, event.address, event.kind)
        if key not in self._expected:
            return False
        self._expected.discard(key)
        return True

    async def remove_stale(self) -> list[str]:
        return await self.netlink.remove_stale() + await self.netlink.remove_stale_lingers()

    # ------------------------------------------------------------------ sockets

    def sync_sockets(
        self, want: dict[plan.SocketKey, bool], on_readable: Callable[[VrrpSocket], None]
    ) -> None:
        changes = plan.socket_changes(self.joined, want)
        loop = asyncio.get_running_loop()
        for key in changes.close:
            self._close_socket(key)
        for (interface, family), multicast in changes.open:
            try:
                sock = VrrpSocket(interface, family, multicast=multicast)
            except OSError as error:
                log.error("cannot open VRRP socket on %s IP%s: %s", interface, family, error)
                continue
            self.sockets[(interface, family)] = sock
            self.joined[(interface, family)] = multicast
            loop.add_reader(sock.fileno(), on_readable, sock)
            if self.filtering:
                self._open_lane((interface, family), multicast, on_readable)

    def _open_lane(
        self, key: plan.SocketKey, multicast: bool, on_readable: Callable[[VrrpSocket], None]
    ) -> None:
        try:
            lane = VrrpSocket(key[0], key[1], multicast=multicast)
        except OSError as error:  # the main socket carries everything, as without the filter
            log.error("cannot open the followed masters' socket on %s IP%s: %s", *key, error)
            return
        try:
            empty = filter_program(key[1], [], only=())
            attach_filter(lane.sock, empty)  # nothing until a master is followed
        except OSError as error:
            log.error("cannot filter VRRP socket on %s IP%s: %s", key[0], key[1], error)
            lane.close()
            return
        self.lanes[key] = lane
        self._lane_filters[key] = empty
        asyncio.get_running_loop().add_reader(lane.fileno(), on_readable, lane)

    def filter_sockets(
        self,
        instances: tuple[InstanceConfig, ...],
        followed: dict[plan.SocketKey, tuple[IPAddress, ...]] | None = None,
    ) -> None:
        """Attach to each socket the kernel filter of the instances on it (again when a
        reload changed them): what the agent would drop anyway never reaches Python.
        ``followed``: the masters the backups on each socket follow, whose adverts go to
        the socket's lane (attached lane first when one is added, main first when one is
        removed: for a moment an advert may come twice, never not at all)."""
        self._instances = instances
        if followed is not None:
            self.followed = followed
        for key, sock in self.sockets.items() if self.filtering else ():
            accepts = [
                Accept(i.vrid, i.version, min_ttl(i), i.unicast_peers)
                for i in instances
                if (i.interface, i.family) == key
            ]
            lane = self.lanes.get(key)
            masters = self.followed.get(key, ()) if lane is not None else ()
            program = filter_program(key[1], accepts, exclude=masters)
            lane_program = filter_program(key[1], accepts, only=masters)
            lane_first = not set(masters) <= set(self._lane_masters.get(key, ()))
            self._lane_masters[key] = masters
            order = [(lane, lane_program, self._lane_filters), (sock, program, self.filters)]
            for target, wanted, attached in order if lane_first else order[::-1]:
                if target is None or attached.get(key) == wanted:
                    continue
                try:
                    attach_filter(target.sock, wanted)
                except OSError as error:
                    log.error("cannot filter VRRP socket on %s IP%s: %s", key[0], key[1], error)
                    # Unfiltered, so the agent checks everything itself: the old filter
                    # kept would drop a new VRID's adverts, or (half of a follow change)
                    # the followed master's on both sockets (h16r3 finding 15).
                    detach_filter(target.sock)
                    attached.pop(key, None)
                    continue
                attached[key] = wanted

    def follow(self, followed: dict[plan.SocketKey, tuple[IPAddress, ...]]) -> None:
        """The followed masters changed: move their adverts to the lanes."""
        if followed != self.followed and self.lanes:
            self.filter_sockets(self._instances, followed)

    def socket_drops(self) -> dict[str, int]:
        """'eth0 IPv4' -> packets the kernel dropped at that socket and its lane."""
        out: dict[str, int] = {}
        for key, sock in self.sockets.items():
            lane = self.lanes.get(key)
            drops = socket_drops(sock.sock) + (socket_drops(lane.sock) if lane else 0)
            out[f"{key[0]} IPv{key[1].value}"] = drops
        return out

    def _close_socket(self, key: plan.SocketKey) -> None:
        sock = self.sockets.pop(key, None)
        self.joined.pop(key, None)
        self.filters.pop(key, None)
        self._lane_filters.pop(key, None)
        self._lane_masters.pop(key, None)
        for each in (sock, self.lanes.pop(key, None)):
            if each is not None:
                with contextlib.suppress(ValueError, OSError, RuntimeError):
                    asyncio.get_running_loop().remove_reader(each.fileno())
                each.close()

    # ------------------------------------------------------------------ sending

    def send(self, action: act.SendAdvert) -> None:
        """With ``use_vmac`` (IPv4), out of the macvlan, so the frame's source is the
        virtual MAC (RFC 5798 7.2, 7.3: switches learn it from the adverts); while the
        macvlan is still down (the takeover's first advert) or gone, out of the parent."""
        vmac = self.vmacs.device_of(action.instance) if action.family is Family.V4 else None
        if vmac is not None:
            try:
                self._vmac_socket(vmac).send(action.data, src=action.src, dst=action.dst)
                return
            except OSError:
                pass
        sock = self.sockets.get((action.interface, action.family))
        if sock is None:
            raise OSError(f"no socket on {action.interface} yet")
        sock.send(action.data, src=action.src, dst=action.dst)

    def _vmac_socket(self, vmac: tuple[str, int]) -> VrrpSocket:
        sock = self._vmac_sockets.get(vmac)
        if sock is None:
            for stale in [k for k in self._vmac_sockets if k[0] == vmac[0]]:
                self._vmac_sockets.pop(stale).close()  # a macvlan recreated by a reload
            sock = VrrpSocket(vmac[0], Family.V4, multicast=False)
            try:
                # Send-only and never read: without a filter every unicast VRRP packet a
                # neighbour sends to a VIP stayed queued here, up to the socket's buffer
                # (~200 KB of kernel memory per macvlan, h16r3 finding 5).
                attach_filter(sock.sock, [(_DROP_ALL, 0, 0, 0)])
            except OSError as error:
                log.warning("cannot filter the send socket on %s: %s", vmac[0], error)
            self._vmac_sockets[vmac] = sock
        return sock

    def left_master(self, instance: str) -> None:
        """The instance stopped being MASTER: its macvlan stops answering ARP now,
        before its VIPs go (a yield keeps them a moment for make-before-break)."""
        self.vmacs.answer_arp(instance, on=False)

    def announce(self, action: act.SendGratuitousArp | act.SendNeighborAdvert) -> None:
        layer = self._layers.get(action.interface)
        if layer is None:
            layer = self._layers[action.interface] = self._link_layer(action.interface)
        router = isinstance(action, act.SendNeighborAdvert)  # RFC 5798 6.4.2: R=1
        layer.announce(action.addresses, action.count, router=router)

    # ------------------------------------------------------------------ addresses and VMACs

    async def change_addresses(self, action: act.AddAddresses | act.RemoveAddresses) -> list[str]:
        """Apply one address action; the errors, as sentences (never raises)."""
        errors: list[str] = []
        adding = isinstance(action, act.AddAddresses)
        if action.vmac and adding:
            self.vmacs.answer_arp(action.instance, on=True)
            errors += await self._set_up(action.vmac, up=True)
        added = self.added()
        present = {(a.interface_index, a.address) for a in self.addresses}
        for vip in action.addresses:
            dev = vip.dev or action.device
            link = self.links.get(dev)
            ip = vip.address.ip
            try:
                if adding:
                    self._stop_retrying(dev, str(vip.address))  # wanted again: keep it
                    if link is None:
                        raise OSError(f"interface {dev} does not exist")
                    if (link.index, ip) in present and (dev, ip) not in added:
                        if self._stale(link.index, ip):  # maybe our own removal, not seen yet
                            await asyncio.wait_for(self._dump_addresses(), NETLINK_TIMEOUT)
                            present = {(a.interface_index, a.address) for a in self.addresses}
                        if (link.index, ip) in present:
                            continue  # already configured, and not by us: not ours to own
                    self._expect(link.index, ip, "RTM_NEWADDR")
                    try:
                        await asyncio.wait_for(
                            self.netlink.add_vip(link.index, dev, vip), NETLINK_TIMEOUT
                        )
                    finally:
                        self._did_change(link.index, ip)
                elif (dev, ip) in added:
                    if isinstance(action, act.RemoveAddresses) and action.linger > 0:
                        await self._linger(dev, vip, action.linger)
                    await self._remove(dev, vip)
            except Exception as error:  # netlink raises its own error types; log, never crash
                verb = "add" if adding else "remove"
                reason = f"{error or 'timeout'}"
                if not adding:
                    self._retry_removal(action.instance, dev, vip)
                    reason += "; retrying"
                errors.append(f"cannot {verb} VIP {vip.address} on {dev}: {reason}")
        if action.vmac and not adding:
            errors += await self._set_up(action.vmac, up=False)
        return errors

    def start_adding(self, action: act.AddAddresses) -> Coroutine[Any, Any, list[str]] | None:
        """The takeover's fast path: every VIP's request is sent now, synchronously,
        inside the dispatch of the takeover (before its log line and hooks); the
        coroutine returned collects the kernel's answers. None when a VIP needs the
        careful path (``change_addresses``): a VMAC to bring up first, a device not
        known, or an address already present that may not be ours."""
        if action.vmac:
            return None
        added = self.added()
        present = {(a.interface_index, a.address) for a in self.addresses}
        todo: list[tuple[str, int, VirtualAddress]] = []
        for vip in action.addresses:
            dev = vip.dev or action.device
            link = self.links.get(dev)
            if link is None:
                return None
            if (link.index, vip.address.ip) in present and (dev, vip.address.ip) not in added:
                return None
            todo.append((dev, link.index, vip))
        sent = []
        for dev, index, vip in todo:
            self._stop_retrying(dev, str(vip.address))  # wanted again: keep it
            self._expect(index, vip.address.ip, "RTM_NEWADDR")
            sent.append((dev, index, vip, self.netlink.start_add_vip(index, dev, vip)))
        return self._answers(sent)

    async def _answers(
        self, sent: list[tuple[str, int, VirtualAddress, asyncio.Future[None]]]
    ) -> list[str]:
        errors = []
        for dev, index, vip, answer in sent:
            try:
                await asyncio.wait_for(answer, NETLINK_TIMEOUT)
            except Exception as error:  # netlink raises its own error types; log, never crash
                errors.append(f"cannot add VIP {vip.address} on {dev}: {error or 'timeout'}")
            finally:
                self._did_change(index, vip.address.ip)
        return errors

    async def _remove(self, dev: str, vip: VirtualAddress) -> None:
        """Remove one VIP we added, from the device the ledger says it was added to."""
        link = self.links.get(dev)
        index = self.netlink.ledger.index_of(dev, str(vip.address))
        if index is None:  # an entry of an older vrrpd: by name
            index = link.index if link else None
        self._expect(index, vip.address.ip, "RTM_DELADDR")
        try:
            await asyncio.wait_for(
                self.netlink.remove_vip(index, dev, vip.address), NETLINK_TIMEOUT
            )
        finally:
            self._did_change(index, vip.address.ip)

    async def _linger(self, dev: str, vip: VirtualAddress, seconds: float) -> None:
        """Keep answering for a VIP whose route is about to be withdrawn, for ``seconds``."""
        link = self.links.get(dev)
        if link is None:
            return
        key = str(vip.address)
        try:
            await asyncio.wait_for(
                self.netlink.add_linger(link.index, vip.address), NETLINK_TIMEOUT
            )
        except Exception as error:  # withdraw anyway: a route left behind is worse
            log.error(
                "cannot keep answering for %s after its withdraw: %s", key, error or "timeout"
            )
            return
        old = self._lingering.pop(key, None)
        if old is not None:
            old.cancel()

        async def later() -> None:
            await asyncio.sleep(seconds)
            try:
                await asyncio.wait_for(self.netlink.remove_linger(vip.address), NETLINK_TIMEOUT)
            except Exception as error:  # netlink's own errors: the next start removes it
                log.error("cannot remove the local route of %s: %s", key, error or "timeout")
            finally:
                if self._lingering.get(key) is task:
                    del self._lingering[key]

        task = asyncio.get_running_loop().create_task(later())
        self._lingering[key] = task

    def _retry_removal(self, instance: str, dev: str, vip: VirtualAddress) -> None:
        key = (dev, str(vip.address))
        if key not in self._retrying:
            task = asyncio.get_running_loop().create_task(self._retry(instance, dev, vip))
            self._retrying[key] = task

    def _stop_retrying(self, dev: str, address: str) -> None:
        task = self._retrying.pop((dev, address), None)
        if task is not None:
            task.cancel()

    async def _retry(self, instance: str, dev: str, vip: VirtualAddress) -> None:
        """Retry a failed removal with a bounded backoff until it works, the ledger no
        longer holds the VIP (someone removed it), or an add wants it again."""
        key = (dev, str(vip.address))
        try:
            for attempt in itertools.count(1):
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])
                if key not in self.netlink.ledger.entries:
                    return
                self.removal_retries += 1
                try:
                    await self._remove(dev, vip)
                except Exception as error:  # netlink's own error types; retry, never crash
                    if attempt <= 3 or attempt % 12 == 0:
                        log.warning(
                            "[%s] VIP %s still on %s: removal attempt %d failed: %s",
                            instance, vip.address, dev, attempt + 1, error or "timeout",
                        )  # fmt: skip
                else:
                    log.warning(
                        "[%s] VIP %s removed from %s at attempt %d",
                        instance, vip.address, dev, attempt + 1,
                    )  # fmt: skip
                    return
        finally:
            if self._retrying.get(key) is asyncio.current_task():
                del self._retrying[key]

    async def _set_up(self, name: str, *, up: bool) -> list[str]:
        link = self.links.get(name)
        index = link.index if link else self.vmacs.index_of(name)
        try:
            if index is None:
                raise OSError("it does not exist")
            await asyncio.wait_for(self.netlink.set_up(index, up), NETLINK_TIMEOUT)
        except Exception as error:  # log, never crash
            return [f"cannot set {name} {'up' if up else 'down'}: {error or 'timeout'}"]
        return []

    async def create_vmacs(self, instances: tuple[InstanceConfig, ...]) -> None:
        """Create the macvlans the instances need (down until an instance is MASTER)."""
        create, _ = plan.vmac_changes(instances, self.vmacs.devices(), self.links)
        for inst in create:
            await self.vmacs.remove(inst.name)  # another VRID or family than before
            try:
                await self.vmacs.create(inst, self.links[inst.interface].index)
            except Exception as error:  # netlink errors: say so, run without it
                log.error("[%s] cannot create virtual MAC link: %s", inst.name, error)
        for inst in instances:
            if inst.use_vmac and inst.interface not in self.links:
                log.error("[%s] use_vmac: interface %s does not exist", inst.name, inst.interface)
        await self._create_announce_devices(instances)
        await self.refresh()

    async def _create_announce_devices(self, instances: tuple[InstanceConfig, ...]) -> None:
        """``announce: bgp`` with a named device that does not exist: a dummy device,
        where the kernel has the driver. Without it, say so once and loudly: the
        instance's VIPs cannot be added (each takeover logs it), and no other device is
        used in its place (a VIP on the wrong device would be announced or not by
        accident). The device is left in place at exit: FRR's config may name it."""
        created: set[str] = set()
        for inst in instances:
            dev = inst.announce_device
            if inst.announce is not Announce.BGP or dev in self.links or dev in created:
                continue
            try:
                await asyncio.wait_for(self.netlink.create_dummy(dev), NETLINK_TIMEOUT)
            except Exception as error:  # netlink errors: say so, run without it
                log.error(
                    "[%s] announce_device %s does not exist and cannot be created as a "
                    "dummy device (%s: does this kernel have the dummy driver?); its VIPs "
                    "cannot be announced: create %s before vrrpd starts, or use lo",
                    inst.name, dev, error or "timeout", dev,
                )  # fmt: skip
            else:
                created.add(dev)
                log.info("[%s] created dummy device %s for its VIPs", inst.name, dev)

    async def remove_vmacs(self, instances: tuple[InstanceConfig, ...]) -> None:
        """Remove the macvlans no instance needs any more (after their VIPs left them)."""
        _, remove = plan.vmac_changes(instances, self.vmacs.devices(), self.links)
        for name in remove:
            if not any(i.name == name and i.use_vmac for i in instances):
                await self.vmacs.remove(name)

    def parents(self) -> dict[str, str]:
        """macvlan name -> the parent interface the core knows its VIPs on."""
        return self.vmacs.parents()
