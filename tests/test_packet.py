"""The VRRP codec: independent vectors, golden bytes, round trips, fuzzing and scapy as oracle."""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.vrrp import VRRP, VRRPv3

from tests.builders import A
from vrrpd.core.constants import Family
from vrrpd.core.errors import DecodeError, DropReason
from vrrpd.core.packet import (
    Advertisement,
    ChecksumForm,
    decode,
    encode,
    internet_checksum,
    password_bytes,
    peek_vrid,
)

SRC4, MCAST4 = A("192.168.1.1"), A("224.0.0.18")
SRC6, MCAST6 = A("fe80::1"), A("ff02::12")
VIP = A("192.168.1.100")


def v2(**kw: object) -> Advertisement:
    fields: dict[str, object] = {
        "version": 2,
        "vrid": 51,
        "priority": 100,
        "interval_cs": 100,
        "addresses": (VIP,),
    }
    fields.update(kw)
    return Advertisement(**fields)  # type: ignore[arg-type]


def v3(**kw: object) -> Advertisement:
    return v2(**{"version": 3, **kw})


# ---------------------------------------------------------------- the independent vectors


def test_v2_vector() -> None:
    wire = encode(v2(), src=SRC4, dst=MCAST4)
    assert wire == bytes.fromhex("21 33 64 01 00 01 b8 bd c0 a8 01 64") + bytes(8)


def test_v3_vector_pseudo_header() -> None:
    assert encode(v3(), src=SRC4, dst=MCAST4) == bytes.fromhex(
        "31 33 64 01 00 64 06 22 c0 a8 01 64"
    )


def test_v3_vector_message_only() -> None:
    wire = encode(v3(), src=SRC4, dst=MCAST4, checksum_form=ChecksumForm.MESSAGE)
    assert wire == bytes.fromhex("31 33 64 01 00 64 a8 5a c0 a8 01 64")


def test_v3_vector_unicast_destination_in_pseudo_header() -> None:
    wire = encode(v3(), src=SRC4, dst=A("192.168.1.2"))
    assert wire[6:8] == bytes.fromhex("24 8a")


# ---------------------------------------------------------------- our own golden vectors (checked by scapy below)

GOLDEN_V3_IPV6 = bytes.fromhex(
    "31 33 64 01 00 64 3d 8f 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 01 00"
)
GOLDEN_V3_TWO_V4 = encode(v3(addresses=(VIP, A("192.168.1.101"))), src=SRC4, dst=MCAST4)


def test_v3_ipv6_golden() -> None:
    advert = v3(addresses=(A("2001:db8::100"),))
    assert encode(advert, src=SRC6, dst=MCAST6) == GOLDEN_V3_IPV6
    assert decode(GOLDEN_V3_IPV6, family=Family.V6, src=SRC6, dst=MCAST6).advert == advert


def test_v3_several_addresses_golden() -> None:
    # Checksum computed by scapy's VRRPv3 layer, independently of our code.
    assert bytes.fromhex("31 33 64 02 00 64 44 0f c0 a8 01 64 c0 a8 01 65") == GOLDEN_V3_TWO_V4


def test_v2_pass_authentication_golden() -> None:
    wire = encode(v2(auth_type=1, auth_data=password_bytes("secret")), src=SRC4, dst=MCAST4)
    assert wire[4] == 1
    assert wire[-8:] == b"secret\x00\x00"
    decoded = decode(wire, family=Family.V4, src=SRC4, dst=MCAST4).advert
    assert decoded.auth_type == 1
    assert decoded.auth_data == b"secret\x00\x00"


def test_password_is_truncated_to_eight_bytes_like_keepalived() -> None:
    assert password_bytes("longpassword") == b"longpass"


# ---------------------------------------------------------------- checksum forms


