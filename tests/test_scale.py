"""Per-event cost that does not grow with the number of instances, and the repeat path.

Counted, not timed: a timing test on a shared CI core would be flaky, while the number
of deadline computations per advert is exact. Before the heap, a backup with K
instances computed 2K deadlines per received advert (issue 10: 400 calls at K = 200).
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

import pytest

from tests.builders import config, instance
from tests.harness import ME, PEER
from vrrpd.core import node as node_module
from vrrpd.core.config import CheckConfig, Config, TrackScript
from vrrpd.core.constants import Family
from vrrpd.core.events import CheckFinished, DatagramReceived, LinkChanged, Startup, TimerFired
from vrrpd.core.node import Node
from vrrpd.core.packet import Advertisement, encode
from vrrpd.core.state import State
from vrrpd.core.virtual_router import VirtualRouter

MCAST = IPv4Address("224.0.0.18")


def _many(k: int) -> Config:
    return config(
        *(
            instance(f"i{v}", vrid=v, vips=(f"192.0.2.{v}/24",), advert_interval=0.1)
            for v in range(1, k + 1)
        )
    )


def _advert(vrid: int, priority: int = 200) -> bytes:
    advert = Advertisement(3, vrid, priority, 10, (ip_address(f"192.0.2.{vrid}"),))
    return encode(advert, src=PEER, dst=MCAST)


def _backup(cfg: Config) -> Node:
    node = Node(cfg)
    node.handle(LinkChanged("eth0", True, (ME,)), now=0.0)
    node.handle(Startup(), now=0.0)
    return node


@pytest.mark.parametrize("k", [1, 50, 200])
def test_deadline_work_per_advert_does_not_grow_with_instances(
    k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = _backup(_many(k))
    adverts = [_advert(v) for v in range(1, k + 1)]
    calls = 0
    original = VirtualRouter.deadline

    def counting(self: VirtualRouter) -> float | None:
        nonlocal calls
        calls += 1
        return original(self)

    monkeypatch.setattr(VirtualRouter, "deadline", counting)
    now = 0.05
    for _ in range(5):
        for data in adverts:
            node.handle(DatagramReceived("eth0", Family.V4, PEER, MCAST, 255, data), now=now)
            node.next_deadline()
        now += 0.1
    per_advert = calls / (5 * k)
    assert per_advert <= 2, f"{per_advert} deadline computations per advert at K={k}"
    assert all(s.state is State.BACKUP for s in node.statistics().instances.values())


def test_a_repeated_advert_skips_decoding_but_counts_and_restarts_the_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = _backup(_many(1))
    data = _advert(1)
    decodes = 0
    original = node_module.decode

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal decodes
        decodes += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(node_module, "decode", counting)
    for i in range(10):
        node.handle(DatagramReceived("eth0", Family.V4, PEER, MCAST, 255, data), now=1.0 + i * 0.1)
    stats = node.statistics().instances["i1"]
    assert decodes == 1
    assert stats.counters["rcvd_advertisements"] == 10
    assert node.next_deadline() == pytest.approx(1.9 + stats.master_down_interval)
    # another TTL is not a repeat: it is dropped on its TTL, before any decoding
    node.handle(DatagramReceived("eth0", Family.V4, PEER, MCAST, 64, data), now=2.0)
    assert decodes == 1
    assert node.statistics().instances["i1"].counters["ip_ttl_errors"] == 1


def test_a_repeat_is_judged_again_after_our_priority_rose() -> None:
    """The same bytes mean something else once a check raised us above the master."""
    check = CheckConfig("chk", "/bin/true", interval=100.0, weight=100)
    cfg = config(instance(priority=100, track_scripts=(TrackScript("chk"),)), scripts=(check,))
    node = _backup(cfg)
    data = encode(Advertisement(3, 51, 150, 100, (ip_address("192.0.2.100"),)), src=PEER, dst=MCAST)
    rx = DatagramReceived("eth0", Family.V4, PEER, MCAST, 255, data)
    for t in (1.0, 2.0):
        node.handle(rx, now=t)
    node.handle(CheckFinished("chk", True, 0, 0.01), now=2.5)  # priority 100 -> 200
    assert node.statistics().instances["web"].priority == 200
    for t in (3.0, 4.0, 5.0, 6.0, 7.0):
        node.handle(rx, now=t)  # a lower master now: discarded, the timer runs out
        while (d := node.next_deadline()) is not None and d <= t:
            node.handle(TimerFired(), now=d)
    assert node.statistics().instances["web"].state is State.MASTER
