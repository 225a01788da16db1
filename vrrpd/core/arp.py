"""Gratuitous ARP frames (bytes only; the link-layer adapter sends them).

A new master announces each IPv4 VIP so switches and neighbours move it to us
(RFC 5798 section 6.4.2, errata 7947/7949 to RFC 9568): an ARP *request* whose
sender and target protocol addresses are both the VIP, broadcast. This is the form
Keepalived sends and that every Linux neighbour cache accepts.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from vrrpd.core.constants import BROADCAST_MAC, ETH_P_ARP

_ETH_P_IP = 0x0800
_HTYPE_ETHERNET = 1
_OP_REQUEST = 1


def gratuitous_arp(mac: bytes, address: IPv4Address) -> bytes:
    """An Ethernet frame from ``mac`` announcing that ``address`` is at ``mac``."""
    if len(mac) != 6:
        raise ValueError("a MAC address is 6 bytes")
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", _HTYPE_ETHERNET, _ETH_P_IP, 6, 4, _OP_REQUEST)
    arp += mac + address.packed + BROADCAST_MAC + address.packed
    return ethernet + arp
