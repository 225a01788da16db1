"""The raw rtnetlink address messages, byte for byte (rtnetlink(7)), and ack parsing."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import tempfile
from ipaddress import ip_interface

import pytest

from vrrpd.adapters.netlink import Ledger, Netlink
from vrrpd.adapters.rtnl import (
    IFA_ADDRESS,
    IFA_CACHEINFO,
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
    Rtnl,
    RtnlError,
    acks,
    address_message,
)
from vrrpd.core.config import VirtualAddress


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


def error(seq: int, code: int) -> bytes:
    inner = struct.pack("=IHHII", 40, RTM_NEWADDR, 0, seq, 0)
    return (
        struct.pack("=IHHII", 16 + 4 + 16, NLMSG_ERROR, 0, seq, 0) + struct.pack("=i", code) + inner
    )


def test_acks_and_errors_are_read_from_one_datagram() -> None:
    data = error(5, 0) + error(6, -99) + struct.pack("=IHHII", 16, 3, 0, 7, 0)  # + NLMSG_DONE
    assert acks(data) == [(5, 0), (6, 99)]
    assert acks(b"\0" * 8) == []
    assert acks(struct.pack("=IHHII", 0, NLMSG_ERROR, 0, 1, 0)) == []  # a zero length stops


class FakeSocket:
    """What the kernel answers, datagram by datagram; what we sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, str]] = []
        self.queue: list[bytes | OSError] = []

    def send(self, msg: bytes) -> int:
        _, kind, _, seq, _ = struct.unpack_from("=IHHII", msg)
        address = ".".join(str(b) for b in _attrs(msg[24:])[IFA_LOCAL])
        self.sent.append((seq, kind, address))
        return len(msg)

    def recv(self, size: int) -> bytes:
        if not self.queue:
            raise BlockingIOError
        item = self.queue.pop(0)
        if isinstance(item, OSError):
            raise item
        return item


def _fake_rtnl() -> tuple[Rtnl, FakeSocket]:
    rtnl = Rtnl()
    sock = FakeSocket()
    rtnl._sock = sock  # type: ignore[assignment]
    return rtnl, sock


def test_enobufs_resends_what_lost_its_answer_and_fails_nothing() -> None:
    """Defect 14.12: ENOBUFS failed every pending request, also those whose acks were
    still queued. Now the queued answers are read and only the lost ones sent again."""

    async def scenario() -> None:
        rtnl, sock = _fake_rtnl()
        vips = [ip_interface(f"192.0.2.{n}/24") for n in (1, 2, 3)]
        tasks = [asyncio.ensure_future(rtnl.replace(3, v)) for v in vips]
        await asyncio.sleep(0)
        assert [s for s, _, _ in sock.sent] == [1, 2, 3]
        sock.queue = [OSError(errno.ENOBUFS, "No buffer space available"), error(1, 0)]
        rtnl._readable()  # seq 1's ack was still queued; 2 and 3 lost theirs
        assert sock.sent[3:] == [(4, RTM_NEWADDR, "192.0.2.2"), (5, RTM_NEWADDR, "192.0.2.3")]
        sock.queue = [error(4, 0) + error(5, 0)]
        rtnl._readable()
        await asyncio.gather(*tasks)
        assert rtnl.resent == 2

    asyncio.run(scenario())


def test_after_enobufs_a_request_superseded_by_a_later_one_is_not_sent_again() -> None:
    """A delete whose answer was lost must not be replayed after a later add of the same
    address: that would remove the VIP the add put back."""

    async def scenario() -> None:
        rtnl, sock = _fake_rtnl()
        vip = ip_interface("192.0.2.1/24")
        delete = asyncio.ensure_future(rtnl.delete(3, vip))
        add = asyncio.ensure_future(rtnl.replace(3, vip))
        await asyncio.sleep(0)
        sock.queue = [OSError(errno.ENOBUFS, "No buffer space available")]
        rtnl._readable()
        assert sock.sent[2:] == [(3, RTM_NEWADDR, "192.0.2.1")]  # only the add, again
        sock.queue = [error(3, -errno.EEXIST)]
        rtnl._readable()
        await delete
        with pytest.raises(RtnlError) as raised:
            await add
        assert raised.value.code == errno.EEXIST

    asyncio.run(scenario())


def test_ipv6_vips_are_added_deprecated_for_source_selection() -> None:
    """Defect 14.13: an IPv6 VIP with an infinite preferred lifetime became the source of
    the master's own connections, which broke when the VIP moved."""
    msg = address_message(
        RTM_NEWADDR, 1, 2, ip_interface("2001:db8::100/64"), ifa_flags=0x02, preferred_lft=0
    )
    assert struct.unpack("=IIII", _attrs(msg[24:])[IFA_CACHEINFO]) == (0, 0xFFFFFFFF, 0, 0)
    assert IFA_CACHEINFO not in _attrs(
        address_message(RTM_NEWADDR, 1, 2, ip_interface("192.0.2.1/24"))[24:]
    )

    calls: list[dict[str, object]] = []

    def start_replace(index: int, address: object, **kwargs: object) -> asyncio.Future[None]:
        calls.append(kwargs)
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        answer.set_result(None)
        return answer

    async def scenario(tmp: str) -> None:
        netlink = Netlink(Ledger(f"{tmp}/state"))
        netlink.rtnl.start_replace = start_replace  # type: ignore[method-assign]
        await netlink.add_vip(2, "eth0", VirtualAddress(ip_interface("2001:db8::100/64")))
        await netlink.add_vip(2, "eth0", VirtualAddress(ip_interface("192.0.2.100/24")))

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(tmp))
    assert calls[0] == {"ifa_flags": 0x02, "preferred_lft": 0}
    assert "preferred_lft" not in calls[1]


def test_dumps_on_the_request_socket_wait_their_turn() -> None:
    """CI: a reload's re-read of the kernel met the event-driven one on the same socket;
    the kernel refused the second dump (EBUSY) and the agent died. Read-only dumps of
    this namespace, many at once."""

    async def scenario(tmp: str) -> None:
        netlink = Netlink(Ledger(f"{tmp}/state"))
        await netlink.open()
        try:
            for _ in range(30):
                await asyncio.gather(
                    netlink.links(),
                    netlink.addresses(),
                    netlink.addresses(),
                    netlink.remove_stale_lingers(),
                )
        finally:
            await netlink.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(tmp))
