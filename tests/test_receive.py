"""Receive checks under hostile input: bounded per-source state (issue 16 item 4), the TTL
check before decoding (issue 14 item 13), and TTL 255 for unicast (issue 16 item 3)."""

from __future__ import annotations

from ipaddress import IPv4Address

from tests.builders import config, instance
from tests.harness import PEER, Harness
from vrrpd.core.actions import Notice, PacketDropped
from vrrpd.core.config import ChecksumMode
from vrrpd.core.events import DatagramReceived
from vrrpd.core.packet import Advertisement, ChecksumForm, encode
from vrrpd.core.state import State

MAX_FORMS, MAX_NOTICES = 16, 64  # vrrpd.core.receive's caps


def test_5000_sources_leave_bounded_state_and_bounded_notices() -> None:
    h = Harness(config(instance(priority=100, v3_ipv4_checksum=ChecksumMode.AUTO)))
    notices = 0
    for i in range(5_000):
        src = IPv4Address(0xC6336400 + i)  # 198.51.100.0 upwards, every one new
        form = ChecksumForm.MESSAGE if i % 2 else ChecksumForm.PSEUDO
        actions = h.receive(50, src=src, form=form, interval_cs=200, addresses=(src,))
        notices += sum(isinstance(a, Notice) for a in actions)
    counters = h.node.statistics().instances["web"].counters
    assert len(h.router.counters.checksum_forms) <= MAX_FORMS
    forms = counters["checksum_forms"]
    assert isinstance(forms, dict)
    assert len(forms) <= MAX_FORMS
    assert str(IPv4Address(0xC6336400 + 4_999)) in forms
    assert notices <= MAX_NOTICES + 1
    assert len(h.router.receiver._noticed) <= MAX_NOTICES + 1
    assert counters["address_list_errors"] == 5_000  # still counted, every one


def _counters(h: Harness) -> dict[str, object]:
    return dict(h.node.statistics().instances["web"].counters)


def test_the_ttl_is_checked_before_decoding_and_counted_as_a_ttl_error() -> None:
    """RFC 5798 7.1 checks the TTL first: a corrupt packet from off the link is a TTL
    error (vrrpv3StatisticsIpTtlErrors), not a checksum error."""
    h = Harness(config(instance(priority=100)))
    router = h.router
    advert = Advertisement(3, 51, 50, 100, (IPv4Address("192.0.2.100"),))
    data = bytearray(encode(advert, src=PEER, dst=IPv4Address("224.0.0.18")))
    data[6] ^= 0xFF  # checksum broken
    before = _counters(h)
    h.feed(
        DatagramReceived(
            "eth0", router.config.family, PEER, IPv4Address("224.0.0.18"), 7, bytes(data)
        )
    )
    after = _counters(h)
    assert after["ip_ttl_errors"] == before["ip_ttl_errors"] + 1  # type: ignore[operator]
    assert after["checksum_errors"] == before["checksum_errors"]
    assert after["packets_dropped"] == before["packets_dropped"] + 1  # type: ignore[operator]


def test_a_spoofed_ttl7_advert_from_the_unicast_peer_does_not_demote_the_master() -> None:
    h = Harness(config(instance(priority=200, unicast_peers=(PEER,))))
    h.advance(10.0)
    assert h.state is State.MASTER
    h.receive(255, src=PEER, ttl=7, at=10.01)
    h.advance(10.5)
    assert h.state is State.MASTER
    assert _counters(h)["ip_ttl_errors"] == 1
    h.receive(255, src=PEER, ttl=255, at=10.6)  # the real peer, on the link
    assert h.state is State.BACKUP


def test_unicast_max_hops_accepts_ttl_down_to_255_minus_n() -> None:
    h = Harness(config(instance(priority=200, unicast_peers=(PEER,), unicast_max_hops=2)))
    h.advance(10.0)
    h.receive(100, src=PEER, ttl=252, at=10.01)
    assert _counters(h)["ip_ttl_errors"] == 1
    assert _counters(h)["rcvd_advertisements"] == 0
    h.receive(100, src=PEER, ttl=253, at=10.02)
    assert _counters(h)["rcvd_advertisements"] == 1
    h.receive(255, src=PEER, ttl=253, at=10.03)
    assert h.state is State.BACKUP


