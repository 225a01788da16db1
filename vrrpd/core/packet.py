"""VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568).

VRRPv2 (IPv4 only)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |   Auth Type   |   Adver Int   |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         IP Address (1..n)                     |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                     Authentication Data (1)                   |
    |                     Authentication Data (2)                   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Adver Int is in seconds; the checksum covers the VRRP message only.

VRRPv3 (IPv4 or IPv6, the family set by the carrying IP header)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |(rsvd) |     Max Adver Int     |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       IPvX Address(es) (1..n)                 |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Max Adver Int is 12 bits of centiseconds. The checksum covers a pseudo-header
    plus the message (RFC 5798, and what Keepalived and FRR require on IPv4), or,
    for IPv4 only, the message alone (RFC 9568, Cisco). Both forms are decoded;
    the caller learns which one matched and decides whether to accept it.

The address family always comes from the caller (the socket it arrived on).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from vrrpd.core.constants import (
    ADVERT_TYPE,
    AUTH_NONE,
    AUTH_PASS,
    CENTISECONDS,
    IPPROTO_VRRP,
    V2_AUTH_LEN,
    V2_HEADER_LEN,
    V3_HEADER_LEN,
    V3_INTERVAL_MASK,
    Family,
    IPAddress,
)
from vrrpd.core.errors import DecodeError, DropReason


class ChecksumForm(enum.Enum):
    """How a VRRPv3-over-IPv4 checksum was computed (see the module docstring)."""

    PSEUDO = "pseudo-header"
    MESSAGE = "message-only"


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One VRRP ADVERTISEMENT, version independent.

    ``interval_cs`` is in centiseconds for both versions so the timers have one unit;
    a v2 interval is a whole number of seconds on the wire (multiples of 100 here).
    ``auth_data`` is v2's 8 authentication bytes (a Keepalived PASS password).
    """

    version: int
    vrid: int
    priority: int
    interval_cs: int
    addresses: tuple[IPAddress, ...]
    auth_type: int = AUTH_NONE
    auth_data: bytes = bytes(V2_AUTH_LEN)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded advertisement and the checksum form that matched (always PSEUDO for IPv6
    and MESSAGE for v2)."""

    advert: Advertisement
    checksum_form: ChecksumForm


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement checksum; an odd tail byte is padded with zero."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: IPAddress, dst: IPAddress, length: int) -> bytes:
    """The RFC 8200 section 8.1 pseudo-header (for IPv4 its sum equals the RFC 793 form)."""
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, IPPROTO_VRRP, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, IPPROTO_VRRP)


def password_bytes(password: str) -> bytes:
    """Keepalived's PASS authentication: up to 8 bytes, zero padded."""
    raw = password.encode()[:V2_AUTH_LEN]
    return raw.ljust(V2_AUTH_LEN, b"\x00")


def encode(
    advert: Advertisement,
    *,
    src: IPAddress,
    dst: IPAddress,
    checksum_form: ChecksumForm = ChecksumForm.PSEUDO,
) -> bytes:
    """Bytes of ``advert`` as sent from ``src`` to ``dst`` (needed for the v3 pseudo-header).

    Raises ValueError for an advertisement that cannot be expressed on the wire; the
    configuration validation makes that unreachable from a running agent.
    """
    family = Family.V4 if src.version == 4 else Family.V6
    if any(a.version != src.version for a in advert.addresses) or dst.version != src.version:
        raise ValueError("addresses of one family only")
    body = b"".join(a.packed for a in advert.addresses)
    count = len(advert.addresses)
    if advert.version == 2:
        if family is Family.V6:
            raise ValueError("VRRPv2 is IPv4 only")
        seconds, rest = divmod(advert.interval_cs, CENTISECONDS)
        if rest or not 1 <= seconds <= 255:
            raise ValueError(
                f"VRRPv2 interval must be whole seconds 1..255 (got {advert.interval_cs} cs)"
            )
        if len(advert.auth_data) != V2_AUTH_LEN:
            raise ValueError("VRRPv2 authentication data is 8 bytes")
        head = struct.pack(
            "!BBBBBB",
            0x20 | ADVERT_TYPE,
            advert.vrid,
            advert.priority,
            count,
            advert.auth_type,
            seconds,
        )
        message = head + b"\x00\x00" + body + advert.auth_data
        checksum = internet_checksum(message)
    elif advert.version == 3:
        if not 1 <= advert.interval_cs <= V3_INTERVAL_MASK:
            raise ValueError(f"VRRPv3 interval must be 1..4095 cs (got {advert.interval_cs})")
        head = struct.pack(
            "!BBBBH", 0x30 | ADVERT_TYPE, advert.vrid, advert.priority, count, advert.interval_cs
        )
        message = head + b"\x00\x00" + body
        if family is Family.V4 and checksum_form is ChecksumForm.MESSAGE:
            checksum = internet_checksum(message)
        else:
            checksum = internet_checksum(pseudo_header(src, dst, len(message)) + message)
    else:
        raise ValueError(f"unknown VRRP version {advert.version}")
    return message[:6] + struct.pack("!H", checksum) + message[8:]


