"""What the kernel should look like for a config: pure functions, no I/O.

The driver asks these questions every time netlink says something changed or a
reload arrives, and acts on the answers. Keeping them pure is what lets the
tests check every corner (a socket that must re-join a group after a reload, an
address owner's own address, a VIP someone else deleted) without a kernel.

* Sockets: one per (interface, family) that an instance uses; it joins the
  multicast group when any instance there is multicast. A socket whose join
  need changed is reopened (an unjoined socket with ``IP_MULTICAST_ALL=0``
  hears no multicast at all: a silent backup, two masters).
* Addresses: the core sees an interface's own addresses, never the VIPs this
  agent added (those are in the ledger). An address that was there before us
  (the address owner's real address, RFC 5798 section 1.6) stays visible, is
  never written to the ledger, and is never removed.
* Virtual MACs: one macvlan per ``use_vmac`` instance, named from its VRID.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_interface
from typing import TYPE_CHECKING

from vrrpd.core import actions as act
from vrrpd.core.config import InstanceConfig
from vrrpd.core.constants import Family, IPAddress
from vrrpd.core.events import AddressesRemoved, LinkChanged

if TYPE_CHECKING:
    from vrrpd.adapters.netlink import Address, Link

SocketKey = tuple[str, Family]
"""(interface, family): one raw socket each."""


def wanted_sockets(
    instances: Iterable[InstanceConfig], links: Mapping[str, Link]
) -> dict[SocketKey, bool]:
    """Every socket the instances need on interfaces that exist, and whether it must join
    the multicast group (any multicast instance on it)."""
    wanted: dict[SocketKey, bool] = {}
    for inst in instances:
        if inst.interface not in links:
            continue
        key = (inst.interface, inst.family)
        wanted[key] = wanted.get(key, False) or not inst.unicast_peers
    return wanted


@dataclass(frozen=True, slots=True)
class SocketChanges:
    close: tuple[SocketKey, ...]
    open: tuple[tuple[SocketKey, bool], ...]
    """(key, multicast) to open, after the closes."""


def socket_changes(have: Mapping[SocketKey, bool], want: Mapping[SocketKey, bool]) -> SocketChanges:
    """Close what is not wanted or joins the wrong way; open what is missing.

    A socket open with the right membership is kept: reopening would lose the
    adverts queued on it.
    """
    close = tuple(sorted((k for k, joined in have.items() if want.get(k) != joined), key=_order))
    kept = {k for k in have if k not in close}
    opens = tuple(
        sorted(((k, m) for k, m in want.items() if k not in kept), key=lambda e: _order(e[0]))
    )
    return SocketChanges(close, opens)


def _order(key: SocketKey) -> tuple[str, int]:
    return key[0], key[1].value


def ours(ledger: Iterable[tuple[str, str]]) -> set[tuple[str, IPAddress]]:
    """(device, address) of every VIP the ledger says this agent added."""
    return {(dev, ip_interface(text).ip) for dev, text in ledger}


def core_links(
    watched: Iterable[str],
    links: Mapping[str, Link],
    addresses: Iterable[Address],
    added: set[tuple[str, IPAddress]],
) -> dict[str, LinkChanged]:
    """What the core should know of each watched interface: up, and its own usable
    addresses, the VIPs we added left out (else a backup would take a VIP it just
    released as its source, and a master would count its VIPs as its own)."""
    name_of = {link.index: name for name, link in links.items()}
    own: dict[str, list[IPAddress]] = {}
    for address in addresses:
        name = name_of.get(address.interface_index)
        if name is None or not address.usable or (name, address.address) in added:
            continue
        own.setdefault(name, []).append(address.address)
    out = {}
    for name in sorted(set(watched)):
        link = links.get(name)
        out[name] = (
            LinkChanged(name, link.up, tuple(own.get(name, ())))
            if link
            else LinkChanged(name, False, ())
        )
    return out


@dataclass
class View:
    """What the core was last told of each interface, and what brings it up to date."""

    known: dict[str, LinkChanged] = field(default_factory=dict)

    def events(
        self,
        instances: Iterable[InstanceConfig],
        links: Mapping[str, Link],
        addresses: Iterable[Address],
        added: set[tuple[str, IPAddress]],
        parents: Mapping[str, str],
        *,
        initial: bool,
        idle: bool,
        held: Iterable[tuple[str, IPAddress]] = (),
    ) -> list[LinkChanged | AddressesRemoved]:
        """Each watched interface whose state changed (all of them when ``initial``), then
        the VIPs we added that vanished. Those only when ``idle`` (no address change of
        ours in flight): only then is the kernel exactly as the ledger says, and a
        difference is someone else's doing (a network manager, an operator)."""
        addresses = list(addresses)
        out: list[LinkChanged | AddressesRemoved] = []
        view = core_links(watched_interfaces(instances), links, addresses, added)
        for name, change in view.items():
            if initial or self.known.get(name) != change:
                self.known[name] = change
                out.append(change)
        if idle:
            gone = missing_vips(added, links, addresses, parents, held)
            out += [AddressesRemoved(interface, lost) for interface, lost in gone.items()]
        return out


