"""`vrrpd sniff`'s pure half: frames described, and the summary of a capture."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from vrrpd.core.arp import gratuitous_arp
from vrrpd.core.constants import MULTICAST_V4
from vrrpd.core.ndisc import unsolicited_na
from vrrpd.core.packet import Advertisement, ChecksumForm, encode, internet_checksum
from vrrpd.sniff import Summary, describe, line

MAC = bytes.fromhex("020000000001")


def _frame(src: str, priority: int, *, vrid: int = 51, interval_cs: int = 100, version: int = 3,
           form: ChecksumForm = ChecksumForm.PSEUDO, ttl: int = 255) -> bytes:  # fmt: skip
    source = IPv4Address(src)
    advert = Advertisement(version, vrid, priority, interval_cs, (IPv4Address("192.0.2.100"),))
    payload = encode(advert, src=source, dst=MULTICAST_V4, checksum_form=form)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0,
                         source.packed, MULTICAST_V4.packed)  # fmt: skip
    header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
    ethernet = bytes.fromhex("01005e000012") + MAC + b"\x08\x00"
    return ethernet + header + payload


def test_an_advert_is_described_with_every_field() -> None:
    record = describe(_frame("192.0.2.11", 150), 1000.25)
    assert record is not None
    assert {k: record[k] for k in ("src", "vrid", "priority", "version", "interval", "ttl")} == {
        "src": "192.0.2.11", "vrid": 51, "priority": 150, "version": 3, "interval": 1.0, "ttl": 255,
    }  # fmt: skip
    assert record["checksum"] == "pseudo-header"
    assert record["addresses"] == ["192.0.2.100"]
    assert "192.0.2.11 v3 VRID 51 prio 150 every 1s [192.0.2.100] pseudo-header TTL 255" in line(
        record
    )


def test_a_refused_frame_says_why() -> None:
    broken = bytearray(_frame("192.0.2.11", 150))
    broken[-1] ^= 0xFF
    record = describe(bytes(broken), 1.0)
    assert record is not None
    assert "bad checksum" in record["error"]
    assert "refused: bad checksum" in line(record)


def test_announcements_only_when_asked() -> None:
    garp = gratuitous_arp(MAC, IPv4Address("192.0.2.100"))
    assert describe(garp, 1.0) is None
    record = describe(garp, 1.0, announcements=True)
    assert record is not None
    assert (record["kind"], record["address"], record["mac"]) == (
        "arp",
        "192.0.2.100",
        "02:00:00:00:00:01",
    )
    na = describe(
        unsolicited_na(MAC, IPv6Address("2001:db8::100"), router=True), 1.0, announcements=True
    )
    assert na is not None
    assert (na["kind"], na["address"], na["router"]) == ("na", "2001:db8::100", True)


def test_the_summary_names_the_master_and_the_disagreements() -> None:
    summary = Summary()
    for t in range(5):
        summary.add(describe(_frame("192.0.2.11", 150), 100.0 + t) or {})
    summary.add(describe(_frame("192.0.2.12", 100, form=ChecksumForm.MESSAGE), 104.5) or {})
    summary.add(
        describe(_frame("192.0.2.13", 90, vrid=52, interval_cs=200, version=2), 104.0) or {}
    )
    summary.add(describe(_frame("192.0.2.14", 80, vrid=52, version=2), 104.2) or {})
    lines = summary.lines()
    assert lines[0] == "VRID 51: master 192.0.2.11; heard from 192.0.2.11, 192.0.2.12"
    assert lines[1].startswith("VRID 51: TWO MASTERS at ")
    assert lines[1].endswith(": 192.0.2.11, 192.0.2.12")
    assert "VRID 51: checksum disagrees: message-only, pseudo-header" in lines
    assert "VRID 52: interval disagrees: 1, 2" in lines
    assert Summary().lines() == ["no VRRP advert seen"]
