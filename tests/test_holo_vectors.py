"""vrrpd held against another implementation's test suite: holo-routing/holo's VRRP
packet vectors (holo-vrrp/tests/packet/) and conformance scenarios
(holo-vrrp/tests/conformance/), translated into vrrpd's terms: their inputs and
expected outcomes, not their code. Their 10.0.1.0/24 lab is mapped onto 192.0.2.0/24.

Where the two disagree, the docstring says which is right by the RFC:

* all-zero packets: holo reports "too short" / "too long", vrrpd "bad version". Both
  drop. RFC 5798 7.1 lists the version check before the length check, so vrrpd's
  reason follows the RFC's order.
* a packet longer than its message: holo refuses it as too long; vrrpd accepts it.
  RFC 5798 7.1 (and 3768 7.1) require only that the packet *contains* the complete
  message: vrrpd is right.
* more than 16 addresses: holo refuses a count of 17 as such; vrrpd refuses it as a
  length mismatch (the count is one byte, up to 255, and the RFCs set no lower cap).
  Both drop; the RFCs side with vrrpd on the limit.
* the GARP source: holo always announces from the virtual MAC (RFC 5798 7.3); vrrpd
  does so with ``use_vmac``, and by default from the interface's MAC, as Keepalived
  does. The RFC is with holo; vrrpd's default is the deployed world's, documented in
  docs/configuration.md (``use_vmac``).
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from tests.builders import config, instance
from tests.harness import Harness, kinds
from vrrpd.core.actions import SendAdvert, SendGratuitousArp
from vrrpd.core.arp import gratuitous_arp
from vrrpd.core.constants import Family
from vrrpd.core.errors import DecodeError, DropReason
from vrrpd.core.packet import decode
from vrrpd.core.state import State
from vrrpd.sim import Lan

SRC = IPv4Address("192.0.2.3")
GROUP = IPv4Address("224.0.0.18")

# holo-vrrp/tests/packet/vrrp.rs, valid_pkt_data(): v2, VRID 51, priority 101, one address
HOLO_V2 = bytes.fromhex("21336501 000154bd c0a86464 00000000 00000000")


def _decode(data: bytes) -> object:
    return decode(data, family=Family.V4, src=SRC, dst=GROUP)


def test_holo_valid_v2_packet_decodes_to_its_fields() -> None:
    advert = _decode(HOLO_V2).advert  # type: ignore[attr-defined]
    assert (advert.version, advert.vrid, advert.priority, advert.interval_cs) == (2, 51, 101, 100)
    assert advert.addresses == (IPv4Address("192.168.100.100"),)
    assert advert.auth_type == 0


@pytest.mark.parametrize(
    ("data", "reason", "holo"),
    [
        (bytes(10), DropReason.BAD_VERSION, "TooShort(10)"),
        (bytes(100), DropReason.BAD_VERSION, "TooLong(100)"),
        (HOLO_V2[:3] + bytes([17]) + HOLO_V2[4:], DropReason.LENGTH_MISMATCH, "AddressCount(17)"),
        (HOLO_V2[:3] + bytes([3]) + HOLO_V2[4:], DropReason.LENGTH_MISMATCH, "CorruptedLength"),
    ],
)
def test_holo_refusals_are_refusals_here(data: bytes, reason: DropReason, holo: str) -> None:
    with pytest.raises(DecodeError) as info:
        _decode(data)
    assert info.value.reason is reason, f"holo says {holo}"


def test_a_packet_longer_than_its_message_is_accepted_unlike_holo() -> None:
    """RFC 5798 7.1: the packet must *contain* the message (see the module docstring)."""
    assert _decode(HOLO_V2 + bytes(80)) == _decode(HOLO_V2)


def test_our_gratuitous_arp_has_the_fields_of_holos() -> None:
    """holo's master-down GARP: hw 1, proto 0x0800, 6/4, request, sender = target = VIP,
    target hardware broadcast, Ethernet to broadcast."""
    mac = bytes.fromhex("00005e000101")
    frame = gratuitous_arp(mac, IPv4Address("192.0.2.5"))
    assert frame[:6] == b"\xff" * 6
    assert frame[6:12] == mac
    assert frame[12:14] == b"\x08\x06"
    arp = frame[14:]
    assert arp[:8] == bytes.fromhex("0001 0800 06 04 0001")
    assert arp[8:14] == mac
    assert arp[14:18] == arp[24:28] == IPv4Address("192.0.2.5").packed
    assert arp[18:24] == b"\xff" * 6


V2 = {"version": 2, "advert_interval": 1.0, "vips": ("192.0.2.5/24",), "vrid": 1}


def test_holo_packet_error1_a_version_error_is_counted_and_changes_nothing() -> None:
    h = Harness(config(instance(**V2, priority=30)))  # type: ignore[arg-type]
    h.receive(30, src=SRC, at=1.0, version=3)
    stats = h.node.statistics().instances["web"]
    assert stats.counters["version_errors"] == 1
    assert h.state is State.BACKUP


def test_holo_packet_error2_a_v2_interval_error_drops_the_advert() -> None:
    h = Harness(config(instance(**V2, priority=30)))  # type: ignore[arg-type]
    assert kinds(h.receive(30, src=SRC, at=1.0, interval_cs=9900)) == ["PacketDropped"]
    assert h.node.statistics().instances["web"].counters["adv_interval_errors"] == 1


def test_holo_packet_error3_an_unknown_vrid_is_a_vrid_error() -> None:
    h = Harness(config(instance(**V2, priority=30)))  # type: ignore[arg-type]
    h.receive(30, src=SRC, at=1.0, vrid=100)
    assert h.node.statistics().vrid_errors == 1


def test_holo_packet1_a_master_answers_priority_zero_with_its_own_advert() -> None:
    """RFC 5798 6.4.3: Priority 0 received by the Master -> send an ADVERTISEMENT."""
    h = Harness(config(instance(**V2, priority=30)))  # type: ignore[arg-type]
    h.advance(10.0)
    assert h.state is State.MASTER
    sent = [a for a in h.receive(0, src=SRC, at=10.5) if isinstance(a, SendAdvert)]
    assert [a.priority for a in sent] == [30]


def test_holo_master_down_timer1_advert_then_garp() -> None:
    """No master heard: after Master_Down_Interval (3 + 246/256 s at priority 10) the
    backup advertises at its priority, then announces the VIP."""
    h = Harness(config(instance(**V2, priority=10)))  # type: ignore[arg-type]
    actions = h.advance(3.9609375)
    assert h.state is State.MASTER
    first = [a for a in actions if isinstance(a, SendAdvert | SendGratuitousArp)]
    assert isinstance(first[0], SendAdvert)
    assert first[0].priority == 10
    assert isinstance(first[1], SendGratuitousArp)
    assert first[1].addresses == (IPv4Address("192.0.2.5"),)


@pytest.mark.parametrize(("version", "interval"), [(2, 1.0), (3, 0.01)])
def test_holo_three_router_topologies_elect_the_priority_30_router(
    version: int, interval: float
) -> None:
    """holo's v2/v3 topo 1: rt1/rt2/rt3 at priorities 10/20/30 on one segment (v3 with a
    10 ms interval and two VIPs): rt3 becomes the only master."""
    lan = Lan()
    vips = ("192.0.2.5/24", "192.0.2.6/24") if version == 3 else ("192.0.2.5/24",)
    for name, priority in (("rt1", 10), ("rt2", 20), ("rt3", 30)):
        cfg = config(
            instance(
                vrid=1, version=version, advert_interval=interval, priority=priority, vips=vips
            )
        )
        lan.add_host(name, cfg, f"192.0.2.{priority // 10}")
    lan.start("rt1", "rt2", "rt3")
    lan.run_for(10 * interval + 5)
    assert lan.masters("web") == ["rt3"]
    assert lan.holders("192.0.2.5") == ["rt3"]
