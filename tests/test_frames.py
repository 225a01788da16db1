"""Gratuitous ARP and unsolicited NA frames, checked field by field with scapy."""

from __future__ import annotations

import pytest
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from tests.builders import A
from vrrpd.core.arp import gratuitous_arp
from vrrpd.core.constants import Family, format_mac, virtual_mac
from vrrpd.core.ndisc import multicast_mac, unsolicited_na

MAC = bytes.fromhex("020000000011")


def test_virtual_mac() -> None:
    assert format_mac(virtual_mac(51, Family.V4)) == "00:00:5e:00:01:33"
    assert format_mac(virtual_mac(255, Family.V6)) == "00:00:5e:00:02:ff"


def test_gratuitous_arp_is_a_broadcast_request_for_the_vip() -> None:
    frame = Ether(gratuitous_arp(MAC, A("192.0.2.100")))
    assert frame.dst == "ff:ff:ff:ff:ff:ff"
    assert frame.src == "02:00:00:00:00:11"
    arp = frame[ARP]
    assert arp.op == 1
    assert arp.hwsrc == "02:00:00:00:00:11"
    assert arp.psrc == arp.pdst == "192.0.2.100"
    assert arp.hwdst == "ff:ff:ff:ff:ff:ff"  # as Keepalived sends it


def test_unsolicited_na_has_override_and_target_lladdr_and_a_valid_checksum() -> None:
    raw = unsolicited_na(MAC, A("2001:db8::100"))
    frame = Ether(raw)
    assert frame.dst == "33:33:00:00:00:01"
    ip6 = frame[IPv6]
    assert (ip6.src, ip6.dst, ip6.hlim) == ("2001:db8::100", "ff02::1", 255)
    na = frame[ICMPv6ND_NA]
    assert (na.R, na.S, na.O) == (0, 0, 1)
    assert na.tgt == "2001:db8::100"
    assert frame[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:00:11"
    # scapy recomputes the checksum; it must equal ours.
    expected = na.cksum
    na.cksum = None
    assert Ether(bytes(frame))[ICMPv6ND_NA].cksum == expected


def test_router_flag_when_forwarding() -> None:
    assert Ether(unsolicited_na(MAC, A("2001:db8::100"), router=True))[ICMPv6ND_NA].R == 1


def test_multicast_mac() -> None:
    assert multicast_mac(A("ff02::12")) == bytes.fromhex("333300000012")


@pytest.mark.parametrize(
    "builder", [lambda m: gratuitous_arp(m, A("192.0.2.1")), lambda m: unsolicited_na(m, A("::1"))]
)
def test_frames_refuse_a_bad_mac(builder: object) -> None:
    with pytest.raises(ValueError, match="6 bytes"):
        builder(b"\x00")  # type: ignore[operator]
