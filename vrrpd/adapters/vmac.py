"""Virtual MACs (``use_vmac``): one macvlan per instance carrying 00-00-5E-00-0{1,2}-{VRID}.

The macvlan stays down except while MASTER, so a backup never sends a frame from
the shared MAC (switches would learn it on the wrong port). IPv6 interface
identifiers on it are random, never derived from the VMAC (RFC 5798 section 7.4).
``arp_ignore=1`` and ``arp_announce=2`` on the parent keep it from answering ARP
for the VIP, or asking with the VIP as sender, with its own MAC; the original
values are restored when the last macvlan is removed. Each macvlan is created and
removed on its own, so a reload can add or drop ``use_vmac`` for one instance.
"""

from __future__ import annotations

import logging

from vrrpd.adapters.netlink import Netlink
from vrrpd.adapters.sysctl import Sysctls
from vrrpd.core.config import InstanceConfig
from vrrpd.core.constants import Family, format_mac, virtual_mac

log = logging.getLogger("vrrpd")


class VirtualMacs:
    def __init__(self, netlink: Netlink) -> None:
        self.netlink = netlink
        self.sysctls = Sysctls()
        self._links: dict[str, tuple[str, int, str]] = {}
        """Instance name -> (macvlan name, index, parent name)."""

    def devices(self) -> dict[str, str]:
        """Instance name -> macvlan name."""
        return {inst: name for inst, (name, _, _) in self._links.items()}

    def parents(self) -> dict[str, str]:
        """macvlan name -> parent interface."""
        return {name: parent for name, _, parent in self._links.values()}

    def device_of(self, instance: str) -> tuple[str, int] | None:
        """(macvlan name, index) of an instance's virtual MAC link, if it has one."""
        entry = self._links.get(instance)
        return None if entry is None else (entry[0], entry[1])

    def answer_arp(self, instance: str, *, on: bool) -> None:
        """Whether an IPv4 instance's macvlan answers ARP for its VIPs (arp_ignore 1, the
        default here) or for nothing (8): off from the moment the master yields until its
        VIPs are gone, so the old master never answers for them beside the new one."""
        entry = self._links.get(instance)
        if entry is None:
            return
        path = f"ipv4/conf/{entry[0]}/arp_ignore"
        if (self.sysctls.root / path).exists():
            self.sysctls.set(path, "1" if on else "8")

    def index_of(self, name: str) -> int | None:
        return next((index for n, index, _ in self._links.values() if n == name), None)

    async def create(self, inst: InstanceConfig, parent_index: int) -> None:
        name = inst.vmac_device
        assert name is not None, "only for use_vmac instances"
        mac = format_mac(virtual_mac(inst.vrid, inst.family))
        index = await self.netlink.create_macvlan(name, parent_index, mac)
        self._links[inst.name] = (name, index, inst.interface)
        self.sysctls.set(f"ipv6/conf/{name}/addr_gen_mode", "3")  # random identifiers
        if inst.family is Family.V4:
            self.sysctls.set(f"ipv6/conf/{name}/disable_ipv6", "1")
            self.sysctls.set(f"ipv4/conf/{name}/arp_ignore", "1")
            self.sysctls.set(f"ipv4/conf/{name}/arp_announce", "2")
            self.sysctls.set(f"ipv4/conf/{inst.interface}/arp_ignore", "1")
            self.sysctls.set(f"ipv4/conf/{inst.interface}/arp_announce", "2")
        else:
            self.sysctls.set(f"ipv6/conf/{name}/accept_dad", "0")
        log.info("[%s] virtual MAC %s on %s", inst.name, mac, name)

    async def remove(self, instance: str) -> None:
        entry = self._links.pop(instance, None)
        if entry is None:
            return
        name, index, _ = entry
        await self.netlink.delete_link(index)
        log.info("removed %s", name)
        if not self._links:
            self.sysctls.restore()

    async def remove_all(self) -> None:
        for instance in list(self._links):
            await self.remove(instance)
        self.sysctls.restore()