def test_decode_reports_the_checksum_form() -> None:
    pseudo = encode(v3(), src=SRC4, dst=MCAST4)
    message = encode(v3(), src=SRC4, dst=MCAST4, checksum_form=ChecksumForm.MESSAGE)
    assert (
        decode(pseudo, family=Family.V4, src=SRC4, dst=MCAST4).checksum_form is ChecksumForm.PSEUDO
    )
    assert (
        decode(message, family=Family.V4, src=SRC4, dst=MCAST4).checksum_form
        is ChecksumForm.MESSAGE
    )
    v2wire = encode(v2(), src=SRC4, dst=MCAST4)
    assert (
        decode(v2wire, family=Family.V4, src=SRC4, dst=MCAST4).checksum_form is ChecksumForm.MESSAGE
    )


def test_ipv6_has_no_message_only_form() -> None:
    advert = v3(addresses=(A("2001:db8::100"),))
    message_only = encode(advert, src=SRC6, dst=MCAST6, checksum_form=ChecksumForm.MESSAGE)
    assert message_only == GOLDEN_V3_IPV6  # the option only applies to IPv4
    wrong_dst = encode(advert, src=SRC6, dst=A("ff02::1"))
    with pytest.raises(DecodeError) as info:
        decode(wrong_dst, family=Family.V6, src=SRC6, dst=MCAST6)
    assert info.value.reason is DropReason.BAD_CHECKSUM


def test_internet_checksum_pads_odd_length() -> None:
    assert internet_checksum(b"\x01") == internet_checksum(b"\x01\x00") == 0xFEFF


# ---------------------------------------------------------------- refusals, each with its reason


def _flip(wire: bytes, index: int, value: int) -> bytes:
    return wire[:index] + bytes((value,)) + wire[index + 1 :]


V3WIRE = encode(v3(), src=SRC4, dst=MCAST4)
V2WIRE = encode(v2(), src=SRC4, dst=MCAST4)


def _refix(wire: bytes) -> bytes:
    """Recompute a v3/IPv4 pseudo-header checksum after a field was changed."""
    from vrrpd.core.packet import pseudo_header

    zeroed = wire[:6] + b"\0\0" + wire[8:]
    csum = internet_checksum(pseudo_header(SRC4, MCAST4, len(zeroed)) + zeroed)
    return zeroed[:6] + csum.to_bytes(2, "big") + zeroed[8:]


def _refix_v2(wire: bytes) -> bytes:
    zeroed = wire[:6] + b"\0\0" + wire[8:]
    return zeroed[:6] + internet_checksum(zeroed).to_bytes(2, "big") + zeroed[8:]


@pytest.mark.parametrize(
    ("wire", "family", "reason"),
    [
        (b"", Family.V4, DropReason.TRUNCATED),
        (V3WIRE[:7], Family.V4, DropReason.TRUNCATED),
        (_flip(V3WIRE, 0, 0x41), Family.V4, DropReason.BAD_VERSION),
        (_flip(V3WIRE, 0, 0x11), Family.V4, DropReason.BAD_VERSION),
        (V2WIRE, Family.V6, DropReason.BAD_VERSION),
        (_flip(V3WIRE, 0, 0x32), Family.V4, DropReason.BAD_TYPE),
        (V3WIRE[:-1], Family.V4, DropReason.LENGTH_MISMATCH),
        (_flip(V3WIRE, 3, 2), Family.V4, DropReason.LENGTH_MISMATCH),
        (V2WIRE[:-8], Family.V4, DropReason.LENGTH_MISMATCH),
        (_flip(V3WIRE, 6, 0), Family.V4, DropReason.BAD_CHECKSUM),
        (_flip(V2WIRE, 7, 0), Family.V4, DropReason.BAD_CHECKSUM),
        (_refix(_flip(V3WIRE, 1, 0)), Family.V4, DropReason.BAD_VRID),
        (_refix(bytes.fromhex("31 33 64 00 00 64 00 00")), Family.V4, DropReason.ZERO_COUNT),
        (_refix(_flip(_flip(V3WIRE, 4, 0xF0), 5, 0)), Family.V4, DropReason.ZERO_INTERVAL),
        (_refix_v2(_flip(V2WIRE, 5, 0)), Family.V4, DropReason.ZERO_INTERVAL),
        (_refix_v2(_flip(V2WIRE, 4, 2)), Family.V4, DropReason.BAD_AUTH_TYPE),
    ],
)
def test_refusals(wire: bytes, family: Family, reason: DropReason) -> None:
    src, dst = (SRC4, MCAST4) if family is Family.V4 else (SRC6, MCAST6)
    with pytest.raises(DecodeError) as info:
        decode(wire, family=family, src=src, dst=dst)
    assert info.value.reason is reason
    assert reason.value in str(info.value)