def peek_vrid(data: bytes) -> int | None:
    """The VRID byte of a packet too broken to decode, so its error can be counted per instance."""
    return data[1] if len(data) >= 2 else None


def decode(data: bytes, *, family: Family, src: IPAddress, dst: IPAddress) -> Decoded:
    """Parse and verify one VRRP message (the IP payload); raise only :class:`DecodeError`.

    ``src`` and ``dst`` are the carrying IP header's addresses, needed for the v3
    pseudo-header. Policy checks that depend on an instance (interval, authentication,
    accepted checksum form, address list) are the virtual router's, not the codec's.
    """
    if len(data) < V3_HEADER_LEN:
        raise DecodeError(DropReason.TRUNCATED, f"{len(data)} bytes, the header alone is 8")
    version, kind = data[0] >> 4, data[0] & 0x0F
    if version not in (2, 3) or (version == 2 and family is Family.V6):
        raise DecodeError(DropReason.BAD_VERSION, f"version {version} over IP{family}")
    if kind != ADVERT_TYPE:
        raise DecodeError(DropReason.BAD_TYPE, f"type {kind}")
    vrid, priority, count = data[1], data[2], data[3]
    alen = family.address_length
    expected = (
        (V2_HEADER_LEN + count * alen + V2_AUTH_LEN)
        if version == 2
        else (V3_HEADER_LEN + count * alen)
    )
    if len(data) < expected:
        raise DecodeError(
            DropReason.LENGTH_MISMATCH,
            f"{len(data)} bytes for {count} address(es), expected {expected}",
        )
    # RFC 5798 7.1 requires only that the packet *contains* the whole message: bytes
    # past it (link padding, a sender's trailer) are not part of it, nor of its checksum.
    data = data[:expected]
    form = _verify_checksum(data, version=version, family=family, src=src, dst=dst)
    if vrid == 0:
        raise DecodeError(DropReason.BAD_VRID)
    if count == 0:
        raise DecodeError(DropReason.ZERO_COUNT)
    if version == 2:
        auth_type, interval_cs = data[4], data[5] * CENTISECONDS
        auth_data = data[expected - V2_AUTH_LEN : expected]
        if auth_type not in (AUTH_NONE, AUTH_PASS):
            raise DecodeError(DropReason.BAD_AUTH_TYPE, f"type {auth_type}")
    else:
        auth_type, auth_data = AUTH_NONE, bytes(V2_AUTH_LEN)
        interval_cs = struct.unpack_from("!H", data, 4)[0] & V3_INTERVAL_MASK
    if interval_cs == 0:
        raise DecodeError(DropReason.ZERO_INTERVAL)
    start = V2_HEADER_LEN
    make = IPv4Address if family is Family.V4 else IPv6Address
    addresses = tuple(make(data[start + i * alen : start + (i + 1) * alen]) for i in range(count))
    advert = Advertisement(
        version=version,
        vrid=vrid,
        priority=priority,
        interval_cs=interval_cs,
        addresses=addresses,
        auth_type=auth_type,
        auth_data=auth_data,
    )
    return Decoded(advert, form)


def _verify_checksum(
    data: bytes, *, version: int, family: Family, src: IPAddress, dst: IPAddress
) -> ChecksumForm:
    if version == 2:
        if internet_checksum(data) == 0:
            return ChecksumForm.MESSAGE
        raise DecodeError(DropReason.BAD_CHECKSUM, "v2 message checksum")
    if internet_checksum(pseudo_header(src, dst, len(data)) + data) == 0:
        return ChecksumForm.PSEUDO
    if family is Family.V4 and internet_checksum(data) == 0:
        return ChecksumForm.MESSAGE
    raise DecodeError(DropReason.BAD_CHECKSUM, f"v3 over IP{family}, neither form matches")
