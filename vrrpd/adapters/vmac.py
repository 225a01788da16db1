"""Virtual MACs (``use_vmac``): one macvlan per instance carrying 00-00-5E-00-0{1,2}-{VRID}.

The macvlan stays down except while MASTER, so a backup never sends a frame from
the shared MAC (switches would learn it on the wrong port). IPv6 interface
identifiers on it are random, never derived from the VMAC (RFC 5798 section 7.4).
``arp_ignore=1`` and ``arp_announce=2`` on the parent keep it from answering ARP
for the VIP, or asking with the VIP as sender, with its own MAC; the original
values are restored when the macvlans are removed.
"""

from __future__ import annotations

import logging

from vrrpd.adapters.netlink import Link, Netlink
from vrrpd.adapters.sysctl import Sysctls
from vrrpd.config.schema import InstanceConfig
from vrrpd.core.constants import Family, format_mac, virtual_mac

log = logging.getLogger("vrrpd")


def interface_name(instance: InstanceConfig) -> str:
    return f"vrrp{'6' if instance.family is Family.V6 else ''}.{instance.vrid}"


class VirtualMacs:
    def __init__(self, netlink: Netlink) -> None:
        self.netlink = netlink
        self.sysctls = Sysctls()
        self.links: dict[str, tuple[str, int]] = {}
        """Instance name -> (macvlan name, index)."""

    def get(self, instance: str) -> tuple[str, int] | None:
        return self.links.get(instance)

    async def create(self, instances: tuple[InstanceConfig, ...], links: dict[str, Link]) -> None:
        for inst in instances:
            if not inst.use_vmac:
                continue
            parent = links.get(inst.interface)
            if parent is None:
                log.error("[%s] use_vmac: interface %s does not exist", inst.name, inst.interface)
                continue
            name = interface_name(inst)
            mac = format_mac(virtual_mac(inst.vrid, inst.family))
            index = await self.netlink.create_macvlan(name, parent.index, mac)
            self.sysctls.set(f"ipv6/conf/{name}/addr_gen_mode", "3")  # random identifiers
            if inst.family is Family.V4:
                self.sysctls.set(f"ipv6/conf/{name}/disable_ipv6", "1")
                self.sysctls.set(f"ipv4/conf/{name}/arp_ignore", "1")
                self.sysctls.set(f"ipv4/conf/{name}/arp_announce", "2")
                self.sysctls.set(f"ipv4/conf/{inst.interface}/arp_ignore", "1")
                self.sysctls.set(f"ipv4/conf/{inst.interface}/arp_announce", "2")
            else:
                self.sysctls.set(f"ipv6/conf/{name}/accept_dad", "0")
            self.links[inst.name] = (name, index)
            log.info("[%s] virtual MAC %s on %s", inst.name, mac, name)

    async def remove(self) -> None:
        for name, index in self.links.values():
            await self.netlink.delete_link(index)
            log.info("removed %s", name)
        self.links.clear()
        self.sysctls.restore()
