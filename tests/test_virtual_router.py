"""RFC 5798 section 6.4 scenarios on a hand-advanced clock: exact actions, exact deadlines."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, ip_address, ip_interface

import pytest

from tests.builders import checked, config, instance
from tests.harness import (
    LOWER_PEER,
    ME,
    ME6,
    PEER,
    PEER6,
    Harness,
    changes,
    decoded_adverts,
    kinds,
    sent_priorities,
)
from vrrpd.core.actions import (
    AddAddresses,
    Notice,
    PacketDropped,
    RemoveAddresses,
    RunCheck,
    RunNotify,
    SendAdvert,
    SendGratuitousArp,
    SendNeighborAdvert,
)
from vrrpd.core.config import (
    Authentication,
    ChecksumMode,
    GarpConfig,
    NotifyConfig,
    VirtualAddress,
)
from vrrpd.core.constants import Family
from vrrpd.core.errors import DropReason
from vrrpd.core.events import (
    CheckFinished,
    ConfigChanged,
    LinkChanged,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.node import Node
from vrrpd.core.packet import ChecksumForm, decode
from vrrpd.core.state import State

MDI_100 = 3.609375  # priority 100, 1 s
MDI_150 = 3.4140625
SKEW_100 = 0.609375

# ---------------------------------------------------------------- Initialize (6.4.1)


def test_startup_goes_to_backup_and_arms_master_down() -> None:
    h = Harness(config(instance(priority=100)))
    assert h.state is State.BACKUP
    assert changes(h.actions) == [(State.INIT, State.BACKUP, "startup")]
    assert h.node.next_deadline() == MDI_100


def test_owner_goes_straight_to_master_vips_before_advert_before_garp() -> None:
    h = Harness(config(instance(priority=255)))
    assert h.state is State.MASTER
    assert kinds(h.actions) == ["StateChanged", "SendAdvert", "AddAddresses", "SendGratuitousArp"]
    assert sent_priorities(h.actions) == [255]
    garp = h.actions[3]
    assert isinstance(garp, SendGratuitousArp)
    assert garp.count == 5
    assert garp.addresses == (ip_address("192.0.2.100"),)
    assert h.node.next_deadline() == 1.0
    assert h.node.statistics().instances["web"].counters["new_master_reason"] == "priority"


def test_startup_twice_is_harmless() -> None:
    h = Harness(config(instance()))
    assert h.feed(Startup()) == []


# ---------------------------------------------------------------- Backup (6.4.2)


def test_silent_master_backup_takes_over_exactly_at_master_down_interval() -> None:
    h = Harness(config(instance(priority=100)))
    h.receive(200, at=1.0)
    assert h.node.next_deadline() == 1.0 + MDI_100
    actions = h.advance(10.0)
    assert h.state is State.MASTER
    [(_old, _new, reason)] = changes(actions)
    assert reason == f"master down timer expired: no advert from {PEER} for 3.609s"
    assert h.router.last_transition_at == 1.0 + MDI_100
    assert kinds(actions)[:4] == ["StateChanged", "SendAdvert", "AddAddresses", "SendGratuitousArp"]
    stats = h.node.statistics().instances["web"]
    assert stats.counters["new_master_reason"] == "masterNoResponse"
    assert stats.counters["master_transitions"] == 1


def test_adverts_keep_the_backup_waiting() -> None:
    h = Harness(config(instance(priority=100)))
    for t in range(1, 20):
        h.receive(200, at=float(t))
        assert h.advance(t + 0.999) == []
    assert h.state is State.BACKUP
    assert h.node.statistics().instances["web"].master == PEER


def test_v3_backup_learns_the_masters_interval() -> None:
    h = Harness(config(instance(priority=100)))
    h.receive(200, at=1.0, interval_cs=50)
    mdi = 3 * 0.5 + (256 - 100) * 50 / 256 / 100
    assert h.node.next_deadline() == pytest.approx(1.0 + mdi)
    assert h.node.statistics().instances["web"].master_adver_interval == 0.5
    assert any(isinstance(a, Notice) and "every 0.5s" in a.message for a in h.actions)


def test_priority_zero_makes_the_backup_take_over_after_skew_time() -> None:
    h = Harness(config(instance(priority=100)))
    h.receive(200, at=1.0)
    h.receive(0, at=1.5)
    assert h.node.next_deadline() == 1.5 + SKEW_100
    h.advance(3.0)
    assert h.state is State.MASTER
    assert h.router.last_transition_at == 1.5 + SKEW_100
    assert "released (priority 0)" in h.router.last_reason
    assert h.node.statistics().instances["web"].counters["rcvd_pri_zero_packets"] == 1


def test_a_backup_whose_check_fails_gives_the_better_backup_its_head_start() -> None:
    """The exploration (issue 14): a backup keeps the Skew_Time of the priority it had
    when it last heard the master, so one whose priority changed as the master died
    goes at the wrong moment (a raised one after a lower backup, which then yields:
    two handovers). Keepalived shifts the timer by the change in Master_Down_Interval."""
    h = Harness(checked(150, weight=-50))
    [run] = [a for a in h.actions if isinstance(a, RunCheck)]
    h.feed(CheckFinished(run.name, True, 0, 0.01), at=0.01)  # the start waits for it
    h.receive(200, at=1.0)
    assert h.node.next_deadline() == pytest.approx(1.0 + MDI_150)
    h.feed(CheckFinished(run.name, False, 1, 0.01), at=1.2)
    assert h.router.priority == 100
    assert h.router.master_down_at == pytest.approx(1.0 + MDI_100)
    h.advance(2.05)  # the next run starts at 2.0
    h.feed(CheckFinished(run.name, True, 0, 0.01), at=2.1)
    assert h.router.priority == 150
    assert h.router.master_down_at == pytest.approx(1.0 + MDI_150)


def test_a_released_backup_whose_priority_rises_goes_after_its_new_skew_time() -> None:
    h = Harness(config(instance(priority=100)))
    h.receive(200, at=1.0)
    h.receive(0, at=1.5)
    h.feed(ConfigChanged(config(instance(priority=150))), at=1.6)
    assert h.node.next_deadline() == pytest.approx(1.5 + MDI_150 - 3)
    h.advance(3.0)
    assert h.state is State.MASTER
    assert h.router.last_transition_at == pytest.approx(1.5 + MDI_150 - 3)


def test_a_priority_change_keeps_the_end_of_preempt_delay() -> None:
    h = Harness(config(instance(priority=150, preempt_delay=5.0)))
    h.receive(100, at=1.0)  # a lower master: preempt at 6.0, not before
    h.receive(100, at=5.9)
    h.feed(ConfigChanged(config(instance(priority=160, preempt_delay=5.0))), at=5.95)
    assert h.router.master_down_at == pytest.approx(6.0)
    h.feed(ConfigChanged(config(instance(priority=140, preempt_delay=5.0))), at=5.96)
    assert h.router.master_down_at == pytest.approx(6.0)


def test_a_lower_master_that_still_advertises_is_preempted_on_the_rfc_timer() -> None:
    """With fast preemption off (below an RFC peer, the documented rule), a lower master
    that keeps advertising is preempted when Master_Down_Timer runs out from the last
    advert at least as good as ours, as RFC 5798 6.4.2 says: no extra wait (a guard of one
    more Skew_Time was tried and withdrawn, docs/architecture.md: it made a double
    handover certain where an RFC peer sits just below)."""
    h = Harness(config(instance(priority=150, fast_preempt=False)))
    h.receive(200, at=0.5)
    for t in (1.0, 2.0, 3.0):
        h.receive(100, at=t)  # the master dropped to 100 and keeps advertising
    h.advance(0.5 + MDI_150)
    assert h.state is State.MASTER
    assert h.router.last_transition_at == pytest.approx(0.5 + MDI_150)


def test_a_lower_master_gone_silent_is_preempted_on_the_rfc_timer() -> None:
    h = Harness(config(instance(priority=150, fast_preempt=False)))
    h.receive(200, at=0.5)
    h.receive(100, at=1.0)  # then silent (dead): no guard, the VIPs have no holder
    h.advance(0.5 + MDI_150)
    assert h.state is State.MASTER
    assert h.router.last_transition_at == 0.5 + MDI_150


def test_fast_preempt_takes_over_a_worse_master_after_skew_time() -> None:
    """Issue 9: the master's own advert says it got worse (a check failed): waiting the
    rest of Master_Down_Interval only prolongs the outage."""
    h = Harness(config(instance(priority=150)))
    h.receive(200, at=0.5)
    h.receive(100, at=1.0)  # the master dropped to 100
    skew = (256 - 150) / 256
    assert h.node.next_deadline() == pytest.approx(1.0 + skew)
    h.advance(1.0 + skew)
    assert h.state is State.MASTER
    assert h.router.last_reason == f"preempting lower-priority master {PEER} (100 < 150)"


def test_preempt_discards_a_lower_priority_master_and_takes_over() -> None:
    """RFC 5798's own timer (fast_preempt: false): the lower adverts are discarded and
    Master_Down_Timer runs out."""
    h = Harness(config(instance(priority=150, fast_preempt=False)))
    h.receive(200, at=0.5)  # follow a better master first
    h.receive(100, at=1.0)  # then it is replaced by a worse one
    h.receive(100, at=2.0)
    h.receive(100, at=3.0)
    assert h.node.next_deadline() == 0.5 + MDI_150  # lower adverts did not reset the timer
    h.advance(5.0)
    assert h.state is State.MASTER
    assert h.router.last_reason == f"preempting lower-priority master {PEER} (100 < 150)"
    assert h.node.statistics().instances["web"].counters["new_master_reason"] == "preempted"


def test_no_preempt_follows_a_lower_priority_master() -> None:
    h = Harness(config(instance(priority=150, preempt=False)))
    for t in range(1, 30):
        h.receive(100, at=float(t))
        h.advance(t + 0.9)
    assert h.state is State.BACKUP


def test_preempt_delay_takes_over_exactly_when_the_delay_ends() -> None:
    h = Harness(config(instance(priority=150, preempt_delay=10.0)))
    for t in range(1, 30):
        h.receive(100, at=float(t))
        h.advance(t + 0.999)
        if h.state is State.MASTER:
            break
    assert h.state is State.MASTER
    assert h.router.last_transition_at == 11.0  # first lower advert at 1.0 + 10 s
    assert "preempting" in h.router.last_reason


def test_owner_preempts_even_with_preempt_off() -> None:
    h = Harness(config(instance(priority=255, preempt=False)))
    assert h.state is State.MASTER
    h.receive(255, src=ip_address("192.0.2.200"), at=0.5)  # another owner with a higher address
    assert h.state is State.BACKUP
    h.receive(100, at=1.0)
    h.advance(10.0)
    assert h.state is State.MASTER


# ---------------------------------------------------------------- Master (6.4.3)


def _master(priority: int = 150, **kw: object) -> Harness:
    h = Harness(config(instance(priority=priority, **kw)))
    h.advance(10.0)
    assert h.state is State.MASTER
    return h


def test_master_advertises_every_interval() -> None:
    h = _master()
    sends = [a for a in h.advance(15.0) if isinstance(a, SendAdvert)]
    assert len(sends) == 5  # at 10.414 .. 14.414
    assert h.node.next_deadline() == MDI_150 + 12.0
    [advert] = decoded_adverts(sends[:1])
    assert (advert.vrid, advert.priority, advert.interval_cs) == (51, 150, 100)


def test_master_yields_to_a_higher_priority() -> None:
    h = _master()
    actions = h.receive(200, at=11.0)
    assert h.state is State.BACKUP
    assert changes(actions) == [
        (State.MASTER, State.BACKUP, f"higher priority 200 from {PEER} (ours 150)")
    ]
    # one last advert at our own priority (no priority 0: a better master exists),
    # so a master that never heard us learns there was a split brain
    assert kinds(actions) == ["SendAdvert", "StateChanged"]
    assert sent_priorities(actions) == [150]
    # make-before-break: the VIPs go 20 ms later, once the new master has added its own
    assert h.node.next_deadline() == pytest.approx(11.02)
    assert kinds(h.advance(11.02)) == ["RemoveAddresses"]
    assert h.node.next_deadline() == 11.0 + MDI_150


def test_the_last_advert_before_yielding_carries_the_new_masters_interval() -> None:
    """The exploration: a 0.1 s master yielded to a 1 s one; an RFC backup (Keepalived)
    heard our last advert after the new master's, followed it with our 0.1 s interval,
    took over 0.37 s later while the new master was fine, and yielded at its next
    advert: a takeover without an election change. The last advert exists for a
    winner that never heard us; telling the backups the interval of the master they
    are about to follow costs that nothing."""
    h = _master(advert_interval=0.1)
    actions = h.receive(200, at=11.0, interval_cs=100)
    assert h.state is State.BACKUP
    [last] = decoded_adverts(actions)
    assert (last.priority, last.interval_cs) == (150, 100)


def test_equal_priority_higher_address_wins() -> None:
    h = _master(priority=150)
    h.receive(150, src=LOWER_PEER, at=11.0)
    assert h.state is State.MASTER
    h.receive(150, src=PEER, at=11.5)
    assert h.state is State.BACKUP
    assert h.router.last_reason == f"equal priority 150 from higher address {PEER}"


def test_split_brain_heal_reasserts_reannounces_and_refires_the_master_hook_once() -> None:
    h = _master(notify=NotifyConfig(master="/m"))
    actions = h.receive(100, at=11.2)
    assert h.state is State.MASTER
    assert kinds(actions) == ["SendAdvert", "SendGratuitousArp", "Notice", "RunNotify"]
    [hook] = [a for a in actions if isinstance(a, RunNotify)]
    assert (
        hook.reason
        == f"split brain healed: lower-priority master {PEER} (100) seen; asserting MASTER"
    )
    assert h.node.next_deadline() == pytest.approx(12.2)
    assert kinds(h.receive(100, at=11.3)) == ["SendAdvert"]  # the same heal: assert only


def test_the_master_we_preempted_is_no_split_brain() -> None:
    h = Harness(config(instance(priority=150, notify=NotifyConfig(master="/m"))))
    h.receive(100, at=0.5)
    h.advance(0.5 + MDI_150)
    assert h.state is State.MASTER
    assert kinds(h.receive(100, at=2.0)) == ["SendAdvert"]  # its last adverts before it yields
    # ...but later, the same peer as a master again is a split brain that healed
    assert "RunNotify" in kinds(h.receive(100, at=20.0))


def test_master_answers_priority_zero_at_once() -> None:
    h = _master()
    actions = h.receive(0, at=11.2)
    assert sent_priorities(actions) == [150]
    assert h.node.next_deadline() == pytest.approx(12.2)


def test_shutdown_from_master_sends_priority_zero_then_removes_vips() -> None:
    h = _master()
    actions = h.feed(Shutdown(), at=12.0)
    assert kinds(actions) == ["StateChanged", "SendAdvert", "RemoveAddresses"]
    assert sent_priorities(actions) == [0]
    assert h.state is State.INIT
    assert h.node.next_deadline() is None
    assert h.node.statistics().instances["web"].counters["sent_pri_zero_packets"] == 1
    assert h.feed(Shutdown()) == []


def test_shutdown_from_backup_sends_nothing() -> None:
    h = Harness(config(instance()))
    assert kinds(h.feed(Shutdown(), at=1.0)) == ["StateChanged"]


# ---------------------------------------------------------------- announcements


def test_second_garp_burst_after_delay_and_periodic_refresh() -> None:
    h = Harness(config(instance(priority=255, garp=GarpConfig(delay=2.0, repeat=3, refresh=7.0))))
    assert [a.count for a in h.actions if isinstance(a, SendGratuitousArp)] == [3]
    bursts = [(h.now, a.count) for a in h.advance(2.0) if isinstance(a, SendGratuitousArp)]
    assert bursts == [(2.0, 3)]
    refresh = [a.count for a in h.advance(7.0) if isinstance(a, SendGratuitousArp)]
    assert refresh == [1]


def test_vips_on_another_device_are_announced_there() -> None:
    base = instance(priority=255)
    other = VirtualAddress(ip_interface("198.51.100.1/24"), dev="eth1")
    h = Harness(config(replace(base, virtual_addresses=(*base.virtual_addresses, other))))
    garps = [(a.interface, a.addresses) for a in h.actions if isinstance(a, SendGratuitousArp)]
    assert garps == [
        ("eth0", (ip_address("192.0.2.100"),)),
        ("eth1", (ip_address("198.51.100.1"),)),
    ]


# ---------------------------------------------------------------- FAULT


def test_link_down_master_releases_then_faults_and_returns_to_backup() -> None:
    h = _master()
    actions = h.feed(LinkChanged("eth0", False, (ME,)), at=11.0)
    assert h.state is State.FAULT
    assert kinds(actions) == ["StateChanged", "RemoveAddresses"]  # link down: nothing can be sent
    assert changes(actions)[0][2] == "interface eth0 down"
    assert h.node.next_deadline() is None
    actions = h.feed(LinkChanged("eth0", True, (ME,)), at=12.0)
    assert changes(actions) == [(State.FAULT, State.BACKUP, "no longer: interface eth0 down")]
    assert h.node.next_deadline() == 12.0 + MDI_150


def test_owner_returns_to_master_when_the_fault_clears() -> None:
    h = Harness(config(instance(priority=255)))
    h.feed(LinkChanged("eth0", False, (ME,)), at=1.0)
    assert h.state is State.FAULT
    h.feed(LinkChanged("eth0", True, (ME,)), at=2.0)
    assert h.state is State.MASTER


def test_no_source_address_is_a_fault_with_a_clear_reason() -> None:
    h = Harness(config(instance()), addresses=())
    assert h.state is State.FAULT
    assert h.router.last_reason == "no IPv4 address on eth0"
    h.feed(LinkChanged("eth0", True, (ME,)), at=1.0)
    assert h.state is State.BACKUP


def test_unknown_link_state_at_startup_is_a_fault() -> None:
    node = Node(config(instance()))
    node.handle(Startup(), now=0.0)
    assert node.routers["web"].state is State.FAULT
    assert node.routers["web"].last_reason == "interface eth0 state not known yet"


def test_fault_ignores_adverts_and_shutdown_from_fault() -> None:
    h = Harness(config(instance()), addresses=())
    assert h.receive(200, at=1.0) == []
    assert kinds(h.feed(Shutdown(), at=2.0)) == ["StateChanged"]


def test_fault_while_master_with_link_up_sends_priority_zero() -> None:
    h = Harness(checked(150, weight=0))
    h.advance(0.0)
    h.feed(CheckFinished("chk", True, 0, 0.1), at=0.1)
    h.advance(10.0)
    assert h.state is State.MASTER
    h.feed(CheckFinished("chk", False, 1, 0.1), at=10.05)
    assert h.state is State.FAULT
    assert sent_priorities(h.actions) == [0]
    assert h.router.last_reason == "check chk down (weight 0)"


# ---------------------------------------------------------------- trackers


def _run_checks(h: Harness, until: float, ok: bool) -> None:
    """Run the clock to ``until``, answering every RunCheck with ``ok`` after 10 ms."""
    pending = [a for a in h.actions if isinstance(a, RunCheck)]
    while True:
        for action in pending:
            h.feed(CheckFinished(action.name, ok, 0 if ok else 1, 0.01), at=h.now + 0.01)
        deadline = h.node.next_deadline()
        if deadline is None or deadline > until:
            return
        pending = [a for a in h.feed(TimerFired(), at=deadline) if isinstance(a, RunCheck)]


def test_failing_check_lowers_priority_and_master_says_so_at_once() -> None:
    h = Harness(checked(150, weight=-50))
    _run_checks(h, 10.0, ok=True)
    assert h.state is State.MASTER
    # UP with a negative weight: shown, contributing nothing
    assert h.node.statistics().instances["web"].contributions == (("check chk", "UP", 0),)
    _run_checks(h, 11.5, ok=False)
    stats = h.node.statistics().instances["web"]
    assert stats.priority == 100
    assert stats.priority_reason == "check chk down (weight -50): 150 → 100"
    assert stats.contributions == (("check chk", "DOWN", -50),)


def test_positive_weight_added_while_up() -> None:
    h = Harness(checked(100, weight=20, rise=2))
    _run_checks(h, 0.5, ok=True)
    assert h.router.priority == 120  # the first result decides (Keepalived's start)
    _run_checks(h, 1.5, ok=False)
    assert h.router.priority == 100  # fall 1
    _run_checks(h, 2.5, ok=True)
    assert h.router.priority == 100  # one success of rise 2
    _run_checks(h, 3.5, ok=True)
    assert h.router.priority == 120


def test_owner_priority_never_moves() -> None:
    h = Harness(checked(255, weight=-50))
    _run_checks(h, 3.0, ok=False)
    assert h.router.priority == 255
    assert h.state is State.MASTER


def test_check_result_for_unknown_or_idle_check_is_ignored() -> None:
    h = Harness(checked(100))
    assert kinds(h.actions)[-1] == "RunCheck"  # the first run starts with the agent
    assert h.feed(CheckFinished("nope", False), at=0.5) == []
    h.feed(CheckFinished("chk", True), at=0.5)
    assert h.feed(CheckFinished("chk", False), at=0.6) == []  # no run was asked for
    assert h.node.statistics().checks["chk"].runs == 1


# ---------------------------------------------------------------- receive validation (7.1)


def _dropped(actions: list[object]) -> list[str]:
    return [a.reason for a in actions if isinstance(a, PacketDropped)]


def test_ttl_must_be_255() -> None:
    h = Harness(config(instance()))
    assert _dropped(h.receive(200, ttl=254, at=1.0)) == ["TTL / hop limit too low"]
    assert h.node.statistics().instances["web"].counters["ip_ttl_errors"] == 1
    assert h.node.statistics().instances["web"].counters["proto_err_reason"] == "ipTtlError"


def test_version_mismatch_is_dropped() -> None:
    h = Harness(config(instance(version=2, advert_interval=1.0)))
    assert _dropped(h.receive(200, version=3, at=1.0)) == ["version differs from the instance's"]
    stats = h.node.statistics()
    assert (stats.version_errors, stats.instances["web"].counters["version_errors"]) == (0, 1)


def test_v2_interval_mismatch_is_dropped() -> None:
    h = Harness(config(instance(version=2)))
    assert _dropped(h.receive(200, interval_cs=200, at=1.0)) == [
        "advertisement interval differs (v2 requires equal)"
    ]
    assert h.node.statistics().instances["web"].counters["adv_interval_errors"] == 1


def test_v2_authentication() -> None:
    h = Harness(config(instance(version=2, authentication=Authentication("pass", "secret"))))
    assert _dropped(h.receive(200, at=1.0)) == ["authentication type differs from the instance's"]
    wrong = h.receive(200, at=1.1, auth_type=1, auth_data=b"wrong\0\0\0")
    assert _dropped(wrong) == ["wrong password"]
    assert h.receive(200, at=1.2, auth_type=1, auth_data=b"secret\0\0") == []
    counters = h.node.statistics().instances["web"].counters
    assert (counters["auth_type_mismatch"], counters["auth_failures"]) == (1, 1)
    h.advance(10.0)
    assert h.state is State.MASTER
    [advert] = decoded_adverts([a for a in h.actions if isinstance(a, SendAdvert)][:1])
    assert advert.auth_data == b"secret\0\0"


def test_address_list_mismatch_v2_drops_unless_owner_v3_notices_once() -> None:
    other = (ip_address("192.0.2.200"),)
    h2 = Harness(config(instance(version=2)))
    assert _dropped(h2.receive(200, addresses=other, at=1.0)) == ["address list differs from ours"]
    assert _dropped(h2.receive(255, addresses=other, at=1.1)) == []
    h3 = Harness(config(instance()))
    first = h3.receive(200, addresses=other, at=1.0)
    second = h3.receive(200, addresses=other, at=2.0)
    assert [type(a).__name__ for a in first] == ["Notice"]
    assert second == []
    assert h3.node.statistics().instances["web"].counters["address_list_errors"] == 2


@pytest.mark.parametrize(
    ("mode", "form", "accepted"),
    [
        (ChecksumMode.PSEUDO, ChecksumForm.PSEUDO, True),
        (ChecksumMode.PSEUDO, ChecksumForm.MESSAGE, False),
        (ChecksumMode.MESSAGE, ChecksumForm.MESSAGE, True),
        (ChecksumMode.MESSAGE, ChecksumForm.PSEUDO, False),
        (ChecksumMode.AUTO, ChecksumForm.PSEUDO, True),
        (ChecksumMode.AUTO, ChecksumForm.MESSAGE, True),
    ],
)
def test_checksum_form_policy(mode: ChecksumMode, form: ChecksumForm, accepted: bool) -> None:
    h = Harness(config(instance(v3_ipv4_checksum=mode)))
    actions = h.receive(200, form=form, at=1.0)
    assert (not _dropped(actions)) == accepted
    notices = [a.message for a in actions if isinstance(a, Notice)]
    if not accepted:
        assert notices
        assert "v3_ipv4_checksum" in notices[0]
    if mode is ChecksumMode.AUTO:
        assert notices == [f"{PEER} uses the {form.value} VRRPv3 checksum"]
        assert h.receive(200, form=form, at=2.0) == []  # said once
    assert h.node.statistics().instances["web"].counters["checksum_forms"] == {
        str(PEER): form.value
    }


def test_message_only_mode_sends_message_only_checksums() -> None:
    h = _master(v3_ipv4_checksum=ChecksumMode.MESSAGE)

    send = next(a for a in h.advance(11.0) if isinstance(a, SendAdvert))
    assert (
        decode(send.data, family=Family.V4, src=send.src, dst=send.dst).checksum_form
        is ChecksumForm.MESSAGE
    )


def test_an_advert_from_our_own_address_is_counted_and_reported() -> None:
    """Review defect 9: our sockets never loop our adverts back, so one from our address
    is another router sharing it; it was dropped silently, now it is counted and said."""
    h = Harness(config(instance()))
    actions = h.receive(200, src=ME, at=1.0)
    assert [(type(a).__name__, a.reason) for a in actions] == [  # type: ignore[attr-defined]
        ("PacketDropped", DropReason.OWN_ADDRESS.value)
    ]
    counters = h.node.statistics().instances["web"].counters
    assert counters["own_address_packets"] == 1
    assert counters["rcvd_advertisements"] == 0
    assert h.state is State.BACKUP


# ---------------------------------------------------------------- unicast


def test_unicast_sends_to_each_peer_and_accepts_only_them() -> None:
    peers = (PEER, IPv4Address("192.0.2.13"))
    h = _master(unicast_peers=peers)
    sends = [a for a in h.advance(11.0) if isinstance(a, SendAdvert)]
    assert [a.dst for a in sends] == list(peers)
    assert _dropped(h.receive(200, src=IPv4Address("192.0.2.99"), at=11.1)) == [
        "source is not a configured unicast peer"
    ]
    # TTL 255 for unicast too (issue 16 item 3): a peer's address is spoofable from afar
    assert _dropped(h.receive(200, src=PEER, ttl=64, at=11.2)) == ["TTL / hop limit too low"]
    assert h.state is State.MASTER
    assert _dropped(h.receive(200, src=PEER, at=11.3)) == []
    assert h.state is State.BACKUP


def test_unicast_source_overrides_the_interface_address() -> None:
    h = Harness(config(instance(unicast_peers=(PEER,), unicast_source=IPv4Address("192.0.2.50"))))
    assert h.router.source == IPv4Address("192.0.2.50")


# ---------------------------------------------------------------- IPv6


def test_ipv6_instance_uses_the_link_local_source_and_sends_na() -> None:
    h = Harness(config(instance(priority=255, vips=("2001:db8::100/64",))))
    assert h.router.source == ME6
    send = next(a for a in h.actions if isinstance(a, SendAdvert))
    assert (send.src, send.dst, send.family) == (ME6, ip_address("ff02::12"), Family.V6)
    assert any(isinstance(a, SendNeighborAdvert) for a in h.actions)


def test_ipv6_instance_without_link_local_is_a_fault() -> None:
    h = Harness(
        config(instance(vips=("2001:db8::100/64",))), addresses=(ME, ip_address("2001:db8::11"))
    )
    assert h.state is State.FAULT
    assert h.router.last_reason == "no IPv6 link-local address on eth0"


def test_ipv6_election_between_link_locals() -> None:
    h = Harness(config(instance(priority=100, vips=("2001:db8::100/64",))))
    h.receive(100, src=PEER6, at=1.0)
    h.advance(1.0 + MDI_100 - 0.001)
    assert h.state is State.BACKUP


# ---------------------------------------------------------------- notify


def test_notify_hooks_per_state_and_generic_hook_with_keepalived_arguments() -> None:
    notify = NotifyConfig(master="/m", backup="/b", fault="/f", stop="/s", any="/any")
    h = Harness(config(instance(priority=150, notify=notify)))
    runs = [(a.command, a.state, a.keepalived_args) for a in h.actions if isinstance(a, RunNotify)]
    assert runs == [("/b", "BACKUP", False), ("/any", "BACKUP", True)]
    actions = h.advance(10.0)
    assert [a.command for a in actions if isinstance(a, RunNotify)] == ["/m", "/any"]
    k = kinds(actions)
    start = k.index("StateChanged")
    # hooks run after the advert, the VIPs and the announcement
    assert k[start : start + 6] == [
        "StateChanged",
        "SendAdvert",
        "AddAddresses",
        "SendGratuitousArp",
        "RunNotify",
        "RunNotify",
    ]
    actions = h.feed(LinkChanged("eth0", False, (ME,)), at=11.0)
    assert [a.command for a in actions if isinstance(a, RunNotify)] == ["/f", "/any"]
    actions = h.feed(Shutdown(), at=12.0)
    assert [(a.command, a.state) for a in actions if isinstance(a, RunNotify)] == [
        ("/s", "STOP"),
        ("/any", "STOP"),
    ]


def test_statistics_record() -> None:
    h = _master()
    stats = h.node.statistics()
    web = stats.instances["web"]
    assert (web.state, web.priority, web.base_priority, web.master, web.vrid) == (
        State.MASTER,
        150,
        150,
        ME,
        51,
    )
    assert web.counters["sent_advertisements"] >= 1
    with pytest.raises(TypeError):
        web.counters["sent_advertisements"] = 0  # type: ignore[index]
    assert isinstance(h.actions, list)
    assert all(not isinstance(a, AddAddresses | RemoveAddresses) for a in h.advance(12.0))


def test_vips_removed_by_someone_else_are_put_back_while_master_only() -> None:
    from vrrpd.core.events import AddressesRemoved

    h = _master()
    actions = h.feed(AddressesRemoved("eth0", (ip_address("192.0.2.100"),)), at=10.1)
    assert kinds(actions) == ["Notice", "AddAddresses", "SendGratuitousArp"]
    assert (
        "192.0.2.100/24 was removed from eth0 by something else; adding it back"
        in actions[0].message
    )  # type: ignore[union-attr]
    assert (
        h.feed(AddressesRemoved("eth1", (ip_address("192.0.2.100"),)), at=10.2) == []
    )  # not where it lives
    backup = Harness(config(instance()))
    assert backup.feed(AddressesRemoved("eth0", (ip_address("192.0.2.100"),)), at=1.0) == []


# ---------------------------------------------------------------- spoofed lower-priority masters


def _spoofed(n: int) -> IPv4Address:
    return IPv4Address(int(IPv4Address("198.51.100.0")) + 1 + n % 254 + (n // 254 << 8))


def test_a_flood_of_spoofed_lower_masters_is_healed_once_per_window_with_bounded_state() -> None:
    """Issue 16: every new spoofed source of a lower-priority advert was a split brain to
    heal (advert, GARP burst, notice, master hook) and a new entry in a table that was
    never pruned: 40,000 sources, 40,000 hooks and entries."""
    h = _master(notify=NotifyConfig(master="/m"))
    heals = sends = 0
    for n in range(4000):  # 4,000 sources in 4 s: 1,000 per second
        actions = h.receive(100, src=_spoofed(n), at=11.0 + n / 1000)
        heals += kinds(actions).count("RunNotify")
        sends += kinds(actions).count("SendAdvert")
    assert h.state is State.MASTER
    assert heals <= 2  # one heal per window (3 s at 1 s adverts: three intervals)
    assert sends <= 4 * 10 + 4  # immediate assertions: at most ten per interval
    assert len(h.router._lower_heard) <= 64


def test_the_heal_window_still_heals_a_split_brain_after_it() -> None:
    h = _master(notify=NotifyConfig(master="/m"))
    assert "RunNotify" in kinds(h.receive(100, src=_spoofed(1), at=11.0))
    assert "RunNotify" not in kinds(h.receive(100, src=_spoofed(2), at=11.5))  # within 3 s
    assert "RunNotify" in kinds(h.receive(100, src=_spoofed(3), at=14.5))  # a new episode


def test_fast_preempt_follows_only_the_master_it_follows_not_a_spoofed_source() -> None:
    """A spoofed lower-priority advert must not make a backup take over early: only the
    master it follows telling it that it got worse does."""
    h = Harness(config(instance(priority=150)))
    h.receive(200, at=0.5)  # following PEER at 200
    deadline = h.node.next_deadline()
    h.receive(100, src=_spoofed(7), at=1.0)
    assert h.node.next_deadline() == deadline
    h.advance(1.0 + 1.0)
    assert h.state is State.BACKUP
