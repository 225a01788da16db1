"""The VIPs (``rtnl``), and what the kernel says about links and addresses (pyroute2).

* VIPs are added with ``replace`` (idempotent), IPv6 ones with ``nodad`` (a VIP
  must not sit tentative while clients wait) and a preferred lifetime of 0 (not a
  source address for the host's own connections), and removing an absent one
  counts as done.
* Every VIP is written to the ownership ledger *before* it is added, and struck
  off after it is removed, so after ``kill -9`` the next start removes exactly
  what this agent had added: never an address it does not own.
* Link and address events come from a subscribed socket, opened before the
  first dump so nothing that happens in between is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface, ip_address, ip_interface
from pathlib import Path

from vrrpd.adapters.files import replace_file, untrusted
from vrrpd.adapters.rtnl import Rtnl, RtnlError
from vrrpd.core.config import VirtualAddress
from vrrpd.core.constants import IPAddress
from vrrpd.lazy import defer

# Only the rtnetlink modules, not the package __init__ (13 -> 6.3 MB: see ``vrrpd.lazy``).
defer("pyroute2", "pyroute2.iproute")
# The package's logger setup (a NullHandler on "pyroute2"), which its __init__ would run.
import pyroute2.config.log  # noqa: E402, F401
from pyroute2.iproute.linux import AsyncIPRoute  # noqa: E402
from pyroute2.netlink.exceptions import NetlinkError  # noqa: E402

log = logging.getLogger("vrrpd")

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
_GONE = {99, 19}  # EADDRNOTAVAIL, ENODEV: the address (or its link) is already gone
RT_TABLE_LOCAL = 255
RTPROT_VRRPD = 118
"""Marks our lingering local routes (``announce: bgp``'s grace), so that the next start
removes any a crash left behind, and nothing else."""
LINGER_METRIC = 1024
"""Not the kernel's own metric 0: removing the address removes its own local route only."""
_ESRCH = 3


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    index: int
    up: bool
    mac: str


@dataclass(frozen=True, slots=True)
class Address:
    interface_index: int
    address: IPAddress
    prefixlen: int
    usable: bool
    """False while tentative (DAD running) or after DAD failed: not a source yet."""


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Something changed about links or addresses: the driver re-reads what it needs."""

    kind: str
    index: int | None = None
    address: IPAddress | None = None
    """For address events: which address on which device (the driver skips the echoes
    of its own VIP changes)."""


class Ledger:
    """The VIPs this agent added, persisted so a restart can clean up after a crash.

    An append-only journal: ``+ IFACE ADDRESS INDEX`` before an address is added, ``-
    IFACE ADDRESS`` after it is removed; one ``write`` to an ``O_APPEND`` file each. The
    interface index is what identifies the device (a name can move to another device
    between a kill and the restart); the name is for messages, and the only key of a
    line an older vrrpd wrote without an index. The
    takeover waits for the ``+`` line, so it must cost microseconds, not the
    rewrite-and-rename of a whole file (0.7 ms measured in the lab). Nothing is synced:
    a killed process loses nothing it wrote, and a power cut clears /run along with the
    addresses. A line cut short by a kill is ignored; the file is rewritten compact once
    it grows long and when the agent stops. An older vrrpd's JSON file is read too.
    """

    COMPACT_AFTER = 4096
    """Lines appended before the file is rewritten with only what is still held."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: set[tuple[str, str]] = set()
        self.indexes: dict[tuple[str, str], int | None] = {}
        """(interface name, address) -> the index of the device it was added to."""
        self.version = 0
        """Bumped on every change, so a parsed view of the entries is cached safely."""
        self._fd: int | None = None
        self._lines = 0

    def load(self) -> set[tuple[str, str]]:
        return set(self.load_indexed())

    def load_indexed(self) -> dict[tuple[str, str], int | None]:
        """(name, address) -> interface index (None: a line of an older vrrpd)."""
        why = untrusted(self.path)
        if why:
            log.error("ignoring the VIP ledger %s: %s (no address removed for it)", self.path, why)
            return {}
        try:
            text = self.path.read_text()
        except OSError:
            return {}  # absent or unreadable: nothing can be claimed as ours
        if text.lstrip().startswith("{"):
            return dict.fromkeys(_load_json(text))
        entries: dict[tuple[str, str], int | None] = {}
        for line in text.split("\n")[:-1]:  # the last piece is "" or a line cut short
            parts = line.split()
            if len(parts) not in (3, 4) or parts[0] not in ("+", "-") or not _address(parts[2]):
                continue
            key = (parts[1], parts[2])
            if parts[0] == "-":
                entries.pop(key, None)
            elif len(parts) == 4 and parts[3].isdigit():
                entries[key] = int(parts[3])
            elif len(parts) == 3:
                entries[key] = None
        return entries

    def index_of(self, interface: str, address: str) -> int | None:
        return self.indexes.get((interface, address))

    def add(
        self, interface: str, address: str, index: int | None = None, *, write: bool = True
    ) -> None:
        """``write=False``: already in the file (re-recorded from ``load``)."""
        key = (interface, address)
        if key not in self.entries or self.indexes.get(key) != index:
            self.entries.add(key)
            self.indexes[key] = index
            self.version += 1
            if write:
                self._append(_line(interface, address, index))

    def discard(self, interface: str, address: str) -> None:
        if (interface, address) in self.entries:
            self.entries.discard((interface, address))
            self.indexes.pop((interface, address), None)
            self.version += 1
            self._append(f"- {interface} {address}\n")

    def close(self) -> None:
        """At a clean stop: the file keeps only what is still held (normally nothing)."""
        self.compact()

    def compact(self) -> None:
        held = sorted(self.entries)
        replace_file(self.path, "".join(_line(i, a, self.indexes.get((i, a))) for i, a in held))
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._lines = len(self.entries)

    def _append(self, text: str) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            self._fd = os.open(self.path, flags, 0o644)
        os.write(self._fd, text.encode())
        self._lines += text.count("\n")
        if self._lines > self.COMPACT_AFTER:
            self.compact()


def _family(address: IPv4Interface | IPv6Interface) -> int:
    return 10 if isinstance(address, IPv6Interface) else 2


def _line(interface: str, address: str, index: int | None) -> str:
    return f"+ {interface} {address}" + ("" if index is None else f" {index}") + "\n"


def _address(text: str) -> bool:
    try:
        ip_interface(text)
    except ValueError:
        return False
    return True


def _load_json(text: str) -> set[tuple[str, str]]:
    """The ledger of vrrpd 0.1.0 and earlier (an upgrade starts with one)."""
    try:
        data = json.loads(text)
        return {(str(e["interface"]), str(e["address"])) for e in data.get("vips", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


class Netlink:
    """Requests on one socket, events on another (opened first)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._stack = contextlib.AsyncExitStack()
        self._requests: AsyncIPRoute | None = None
        self._events: AsyncIPRoute | None = None
        self.rtnl = Rtnl()
        """VIP adds and removals: the takeover's hot path (see ``rtnl``)."""
        self._dumping = asyncio.Lock()
        """The kernel refuses a second dump on a socket while one is running (EBUSY): a
        reload's re-read met the event-driven one and the agent died in CI. Dumps wait
        their turn; other requests do not need to."""

    async def open(self) -> None:
        events = await self._stack.enter_async_context(AsyncIPRoute())
        await events.bind()
        self._events = events
        self._requests = await self._stack.enter_async_context(AsyncIPRoute())
        self.rtnl.open()
        self._stack.callback(self.rtnl.close)

    async def close(self) -> None:
        await self._stack.aclose()
        with contextlib.suppress(OSError):  # a read-only /run was already reported
            self.ledger.close()

    @property
    def ipr(self) -> AsyncIPRoute:
        assert self._requests is not None, "open() first"
        return self._requests

    async def links(self) -> dict[str, Link]:
        out = {}
        async with self._dumping:
            messages = [msg async for msg in await self.ipr.link("dump")]
        for msg in messages:
            name = msg.get("ifname")
            flags = msg["flags"]
            out[name] = Link(
                name,
                msg["index"],
                bool(flags & IFF_UP and flags & IFF_RUNNING),
                msg.get("address") or "",
            )
        return out

    async def addresses(self) -> list[Address]:
        out = []
        async with self._dumping:
            messages = [msg async for msg in await self.ipr.addr("dump")]
        for msg in messages:
            flags = msg.get("IFA_FLAGS") or msg["flags"]
            usable = not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)
            out.append(
                Address(msg["index"], ip_address(msg.get("address")), msg["prefixlen"], usable)
            )
        return out

    async def add_vip(self, index: int, interface: str, vip: VirtualAddress) -> None:
        await self.start_add_vip(index, interface, vip)

    def start_add_vip(
        self, index: int, interface: str, vip: VirtualAddress
    ) -> asyncio.Future[None]:
        """Ledger line written and request sent now; the future is the kernel's answer."""
        address = vip.address
        self.ledger.add(interface, str(address), index)
        if isinstance(address, IPv6Interface):
            # deprecated (preferred lifetime 0): never the source of the master's own
            # connections, which would break when the VIP moves at a failover
            return self.rtnl.start_replace(index, address, ifa_flags=IFA_F_NODAD, preferred_lft=0)
        return self.rtnl.start_replace(index, address, label=vip.label)

    async def remove_vip(
        self,
        index: int | None,
        interface: str,
        address: IPv4Interface | IPv6Interface,
    ) -> None:
        if index is not None:
            try:
                await self.rtnl.delete(index, address)
            except RtnlError as error:
                if error.code not in _GONE:
                    raise
        self.ledger.discard(interface, str(address))

    async def add_linger(self, index: int, address: IPv4Interface | IPv6Interface) -> None:
        """A local route for a VIP about to be removed: the kernel keeps accepting its
        traffic (AnyIP), while routing daemons import no table-local route and withdraw
        it with the address. Replaced if one is there already."""
        await self.ipr.route(
            "replace",
            dst=str(address.ip),
            dst_len=address.network.max_prefixlen,
            family=_family(address),
            type="local",
            table=RT_TABLE_LOCAL,
            oif=index,
            proto=RTPROT_VRRPD,
            priority=LINGER_METRIC,
            scope=254,  # host
        )

    async def remove_linger(self, address: IPv4Interface | IPv6Interface) -> None:
        try:
            await self.ipr.route(
                "del",
                dst=str(address.ip),
                dst_len=address.network.max_prefixlen,
                family=_family(address),
                type="local",
                table=RT_TABLE_LOCAL,
                proto=RTPROT_VRRPD,
                priority=LINGER_METRIC,
                scope=254,  # matched on delete: without it, no such route
            )
        except NetlinkError as error:
            if error.code not in (*_GONE, _ESRCH):
                raise

    async def remove_stale_lingers(self) -> list[str]:
        """Lingering local routes a killed agent left behind (they would answer for a
        VIP this node no longer holds)."""
        removed = []
        for family in (2, 10):  # AF_INET, AF_INET6
            async with self._dumping:
                stale = [
                    msg
                    async for msg in await self.ipr.route(
                        "dump", family=family, table=RT_TABLE_LOCAL
                    )
                    if msg.get("proto") == RTPROT_VRRPD
                ]
            for msg in stale:
                dst = str(msg.get("dst") or msg.get("RTA_DST"))
                await self.remove_linger(ip_interface(f"{dst}/{msg['dst_len']}"))
                removed.append(f"local route {dst}")
        return removed

    async def create_macvlan(self, name: str, parent_index: int, mac: str) -> int:
        """A bridge-mode macvlan with the virtual MAC, left down; replaces a stale one."""
        async with self._dumping:
            existing = await self.ipr.link_lookup(ifname=name)
        if existing:
            await self.ipr.link("del", index=existing[0])
        await self.ipr.link(
            "add",
            ifname=name,
            kind="macvlan",
            link=parent_index,
            macvlan_mode="bridge",
            address=mac,
        )
        async with self._dumping:
            found = await self.ipr.link_lookup(ifname=name)
        return int(found[0])

    async def create_dummy(self, name: str) -> int:
        """A dummy device, up (``announce: bgp``'s named announce device); its index."""
        await self.ipr.link("add", ifname=name, kind="dummy")
        async with self._dumping:
            found = await self.ipr.link_lookup(ifname=name)
        await self.ipr.link("set", index=found[0], state="up")
        return int(found[0])

    async def set_up(self, index: int, up: bool) -> None:
        await self.ipr.link("set", index=index, state="up" if up else "down")

    async def delete_link(self, index: int) -> None:
        try:
            await self.ipr.link("del", index=index)
        except NetlinkError as error:
            if error.code not in _GONE:
                raise

    async def remove_stale(self) -> list[str]:
        """Remove what a previous run recorded and did not clean up (it was killed).

        Decided from a dump taken now, by interface index: after a kill and a rename
        the address is removed from the device that holds it, whatever it is called
        now, and a device that took the old name is not touched. An entry whose
        address is no longer there is forgotten, not reported as removed. Only lines
        of an older vrrpd (no index) go by name, and only if that device holds it.
        """
        links = await self.links()
        name_of = {link.index: name for name, link in links.items()}
        present = {(a.interface_index, a.address) for a in await self.addresses()}
        removed = []
        for (interface, text), recorded in sorted(self.ledger.load_indexed().items()):
            address = ip_interface(text)
            index = recorded
            if index is None:
                link = links.get(interface)
                index = link.index if link else None
            holder = index if (index, address.ip) in present else None
            self.ledger.add(interface, text, index, write=False)  # it is in the file already
            await self.remove_vip(holder, interface, address)
            if holder is not None:
                now = name_of.get(holder, interface)
                removed.append(
                    f"{text} on {interface}" + (f" (now {now})" if now != interface else "")
                )
        return removed

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Forever: each ``get()`` yields one received batch and ends, so keep asking."""
        assert self._events is not None, "open() first"
        while True:
            async for msg in self._events.get():
                kind = msg.get("event")
                if kind in ("RTM_NEWLINK", "RTM_DELLINK"):
                    yield LinkEvent(kind)
                elif kind in ("RTM_NEWADDR", "RTM_DELADDR"):
                    text = msg.get("address")
                    yield LinkEvent(kind, msg.get("index"), ip_address(text) if text else None)
