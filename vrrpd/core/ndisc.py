"""Unsolicited Neighbor Advertisement frames (bytes only; the link-layer adapter sends them).

The IPv6 counterpart of gratuitous ARP (RFC 4861 section 7.2.6, RFC 5798 section 6.4.2):
sent from the VIP to all-nodes with the Override flag, so neighbours replace the
cached link-layer address at once, and a Target Link-Layer Address option.
The Router flag is set only where the host forwards, as Keepalived does: a
server answering for a VIP must not be mistaken for a router.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from vrrpd.core.constants import ALL_NODES_V6, ETH_P_IPV6, TTL
from vrrpd.core.packet import internet_checksum

_ICMPV6 = 58
_NEIGHBOR_ADVERT = 136
_FLAG_ROUTER = 0x80000000
_FLAG_OVERRIDE = 0x20000000
_OPT_TARGET_LLADDR = 2


def multicast_mac(group: IPv6Address) -> bytes:
    """33:33 plus the low 32 bits of the group (RFC 2464 section 7)."""
    return b"\x33\x33" + group.packed[-4:]


def unsolicited_na(mac: bytes, address: IPv6Address, *, router: bool = False) -> bytes:
    """An Ethernet frame from ``mac`` advertising that ``address`` is at ``mac``."""
    if len(mac) != 6:
        raise ValueError("a MAC address is 6 bytes")
    flags = _FLAG_OVERRIDE | (_FLAG_ROUTER if router else 0)
    option = struct.pack("!BB", _OPT_TARGET_LLADDR, 1) + mac
    icmp = struct.pack("!BBHI", _NEIGHBOR_ADVERT, 0, 0, flags) + address.packed + option
    pseudo = address.packed + ALL_NODES_V6.packed + struct.pack("!I3xB", len(icmp), _ICMPV6)
    checksum = internet_checksum(pseudo + icmp)
    icmp = icmp[:2] + struct.pack("!H", checksum) + icmp[4:]
    ipv6 = (
        struct.pack("!IHBB", 6 << 28, len(icmp), _ICMPV6, TTL)
        + address.packed
        + ALL_NODES_V6.packed
    )
    ethernet = multicast_mac(ALL_NODES_V6) + mac + struct.pack("!H", ETH_P_IPV6)
    return ethernet + ipv6 + icmp
