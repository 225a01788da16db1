"""The classic BPF socket filter (issue 16): run on a small interpreter here, and in a
real kernel by tests/lab/test_hostile.py."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import pytest

from vrrpd.adapters import rawsock
from vrrpd.adapters.rawsock import Accept, filter_program
from vrrpd.core.constants import Family
from vrrpd.driver.kernel import Kernel

Program = list[tuple[int, int, int, int]]


def run(program: Program, data: bytes, net: bytes = b"") -> int:
    """What the kernel returns for ``data`` (``net``: the IPv6 header before it)."""
    a = x = pc = 0

    def load(offset: int, size: int) -> int | None:
        if offset >= 1 << 31:
            offset -= 1 << 32
        source = data
        if offset < 0:
            source, offset = net, offset - rawsock.SKF_NET_OFF
        if offset + size > len(source):
            return None
        return int.from_bytes(source[offset : offset + size], "big")

    for _ in range(10_000):
        code, jt, jf, k = program[pc]
        pc += 1
        if code == 0x06:
            return k
        if code == 0xB1:
            value = load(k, 1)
            if value is None:
                return 0
            x = 4 * (value & 0x0F)
        elif code in (0x30, 0x20, 0x50):
            value = load(k + (x if code == 0x50 else 0), 1 if code != 0x20 else 4)
            if value is None:
                return 0  # out of the packet: the kernel drops it
            a = value
        elif code in (0x15, 0x35):
            taken = a == k if code == 0x15 else a >= k
            assert jt < 256
            assert jf < 256
            pc += jt if taken else jf
        else:
            raise AssertionError(f"opcode {code:#x}")
    raise AssertionError("no return")


def vrrp(vrid: int = 51, byte0: int = 0x31) -> bytes:
    return bytes([byte0, vrid, 100, 1, 0, 100, 0, 0]) + bytes(4)


def ipv4(payload: bytes, *, ttl: int = 255, src: str = "192.0.2.12", ihl: int = 5) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(payload), 0, 0, ttl, 112, 0,
        IPv4Address(src).packed, IPv4Address("224.0.0.18").packed,
    )  # fmt: skip
    return header + bytes(4 * (ihl - 5)) + payload


def ipv6_header(*, hop: int = 255, src: str = "fe80::12") -> bytes:
    return (
        struct.pack("!IHBB", 0x60000000, 12, 112, hop)
        + IPv6Address(src).packed
        + IPv6Address("ff02::12").packed
    )


def test_ipv4_passes_the_configured_vrid_version_and_ttl_only() -> None:
    program = filter_program(Family.V4, [Accept(51, 3, 255), Accept(52, 2, 255)])
    assert run(program, ipv4(vrrp(51))) > 0
    assert run(program, ipv4(vrrp(52, 0x21))) > 0
    assert run(program, ipv4(vrrp(51), ihl=6)) > 0  # IP options: offsets follow IHL
    assert run(program, ipv4(vrrp(53))) == 0  # another VRID
    assert run(program, ipv4(vrrp(51), ttl=254)) == 0
    assert run(program, ipv4(vrrp(51, 0x21))) == 0  # v2 to a v3 instance
    assert run(program, ipv4(vrrp(51, 0x32))) == 0  # not an ADVERTISEMENT
    assert run(program, ipv4(vrrp(51, 0x41))) == 0
    assert run(program, ipv4(b"\x31")) == 0  # too short to hold a VRID


def test_unicast_peers_and_max_hops() -> None:
    peers = (ip_address("192.0.2.12"), ip_address("192.0.2.13"))
    program = filter_program(Family.V4, [Accept(53, 3, 253, peers)])
    assert run(program, ipv4(vrrp(53), src="192.0.2.13", ttl=253)) > 0
    assert run(program, ipv4(vrrp(53), src="192.0.2.12")) > 0
    assert run(program, ipv4(vrrp(53), src="192.0.2.12", ttl=252)) == 0
    assert run(program, ipv4(vrrp(53), src="192.0.2.50")) == 0  # not a peer


def test_ipv6_checks_the_hop_limit_and_source_through_the_network_header() -> None:
    peers = (ip_address("fe80::13"), ip_address("fe80::12"))
    program = filter_program(Family.V6, [Accept(51, 3, 255), Accept(53, 3, 255, peers)])
    assert run(program, vrrp(51), ipv6_header()) > 0
    assert run(program, vrrp(51), ipv6_header(hop=1)) == 0
    assert run(program, vrrp(52), ipv6_header()) == 0
    assert run(program, vrrp(53), ipv6_header()) > 0
    assert run(program, vrrp(53), ipv6_header(src="fe80::12:0")) == 0
    assert run(program, vrrp(53), ipv6_header(src="fe80::50")) == 0


def test_many_peers_are_left_to_the_agent_and_200_instances_fit() -> None:
    peers = tuple(ip_address(f"2001:db8::{i}") for i in range(1, 40))
    program = filter_program(Family.V6, [Accept(51, 3, 255, peers)])
    assert run(program, vrrp(51), ipv6_header(src="2001:db8::99")) > 0
    program = filter_program(Family.V4, [Accept(v, 3, 255) for v in range(1, 201)])
    assert len(program) <= rawsock.BPF_MAXINSNS
    assert run(program, ipv4(vrrp(200))) > 0
    assert run(program, ipv4(vrrp(201))) == 0
    assert run(filter_program(Family.V4, []), ipv4(vrrp(51))) == 0


def test_the_filter_is_attached_again_only_when_the_instances_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.builders import instance

    attached: list[Any] = []
    monkeypatch.setattr(
        "vrrpd.driver.kernel.attach_filter", lambda sock, program: attached.append(program)
    )
    kernel = Kernel.__new__(Kernel)
    kernel.sockets = {("eth0", Family.V4): type("S", (), {"sock": None})()}  # type: ignore[dict-item]
    kernel.filters = {}
    kernel.filtering = True
    kernel.lanes, kernel.followed, kernel._lane_filters, kernel._lane_masters = {}, {}, {}, {}
    web = instance(vrid=51)
    kernel.filter_sockets((web,))
    kernel.filter_sockets((web,))
    assert len(attached) == 1
    kernel.filter_sockets((web, instance("api", vrid=52), instance("v6", vips=("2001:db8::1/64",))))
    assert len(attached) == 2
    assert run(attached[-1], ipv4(vrrp(52))) > 0


def test_the_followed_masters_lane_and_the_main_socket_split_by_source() -> None:
    """Issue 16: a flood of our own VRID at TTL 255 passes any VRID/TTL filter and fills
    the socket ahead of the followed master's adverts. The followed masters get a socket of
    their own (``only``), the main socket drops them (``exclude``): every packet once."""
    accepts = [Accept(51, 3, 255), Accept(53, 3, 255, (ip_address("192.0.2.11"),))]
    masters = (ip_address("192.0.2.11"), ip_address("192.0.2.13"))
    lane = filter_program(Family.V4, accepts, only=masters)
    main = filter_program(Family.V4, accepts, exclude=masters)
    for src, vrid, on_lane, on_main in (
        ("192.0.2.11", 51, True, False),
        ("192.0.2.13", 51, True, False),
        ("192.0.2.11", 53, True, False),
        ("192.0.2.50", 51, False, True),  # the flood: the main socket only
        ("192.0.2.50", 53, False, False),  # not a peer: neither
        ("192.0.2.13", 52, False, False),  # a followed master, another VRID: neither
    ):
        packet = ipv4(vrrp(vrid), src=src)
        assert (run(lane, packet) > 0, run(main, packet) > 0) == (on_lane, on_main), (src, vrid)
    assert run(lane, ipv4(vrrp(51), src="192.0.2.11", ttl=7)) == 0  # the checks still apply
    assert run(filter_program(Family.V4, accepts, only=()), ipv4(vrrp(51))) == 0


def test_the_lane_on_ipv6_compares_all_sixteen_bytes() -> None:
    masters = (ip_address("fe80::11"), ip_address("fe80::1:11"))
    lane = filter_program(Family.V6, [Accept(61, 3, 255)], only=masters)
    main = filter_program(Family.V6, [Accept(61, 3, 255)], exclude=masters)
    for src, on_lane in (("fe80::11", True), ("fe80::1:11", True), ("fe80::12", False),
                         ("fe81::11", False), ("2001:db8::50", False)):  # fmt: skip
        header = ipv6_header(src=src)
        assert (run(lane, vrrp(61), header) > 0) == on_lane, src
        assert (run(main, vrrp(61), header) > 0) != on_lane, src
    for program in (lane, main):  # what SO_ATTACH_FILTER packs: every field in range
        assert b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    many = tuple(ip_address(f"fe80::{i:x}") for i in range(1, 40))
    lane = filter_program(Family.V6, [Accept(61, 3, 255)], only=many)
    main = filter_program(Family.V6, [Accept(61, 3, 255)], exclude=many)
    for address in many:  # beyond MAX_FOLLOWED the main socket carries them: still once
        header = ipv6_header(src=str(address))
        assert (run(lane, vrrp(61), header) > 0) != (run(main, vrrp(61), header) > 0)


def test_following_a_new_master_moves_its_adverts_to_the_lane_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.builders import instance

    attached: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        "vrrpd.driver.kernel.attach_filter",
        lambda sock, program: attached.append((sock, program)),
    )
    kernel = Kernel.__new__(Kernel)
    key = ("eth0", Family.V4)
    kernel.sockets = {key: type("S", (), {"sock": "main"})()}
    kernel.lanes = {key: type("S", (), {"sock": "lane"})()}
    kernel.filters, kernel.followed, kernel._lane_filters, kernel._lane_masters = {}, {}, {}, {}
    kernel.filtering = True
    kernel.filter_sockets((instance(vrid=51),))
    attached.clear()
    master = ip_address("192.0.2.12")
    kernel.follow({key: (master,)})
    assert [sock for sock, _ in attached] == ["lane", "main"]  # never a moment with neither
    lane, main = attached[0][1], attached[1][1]
    assert run(lane, ipv4(vrrp(51), src="192.0.2.12")) > 0
    assert run(main, ipv4(vrrp(51), src="192.0.2.12")) == 0
    assert run(main, ipv4(vrrp(51), src="192.0.2.50")) > 0
    attached.clear()
    kernel.follow({key: (master,)})
    assert attached == []  # unchanged: nothing attached again
    kernel.follow({})
    assert [sock for sock, _ in attached] == ["main", "lane"]
