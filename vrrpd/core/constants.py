"""Numbers fixed by RFC 3768 (VRRPv2), RFC 5798 and RFC 9568 (VRRPv3).

Named here once so the rest of the core reads as the RFC does.
"""

from __future__ import annotations

import enum
from ipaddress import IPv4Address, IPv6Address
from typing import Final, TypeAlias

IPAddress: TypeAlias = IPv4Address | IPv6Address

IPPROTO_VRRP: Final = 112
"""IP protocol number of VRRP (both versions)."""

MULTICAST_V4: Final = IPv4Address("224.0.0.18")
MULTICAST_V6: Final = IPv6Address("ff02::12")
ALL_NODES_V6: Final = IPv6Address("ff02::1")
"""Destination of unsolicited neighbour advertisements (RFC 5798 section 6.4.2)."""

TTL: Final = 255
"""TTL / hop limit sent and required on receipt (RFC 5798 section 5.1.1.3)."""

PRIORITY_OWNER: Final = 255
"""The address owner: skips the Backup wait and always preempts."""
PRIORITY_RELEASE: Final = 0
"""Sent only by a master that gives up mastership (shutdown or fault)."""
PRIORITY_MIN: Final = 1
PRIORITY_MAX_BACKUP: Final = 254
PRIORITY_DEFAULT: Final = 100

VRID_MIN: Final = 1
VRID_MAX: Final = 255

ADVERT_TYPE: Final = 1
"""The only VRRP message type defined (ADVERTISEMENT)."""

V2_HEADER_LEN: Final = 8
V2_AUTH_LEN: Final = 8
V3_HEADER_LEN: Final = 8
V3_INTERVAL_MASK: Final = 0x0FFF
"""v3 carries a 12-bit interval behind 4 reserved bits (ignored on receipt)."""
V3_INTERVAL_MAX_CS: Final = 4095
ADDRESS_COUNT_MAX: Final = 255
"""The Count IPvX Addr field is one byte."""
IPV6_HEADER_LEN: Final = 40
IPV6_MIN_MTU: Final = 1280
"""RFC 8200: every IPv6 link carries 1280 bytes, so an advert that fits is never lost to
an MTU we cannot see from the configuration."""
V2_INTERVAL_MAX_S: Final = 255

AUTH_NONE: Final = 0
AUTH_PASS: Final = 1
"""RFC 2338 simple text password; removed by RFC 3768 but still sent by Keepalived."""

CENTISECONDS: Final = 100
"""Wire intervals are centiseconds (v3) or seconds (v2); the core computes in seconds."""

VMAC_PREFIX_V4: Final = bytes((0x00, 0x00, 0x5E, 0x00, 0x01))
VMAC_PREFIX_V6: Final = bytes((0x00, 0x00, 0x5E, 0x00, 0x02))

ETH_P_ARP: Final = 0x0806
ETH_P_IPV6: Final = 0x86DD
BROADCAST_MAC: Final = b"\xff" * 6


class Family(enum.Enum):
    """Address family, always taken from the socket a packet arrived on, never guessed."""

    V4 = 4
    V6 = 6

    @property
    def address_length(self) -> int:
        return 4 if self is Family.V4 else 16

    @property
    def multicast_group(self) -> IPv4Address | IPv6Address:
        return MULTICAST_V4 if self is Family.V4 else MULTICAST_V6

    def __str__(self) -> str:
        return "v4" if self is Family.V4 else "v6"


def family_of(address: IPv4Address | IPv6Address) -> Family:
    return Family.V4 if address.version == 4 else Family.V6


def virtual_mac(vrid: int, family: Family) -> bytes:
    """00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6 (RFC 5798 section 7.3)."""
    prefix = VMAC_PREFIX_V4 if family is Family.V4 else VMAC_PREFIX_V6
    return prefix + bytes((vrid,))


def format_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)