def test_the_ttl_drop_says_what_this_instance_accepts() -> None:
    """With unicast_max_hops a TTL below 255 is accepted: the reason may not say "not 255",
    and the detail names the minimum this instance accepts."""
    h = Harness(config(instance(priority=200, unicast_peers=(PEER,), unicast_max_hops=2)))
    h.advance(10.0)
    [dropped] = [
        a for a in h.receive(100, src=PEER, ttl=252, at=10.01) if isinstance(a, PacketDropped)
    ]
    assert "not 255" not in dropped.reason
    assert dropped.reason == "TTL / hop limit too low"
    assert dropped.detail == "TTL 252, at least 253 accepted"


def _notices(actions: list[object]) -> list[Notice]:
    """The receive checks' notices (not the election's, such as a split brain healed)."""
    ours = ("advertises", "only counted")
    return [a for a in actions if isinstance(a, Notice) and any(w in a.message for w in ours)]


def _spoofed_flood(
    h: Harness, count: int, start: float, rate: float, first: int = 0
) -> list[Notice]:
    """``count`` adverts with a wrong interval, each from a new source; the notices given."""
    given = []
    for i in range(count):
        src = IPv4Address(0xC6336400 + first + i)  # 198.51.100.0 upwards
        given += _notices(h.receive(50, src=src, interval_cs=200, at=start + i / rate))
    return given


def test_a_new_notice_is_given_a_week_after_a_flood_used_the_table_up() -> None:
    """Before, the 64 notices were never given back: after one spoofed flood the instance
    said nothing new for the rest of its life, and a real misconfiguration a week later
    was only counted."""
    h = Harness(config(instance(priority=100)))
    assert len(_spoofed_flood(h, 5_000, start=1.0, rate=1_000.0)) <= MAX_NOTICES + 1
    week = 7 * 86_400.0
    real = IPv4Address("192.0.2.77")
    [notice] = _notices(h.receive(50, src=real, interval_cs=300, at=week))
    assert str(real) in notice.message
    assert "every 3s" in notice.message
    # the cause goes on: given once, not again at each advert
    assert not _notices(h.receive(50, src=real, interval_cs=300, at=week + 1))
    assert len(h.router.receiver._noticed) <= MAX_NOTICES


def test_a_cause_that_goes_on_is_noticed_once_and_one_that_comes_back_again() -> None:
    h = Harness(config(instance(priority=100)))
    real = IPv4Address("192.0.2.77")
    given = [
        len(_notices(h.receive(50, src=real, interval_cs=300, at=1.0 + s)))
        for s in range(0, 7_200, 5)  # two hours, an advert every 5 s
    ]
    assert sum(given) == 1
    assert given[0] == 1
    back = 1.0 + 7_200 + 3_600  # an hour of silence, then the same cause
    assert len(_notices(h.receive(50, src=real, interval_cs=300, at=back))) == 1


def test_a_flood_that_goes_on_gives_a_bounded_number_of_notices_per_window() -> None:
    """New spoofed sources for 30 minutes at 20 a second: at most the table's worth of
    notices per quiet period, and the "only counted" notice once per quiet period."""
    from vrrpd.core.receive import NOTICE_QUIET, Counters, Receiver

    receiver = Receiver(instance(), Counters())
    minutes, rate = 30, 20.0
    given: list[Notice] = []
    for i in range(int(minutes * 60 * rate)):
        given += _notices(receiver.notice_once(f"interval:{i}", f"{i} advertises", i / rate))
    counted = [n for n in given if "only counted" in n.message]
    windows = int(minutes * 60 // NOTICE_QUIET) + 1
    assert len(given) - len(counted) <= windows * MAX_NOTICES
    assert 2 <= len(counted) <= windows  # said again each window, not once for good
    assert len(receiver._noticed) <= MAX_NOTICES
