"""The raw rtnetlink address messages, byte for byte (rtnetlink(7)), and ack parsing."""

from __future__ import annotations

import socket
import struct
from ipaddress import ip_interface

from vrrpd.adapters.rtnl import (
    IFA_ADDRESS,
    IFA_FLAGS,
    IFA_LABEL,
    IFA_LOCAL,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    RTM_DELADDR,
    RTM_NEWADDR,
    acks,
    address_message,
)


def _attrs(body: bytes) -> dict[int, bytes]:
    out, offset = {}, 0
    while offset < len(body):
        length, kind = struct.unpack_from("=HH", body, offset)
        out[kind] = body[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return out


def test_an_ipv4_replace_with_a_label() -> None:
    msg = address_message(RTM_NEWADDR, 7, 3, ip_interface("192.0.2.100/24"), label="eth0:vip")
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", msg)
    assert (length, kind, seq, pid) == (len(msg), RTM_NEWADDR, 7, 0)
    assert flags == NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
    assert struct.unpack_from("=BBBBI", msg, 16) == (socket.AF_INET, 24, 0, 0, 3)
    attrs = _attrs(msg[24:])
    assert attrs[IFA_LOCAL] == attrs[IFA_ADDRESS] == bytes([192, 0, 2, 100])
    assert attrs[IFA_LABEL] == b"eth0:vip\0"
    assert len(msg) % 4 == 0


def test_an_ipv6_replace_without_dad_and_a_delete() -> None:
    msg = address_message(RTM_NEWADDR, 1, 2, ip_interface("2001:db8::100/64"), ifa_flags=0x02)
    assert struct.unpack_from("=BBBBI", msg, 16) == (socket.AF_INET6, 64, 0, 0, 2)
    attrs = _attrs(msg[24:])
    assert attrs[IFA_LOCAL] == ip_interface("2001:db8::100/64").ip.packed
    assert struct.unpack("=I", attrs[IFA_FLAGS]) == (0x02,)
    gone = address_message(RTM_DELADDR, 2, 2, ip_interface("2001:db8::100/64"))
    assert struct.unpack_from("=IHHII", gone)[1:3] == (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)
    assert IFA_FLAGS not in _attrs(gone[24:])


def test_acks_and_errors_are_read_from_one_datagram() -> None:
    def error(seq: int, code: int) -> bytes:
        inner = struct.pack("=IHHII", 40, RTM_NEWADDR, 0, seq, 0)
        return (
            struct.pack("=IHHII", 16 + 4 + 16, NLMSG_ERROR, 0, seq, 0)
            + struct.pack("=i", code)
            + inner
        )

    data = error(5, 0) + error(6, -99) + struct.pack("=IHHII", 16, 3, 0, 7, 0)  # + NLMSG_DONE
    assert acks(data) == [(5, 0), (6, 99)]
    assert acks(b"\0" * 8) == []
    assert acks(struct.pack("=IHHII", 0, NLMSG_ERROR, 0, 1, 0)) == []  # a zero length stops