def watched_interfaces(instances: Iterable[InstanceConfig]) -> set[str]:
    """Interfaces the core must hear about: those instances run on, and those they track."""
    out: set[str] = set()
    for inst in instances:
        out.add(inst.interface)
        out.update(t.name for t in inst.track_interfaces)
    return out


def missing_vips(
    added: set[tuple[str, IPAddress]],
    links: Mapping[str, Link],
    addresses: Iterable[Address],
    parent_of: Mapping[str, str],
    held: Iterable[tuple[str, IPAddress]] = (),
) -> dict[str, tuple[IPAddress, ...]]:
    """VIPs that should be there and are not, by the interface the core knows them on
    (a VMAC's parent): those we added, and every VIP a master should hold (``held``,
    see ``master_vips``) on a device that exists, also one that never made it into the
    ledger (an add that failed or was skipped). Only meaningful while no address
    change of ours is in flight."""
    present: set[tuple[int, IPAddress]] = {(a.interface_index, a.address) for a in addresses}
    missing: dict[str, set[IPAddress]] = {}
    for device, ip in added:
        link = links.get(device)
        if link is None or (link.index, ip) not in present:
            missing.setdefault(parent_of.get(device, device), set()).add(ip)
    for device, ip in held:
        link = links.get(device)
        if link is not None and (link.index, ip) not in present:
            missing.setdefault(parent_of.get(device, device), set()).add(ip)
    return {k: tuple(sorted(v, key=str)) for k, v in sorted(missing.items())}


def master_vips(
    instances: Iterable[InstanceConfig], states: Mapping[str, str]
) -> set[tuple[str, IPAddress]]:
    """(device, address) of every VIP of the instances that are MASTER."""
    return {
        (vip.dev or inst.device, vip.address.ip)
        for inst in instances
        if states.get(inst.name) == "MASTER"
        for vip in inst.virtual_addresses
    }


def vmac_changes(
    instances: Iterable[InstanceConfig], have: Mapping[str, str], links: Mapping[str, Link]
) -> tuple[tuple[InstanceConfig, ...], tuple[str, ...]]:
    """(instances whose macvlan must be created, instance names whose macvlan must go).

    ``have`` maps instance name -> macvlan name. A macvlan is recreated when its
    instance now needs another one (VRID or family changed), and only on a parent
    that exists.
    """
    want = {i.name: i for i in instances if i.use_vmac}
    remove = tuple(
        sorted(n for n, dev in have.items() if n not in want or want[n].vmac_device != dev)
    )
    create = tuple(
        i
        for n, i in sorted(want.items())
        if (n not in have or n in remove) and i.interface in links
    )
    return create, remove


class Lane(enum.Enum):
    """Where an action runs: at once, or in order behind the kernel's address changes."""

    NOW = "now"
    KERNEL = "kernel"


Ordered = (
    act.AddAddresses
    | act.RemoveAddresses
    | act.SendGratuitousArp
    | act.SendNeighborAdvert
    | act.RunNotify
)
"""Actions that may have to wait for an instance's address changes."""


def lane(action: Ordered, pending: Mapping[str, int]) -> Lane:
    """Adverts and log lines never wait for netlink (an rtnl stall must not cost
    mastership); address changes are awaited in order; an announcement or a notify
    hook of an instance whose addresses are still being changed waits behind them, so
    neighbours are told and hooks run only once the VIPs exist (or are gone)."""
    if isinstance(action, act.AddAddresses | act.RemoveAddresses):
        return Lane.KERNEL
    return Lane.KERNEL if pending.get(action.instance) else Lane.NOW
