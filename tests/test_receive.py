"""Receive checks under hostile input: bounded per-source state (issue 16 item 4), the TTL
check before decoding (issue 14 item 13), and TTL 255 for unicast (issue 16 item 3)."""

from __future__ import annotations

from ipaddress import IPv4Address

from tests.builders import config, instance
from tests.harness import Harness
from vrrpd.core.actions import Notice
from vrrpd.core.config import ChecksumMode
from vrrpd.core.packet import ChecksumForm

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
