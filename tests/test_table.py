"""Every (state, event): a legal transition with a reason, or ignored; never an exception."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, ip_address

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.builders import checked
from tests.harness import ME, PEER, Harness
from vrrpd.core.actions import Action, AddAddresses, RemoveAddresses, StateChanged
from vrrpd.core.constants import Family
from vrrpd.core.events import (
    CheckFinished,
    DatagramReceived,
    Event,
    LinkChanged,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.packet import Advertisement, ChecksumForm, decode, encode
from vrrpd.core.state import DISPATCH, TRANSITIONS, Handle, Ignored, State, Stimulus
from vrrpd.core.virtual_router import YIELD_GRACE, VirtualRouter

MCAST = IPv4Address("224.0.0.18")
VIP = ip_address("192.0.2.100")


def _advert(
    priority: int,
    src: IPv4Address = PEER,
    form: ChecksumForm = ChecksumForm.PSEUDO,
    interval_cs: int = 100,
) -> Event:
    data = encode(
        Advertisement(3, 51, priority, interval_cs, (VIP,)), src=src, dst=MCAST, checksum_form=form
    )
    return DatagramReceived("eth0", Family.V4, src, MCAST, 255, data)


EVENTS: dict[str, Callable[[], Event]] = {
    "startup": Startup,
    "shutdown": Shutdown,
    "timer": TimerFired,
    "advert higher": lambda: _advert(254),
    "advert lower": lambda: _advert(1),
    "advert equal": lambda: _advert(150),
    "advert priority 0": lambda: _advert(0),
    "garbage": lambda: DatagramReceived("eth0", Family.V4, PEER, MCAST, 255, b"\x31\x33garbage"),
    "link down": lambda: LinkChanged("eth0", False, (ME,)),
    "link up": lambda: LinkChanged("eth0", True, (ME,)),
    "address lost": lambda: LinkChanged("eth0", True, ()),
    "check ok": lambda: CheckFinished("chk", True, 0, 0.01),
    "check failed": lambda: CheckFinished("chk", False, 1, 0.01),
}


def _in(state: State) -> Harness:
    h = Harness(checked(150, weight=0, rise=1, fall=1), start=state is not State.INIT)
    if state is not State.INIT:
        h.feed(CheckFinished("chk", True, 0, 0.01), at=0.01)  # the start waits for it
    if state is State.MASTER:
        h.advance(10.0)
    elif state is State.FAULT:
        h.feed(LinkChanged("eth0", False, (ME,)), at=1.0)
    assert h.state is state
    return h


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", list(EVENTS))
def test_every_state_event_pair(state: State, event: str) -> None:
    h = _in(state)
    actions = h.feed(EVENTS[event](), at=h.now + 0.5)
    for change in (a for a in actions if isinstance(a, StateChanged)):
        assert (change.old, change.new) in TRANSITIONS
        assert change.reason
    deadline = h.node.next_deadline()
    assert deadline is None or deadline > h.now


def test_the_table_is_closed_and_every_state_is_reachable() -> None:
    targets = {new for _, new in TRANSITIONS}
    assert targets == set(State)
    assert all((s, s) not in TRANSITIONS for s in State)


class NodeMachine(RuleBasedStateMachine):
    """Random events, in random order, on one node: the invariants always hold."""

    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(checked(150, weight=-60, rise=1, fall=2))
        self.holding = False
        self.yielded_at = -1.0
        self._track(self.h.actions)

    def _track(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, StateChanged):
                assert (action.old, action.new) in TRANSITIONS
                assert action.reason
                if (action.old, action.new) == (State.MASTER, State.BACKUP):
                    self.yielded_at = action.at
            elif isinstance(action, AddAddresses):
                self.holding = True
            elif isinstance(action, RemoveAddresses):
                self.holding = False

    def _feed(self, event: Event, dt: float) -> None:
        self._track(self.h.feed(event, at=self.h.now + dt))

    @rule(dt=st.floats(0, 5))
    def time_passes(self, dt: float) -> None:
        self._track(self.h.advance(self.h.now + dt))

    @rule(
        priority=st.integers(0, 255),
        src=st.sampled_from([PEER, IPv4Address("192.0.2.5"), ME]),
        form=st.sampled_from(ChecksumForm),
        interval_cs=st.integers(1, 400),
        dt=st.floats(0, 2),
    )
    def advert(
        self, priority: int, src: IPv4Address, form: ChecksumForm, interval_cs: int, dt: float
    ) -> None:
        self._feed(_advert(priority, src, form, interval_cs), dt)

    @rule(data=st.binary(max_size=40), ttl=st.integers(0, 255))
    def noise(self, data: bytes, ttl: int) -> None:
        self._feed(DatagramReceived("eth0", Family.V4, PEER, MCAST, ttl, data), 0.0)

    @rule(up=st.booleans(), has_address=st.booleans())
    def link(self, up: bool, has_address: bool) -> None:
        self._feed(LinkChanged("eth0", up, (ME,) if has_address else ()), 0.1)

    @rule(ok=st.booleans())
    def check(self, ok: bool) -> None:
        self._feed(CheckFinished("chk", ok, 0 if ok else 1, 0.01), 0.01)

    @rule()
    def restart(self) -> None:
        self._feed(Shutdown(), 0.0)
        self._feed(Startup(), 0.1)

    @invariant()
    def vips_held_while_master_and_only_a_moment_after_yielding(self) -> None:
        if self.h.state is State.MASTER:
            assert self.holding
        elif self.holding:  # make-before-break: a yielded master keeps them YIELD_GRACE
            assert self.h.state is State.BACKUP
            assert self.h.now - self.yielded_at <= YIELD_GRACE + 1e-9

    @invariant()
    def deadlines_are_in_the_future(self) -> None:
        deadline = self.h.node.next_deadline()
        assert deadline is None or deadline > self.h.now

    @invariant()
    def priority_in_range(self) -> None:
        assert 1 <= self.h.router.priority <= 254


TestNodeMachine = NodeMachine.TestCase


# ---------------------------------------------------------------- the dispatch table


def test_the_dispatch_table_is_total_and_names_real_handlers() -> None:
    assert set(DISPATCH) == {(s, x) for s in State for x in Stimulus}
    for (state, _), cell in DISPATCH.items():
        if isinstance(cell, Ignored):
            assert cell.why
            continue
        assert callable(getattr(VirtualRouter, cell.handler, None)), cell.handler
        assert all(to == state or (state, to) in TRANSITIONS for to in cell.to), cell


def _router_in(state: State) -> VirtualRouter:
    from tests.builders import instance

    router = VirtualRouter(instance(priority=150))
    router.link_changed(up=True, addresses=(ME,), now=0.0)
    if state is not State.INIT:
        router.startup(0.0)
    if state is State.MASTER:
        router.on_timer(10.0)
    if state is State.FAULT:
        router.set_fault("test", "a test fault", 1.0)
    assert router.state is state
    return router


def _previous_config() -> object:
    """What the router ran before a reload: one VIP more than now."""
    from tests.builders import instance

    return instance(priority=150, vips=("192.0.2.100/24", "192.0.2.101/24"))


def _higher_advert() -> tuple[object, ...]:
    data = encode(Advertisement(3, 51, 200, 100, (VIP,)), src=PEER, dst=MCAST)
    return (decode(data, family=Family.V4, src=PEER, dst=MCAST).advert, PEER)


ARGUMENTS: dict[Stimulus, Callable[[], tuple[object, ...]]] = {
    Stimulus.ADVERT: _higher_advert,
    Stimulus.CLEARED: lambda: ("no longer: a test fault",),
    Stimulus.GROUP_MASTER: lambda: ("sync group g: db MASTER",),
    Stimulus.GROUP_BACKUP: lambda: ("sync group g: db BACKUP",),
    Stimulus.VIPS_REMOVED: lambda: ("eth0", (VIP,)),
    Stimulus.RECONFIGURED: lambda: (_previous_config(), True),
    Stimulus.MAINTENANCE: lambda: (True,),
    Stimulus.PRIORITY: lambda: (100,),
}

EXPECTED: dict[tuple[State, Stimulus], tuple[State, str | None]] = {
    # (state, stimulus) -> (state after, an action kind it must emit) for every handled cell
    (State.INIT, Stimulus.STARTUP): (State.BACKUP, "StateChanged"),
    (State.BACKUP, Stimulus.SHUTDOWN): (State.INIT, "StateChanged"),
    (State.MASTER, Stimulus.SHUTDOWN): (State.INIT, "RemoveAddresses"),
    (State.FAULT, Stimulus.SHUTDOWN): (State.INIT, "StateChanged"),
    (State.BACKUP, Stimulus.ADVERT): (State.BACKUP, None),
    (State.MASTER, Stimulus.ADVERT): (State.BACKUP, "StateChanged"),
    (State.BACKUP, Stimulus.TIMER): (State.MASTER, "AddAddresses"),
    (State.MASTER, Stimulus.TIMER): (State.MASTER, "SendAdvert"),
    (State.BACKUP, Stimulus.FAULT): (State.FAULT, "StateChanged"),
    (State.MASTER, Stimulus.FAULT): (State.FAULT, "RemoveAddresses"),
    (State.FAULT, Stimulus.CLEARED): (State.BACKUP, "StateChanged"),
    (State.BACKUP, Stimulus.PRIORITY): (State.BACKUP, None),
    (State.MASTER, Stimulus.PRIORITY): (State.MASTER, "SendAdvert"),
    (State.BACKUP, Stimulus.GROUP_MASTER): (State.MASTER, "AddAddresses"),
    (State.MASTER, Stimulus.GROUP_BACKUP): (State.BACKUP, "StateChanged"),
    (State.MASTER, Stimulus.VIPS_REMOVED): (State.MASTER, "AddAddresses"),
    (State.MASTER, Stimulus.RECONFIGURED): (State.MASTER, "RemoveAddresses"),
    (State.MASTER, Stimulus.ANNOUNCE): (State.MASTER, "SendGratuitousArp"),
    (State.BACKUP, Stimulus.MAINTENANCE): (State.BACKUP, "Notice"),
    (State.MASTER, Stimulus.MAINTENANCE): (State.MASTER, "SendAdvert"),
}


def test_every_handled_cell_has_an_expected_outcome() -> None:
    handled = {k for k, cell in DISPATCH.items() if isinstance(cell, Handle)}
    assert handled == set(EXPECTED)


@pytest.mark.parametrize("cell", sorted(DISPATCH, key=lambda k: (k[0].value, k[1].value)))
def test_each_cell_does_what_the_table_says(cell: tuple[State, Stimulus]) -> None:
    state, stimulus = cell
    router = _router_in(state)
    args = ARGUMENTS.get(stimulus, tuple)()
    actions = router.dispatch(stimulus, 30.0, *args)
    if isinstance(DISPATCH[cell], Ignored):
        assert (router.state, actions) == (state, [])
        return
    after, emits = EXPECTED[cell]
    assert router.state is after
    if emits is not None:
        assert emits in [type(a).__name__ for a in actions]