@pytest.mark.parametrize("wire", [V3WIRE, V2WIRE])
def test_bytes_after_the_message_are_not_part_of_it(wire: bytes) -> None:
    """RFC 5798 7.1: the packet must contain the whole message; a trailer (link padding)
    is neither refused nor fed to the checksum (review defect 9)."""
    plain = decode(wire, family=Family.V4, src=SRC4, dst=MCAST4)
    padded = decode(wire + b"\xde\xad\xbe\xef", family=Family.V4, src=SRC4, dst=MCAST4)
    assert padded == plain


def test_reserved_bits_are_ignored_on_receipt() -> None:
    wire = _refix(_flip(V3WIRE, 4, 0xF0))
    assert decode(wire, family=Family.V4, src=SRC4, dst=MCAST4).advert.interval_cs == 100


def test_peek_vrid() -> None:
    assert peek_vrid(V3WIRE) == 51
    assert peek_vrid(b"\x31") is None


@pytest.mark.parametrize(
    ("advert", "src", "dst", "message"),
    [
        (v2(interval_cs=150), SRC4, MCAST4, "whole seconds"),
        (v2(interval_cs=0), SRC4, MCAST4, "whole seconds"),
        (v2(auth_data=b"short"), SRC4, MCAST4, "8 bytes"),
        (v2(addresses=(A("2001:db8::1"),)), SRC6, MCAST6, "IPv4 only"),
        (v3(interval_cs=4096), SRC4, MCAST4, "1..4095"),
        (v3(version=4), SRC4, MCAST4, "unknown VRRP version"),
        (v3(addresses=(A("2001:db8::1"),)), SRC4, MCAST4, "one family"),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(
    advert: Advertisement,
    src: IPv4Address | IPv6Address,
    dst: IPv4Address | IPv6Address,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        encode(advert, src=src, dst=dst)


# ---------------------------------------------------------------- properties

v4_addresses = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
v6_addresses = st.builds(IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def adverts(draw: st.DrawFn) -> tuple[Advertisement, Family]:
    family = draw(st.sampled_from(Family))
    version = 3 if family is Family.V6 else draw(st.sampled_from((2, 3)))
    addresses = tuple(
        draw(
            st.lists(v4_addresses if family is Family.V4 else v6_addresses, min_size=1, max_size=20)
        )
    )
    if version == 2:
        interval_cs = draw(st.integers(1, 255)) * 100
        auth_type = draw(st.sampled_from((0, 1)))
        auth_data = draw(st.binary(min_size=8, max_size=8)) if auth_type else bytes(8)
    else:
        interval_cs, auth_type, auth_data = draw(st.integers(1, 4095)), 0, bytes(8)
    advert = Advertisement(
        version=version,
        vrid=draw(st.integers(1, 255)),
        priority=draw(st.integers(0, 255)),
        interval_cs=interval_cs,
        addresses=addresses,
        auth_type=auth_type,
        auth_data=auth_data,
    )
    return advert, family


def _ends(family: Family) -> tuple[IPv4Address | IPv6Address, IPv4Address | IPv6Address]:
    return (SRC4, MCAST4) if family is Family.V4 else (SRC6, MCAST6)


@given(adverts(), st.sampled_from(ChecksumForm))
def test_round_trip(case: tuple[Advertisement, Family], form: ChecksumForm) -> None:
    advert, family = case
    src, dst = _ends(family)
    decoded = decode(
        encode(advert, src=src, dst=dst, checksum_form=form), family=family, src=src, dst=dst
    )
    assert decoded.advert == advert


@given(st.binary(max_size=200), st.sampled_from(Family))
def test_any_bytes_give_an_advert_or_a_decode_error(data: bytes, family: Family) -> None:
    src, dst = _ends(family)
    try:
        decoded = decode(data, family=family, src=src, dst=dst)
    except DecodeError as error:
        assert isinstance(error.reason, DropReason)  # noqa: PT017 - either outcome is legal here
    else:
        assert 1 <= decoded.advert.vrid <= 255


@given(adverts(), st.integers(0, 1000), st.integers(1, 255))
def test_single_byte_corruption_never_raises_anything_else(
    case: tuple[Advertisement, Family], position: int, xor: int
) -> None:
    advert, family = case
    src, dst = _ends(family)
    wire = bytearray(encode(advert, src=src, dst=dst))
    wire[position % len(wire)] ^= xor
    with contextlib.suppress(DecodeError):
        decode(bytes(wire), family=family, src=src, dst=dst)


# ---------------------------------------------------------------- scapy as an independent oracle


@given(adverts())
def test_scapy_parses_what_we_encode(case: tuple[Advertisement, Family]) -> None:
    advert, family = case
    src, dst = _ends(family)
    wire = encode(advert, src=src, dst=dst)
    if family is Family.V4:
        packet = IP(bytes(IP(src=str(src), dst=str(dst), proto=112) / wire))
    else:
        packet = IPv6(bytes(IPv6(src=str(src), dst=str(dst), nh=112) / wire))
    layer = packet[VRRP] if advert.version == 2 else packet[VRRPv3]
    assert layer.vrid == advert.vrid
    assert layer.priority == advert.priority
    assert layer.ipcount == len(advert.addresses)
    assert [ip_address(a) for a in layer.addrlist] == list(advert.addresses)
    assert layer.adv == (advert.interval_cs // 100 if advert.version == 2 else advert.interval_cs)
    # scapy recomputes the checksum its own way; ours must be the same number.
    rebuilt = layer.copy()
    rebuilt.chksum = None
    carrier = (
        IP(src=str(src), dst=str(dst)) if family is Family.V4 else IPv6(src=str(src), dst=str(dst))
    )
    assert bytes(carrier / rebuilt)[-len(wire) :] == wire


@given(adverts())
def test_we_decode_what_scapy_builds(case: tuple[Advertisement, Family]) -> None:
    advert, family = case
    src, dst = _ends(family)
    addrlist = [str(a) for a in advert.addresses]
    if advert.version == 2:
        layer = VRRP(
            vrid=advert.vrid,
            priority=advert.priority,
            ipcount=len(addrlist),
            adv=advert.interval_cs // 100,
            addrlist=addrlist,
            authtype=advert.auth_type,
            auth1=int.from_bytes(advert.auth_data[:4], "big"),
            auth2=int.from_bytes(advert.auth_data[4:], "big"),
        )
        built = bytes(IP(src=str(src), dst=str(dst)) / layer)[20:]
    elif family is Family.V4:
        layer = VRRPv3(
            vrid=advert.vrid,
            priority=advert.priority,
            ipcount=len(addrlist),
            adv=advert.interval_cs,
            addrlist=addrlist,
        )
        built = bytes(IP(src=str(src), dst=str(dst)) / layer)[20:]
    else:
        layer = VRRPv3(
            vrid=advert.vrid,
            priority=advert.priority,
            ipcount=len(addrlist),
            adv=advert.interval_cs,
            addrlist=addrlist,
        )
        built = bytes(IPv6(src=str(src), dst=str(dst)) / layer)[40:]
    decoded = decode(built, family=family, src=src, dst=dst)
    assert decoded.advert == advert
    assert decoded.checksum_form is ChecksumForm.PSEUDO or advert.version == 2
