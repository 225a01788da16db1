"""pyroute2: the VIPs, and what the kernel says about links and addresses.

* VIPs are added with ``replace`` (idempotent), IPv6 ones with ``nodad`` (a VIP
  must not sit tentative while clients wait), and removing an absent one counts
  as done.
* Every VIP is written to the ownership ledger *before* it is added, and struck
  off after it is removed, so after ``kill -9`` the next start removes exactly
  what this agent had added: never an address it does not own.
* Link and address events come from a subscribed socket, opened before the
  first dump so nothing that happens in between is missed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface, ip_address, ip_interface
from pathlib import Path
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from vrrpd.core.config import VirtualAddress
from vrrpd.core.constants import IPAddress

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
_GONE = {99, 19}  # EADDRNOTAVAIL, ENODEV: the address (or its link) is already gone


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


class Ledger:
    """The VIPs this agent added, persisted so a restart can clean up after a crash."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: set[tuple[str, str]] = set()
        self.version = 0
        """Bumped on every change, so a parsed view of the entries is cached safely."""
        self._dirty = False

    def load(self) -> set[tuple[str, str]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            return set()  # unreadable: nothing can be claimed as ours
        return {(str(e["interface"]), str(e["address"])) for e in data.get("vips", [])}

    def _write(self) -> None:
        self._dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        body = {"vips": [{"interface": i, "address": a} for i, a in sorted(self.entries)]}
        tmp.write_text(json.dumps(body, indent=1) + "\n")
        os.replace(tmp, self.path)

    def add(self, interface: str, address: str, *, write: bool = True) -> None:
        if (interface, address) not in self.entries:
            self.entries.add((interface, address))
            self.version += 1
            if write:
                self._write()

    def discard(self, interface: str, address: str, *, write: bool = True) -> None:
        """``write=False`` defers the file (``flush``): an entry left there for an address
        already gone costs a restart nothing (its removal finds it gone)."""
        if (interface, address) in self.entries:
            self.entries.discard((interface, address))
            self.version += 1
            self._dirty = True
            if write:
                self.flush()

    def flush(self) -> None:
        if self._dirty:
            self._write()


class Netlink:
    """Requests on one socket, events on another (opened first)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._stack = contextlib.AsyncExitStack()
        self._requests: AsyncIPRoute | None = None
        self._events: AsyncIPRoute | None = None

    async def open(self) -> None:
        events = await self._stack.enter_async_context(AsyncIPRoute())
        await events.bind()
        self._events = events
        self._requests = await self._stack.enter_async_context(AsyncIPRoute())

    async def close(self) -> None:
        await self._stack.aclose()

    @property
    def ipr(self) -> AsyncIPRoute:
        assert self._requests is not None, "open() first"
        return self._requests

    async def links(self) -> dict[str, Link]:
        out = {}
        async for msg in await self.ipr.link("dump"):
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
        async for msg in await self.ipr.addr("dump"):
            flags = msg.get("IFA_FLAGS") or msg["flags"]
            usable = not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)
            out.append(
                Address(msg["index"], ip_address(msg.get("address")), msg["prefixlen"], usable)
            )
        return out

    async def add_vip(self, index: int, interface: str, vip: VirtualAddress) -> None:
        address = vip.address
        self.ledger.add(interface, str(address))
        kwargs: dict[str, Any] = {
            "index": index,
            "address": str(address.ip),
            "prefixlen": address.network.prefixlen,
        }
        if isinstance(address, IPv6Interface):
            kwargs["IFA_FLAGS"] = IFA_F_NODAD
        elif vip.label:
            kwargs["label"] = vip.label
        await self.ipr.addr("replace", **kwargs)

    async def remove_vip(
        self,
        index: int | None,
        interface: str,
        address: IPv4Interface | IPv6Interface,
        *,
        write: bool = True,
    ) -> None:
        if index is not None:
            try:
                await self.ipr.addr(
                    "del", index=index, address=str(address.ip), prefixlen=address.network.prefixlen
                )
            except NetlinkError as error:
                if error.code not in _GONE:
                    raise
        self.ledger.discard(interface, str(address), write=write)

    async def create_macvlan(self, name: str, parent_index: int, mac: str) -> int:
        """A bridge-mode macvlan with the virtual MAC, left down; replaces a stale one."""
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
        found = await self.ipr.link_lookup(ifname=name)
        return int(found[0])

    async def set_up(self, index: int, up: bool) -> None:
        await self.ipr.link("set", index=index, state="up" if up else "down")

    async def delete_link(self, index: int) -> None:
        try:
            await self.ipr.link("del", index=index)
        except NetlinkError as error:
            if error.code not in _GONE:
                raise

    async def remove_stale(self, links: dict[str, Link]) -> list[str]:
        """Remove what a previous run recorded and did not clean up (it was killed)."""
        removed = []
        for interface, text in sorted(self.ledger.load()):
            link = links.get(interface)
            address = ip_interface(text)
            self.ledger.add(interface, text, write=False)  # it is in the file already
            await self.remove_vip(link.index if link else None, interface, address)
            removed.append(f"{text} on {interface}")
        return removed

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Forever: each ``get()`` yields one received batch and ends, so keep asking."""
        assert self._events is not None, "open() first"
        while True:
            async for msg in self._events.get():
                kind = msg.get("event")
                if kind in ("RTM_NEWLINK", "RTM_DELLINK", "RTM_NEWADDR", "RTM_DELADDR"):
                    yield LinkEvent(kind)
