"""Planned handover without an outage (`vrrpd maintenance on|off`), on the simulated LAN.

Make-before-break: the master releases with priority 0 so the best backup takes over
after its Skew_Time, and keeps answering on the VIP until it hears the new master's
first advert. If nobody takes over within Master_Down_Interval, it stays MASTER and
says so, rather than leaving the address dead.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.builders import config, instance
from tests.harness import ME
from tests.test_sim import lan_of
from vrrpd.core.config import Config, SyncGroupConfig
from vrrpd.core.events import Event, LinkChanged, Startup, TimerFired
from vrrpd.core.node import Node
from vrrpd.core.state import State
from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.driver.commands import Commands
from vrrpd.sim import Lan, outages

VIP = "192.0.2.100"


def _notices(lan: object, host: str) -> list[str]:
    return [e.text for e in lan.timeline if e.host == host]  # type: ignore[attr-defined]


@pytest.mark.parametrize("interval", [1.0, 0.1, 0.01])
def test_maintenance_hands_over_without_an_outage_and_back(interval: float) -> None:
    lan = lan_of({"a": 150, "b": 100}, advert_interval=interval)
    lan.start("a", "b")
    lan.run_until(20.0)
    assert lan.holders(VIP) == ["a"]
    lan.maintenance("a", True)
    lan.run_until(20.0 + skew_time(100, round(interval * 100), 3) + 2 * interval)
    assert lan.holders(VIP) == ["b"]
    assert lan.hosts["a"].state("web") is State.BACKUP
    took = lan.became("b", "web", State.MASTER, after=20.0)
    assert took == pytest.approx(20.0 + skew_time(100, round(interval * 100), 3))
    lan.run_until(40.0)
    assert lan.holders(VIP) == ["b"]  # the drained node stays out, even with the better priority
    stats = lan.hosts["a"].node.statistics().instances["web"]  # type: ignore[union-attr]
    assert stats.maintenance
    assert stats.last_reason.startswith("maintenance: handed over to")
    lan.maintenance("a", False)
    lan.run_until(50.0)
    assert lan.holders(VIP) == ["a"]  # back, by preemption
    assert outages(lan, VIP, 19.0, 50.0) == []  # never without a holder


def test_with_no_backup_the_master_keeps_the_vip_and_says_so() -> None:
    lan = lan_of({"a": 150})
    lan.start("a")
    lan.run_until(10.0)
    lan.maintenance("a", True)
    lan.run_until(10.0 + master_down_interval(150, 100, 3) + 1.0)
    assert lan.holders(VIP) == ["a"]
    assert outages(lan, VIP, 9.0, lan.now) == []
    stats = lan.hosts["a"].node.statistics().instances["web"]  # type: ignore[union-attr]
    assert not stats.maintenance  # the request failed: it is not in maintenance
    assert any("no backup took over within" in text for text in _notices(lan, "a"))


def test_a_backup_in_maintenance_never_takes_over_until_it_is_off() -> None:
    lan = lan_of({"a": 150, "b": 100})
    lan.start("a", "b")
    lan.run_until(10.0)
    lan.maintenance("b", True)
    lan.kill("a")
    lan.run_until(30.0)
    assert lan.holders(VIP) == []  # the operator took b out: it does not serve
    lan.maintenance("b", False)
    lan.run_until(30.5)
    assert lan.holders(VIP) == ["b"]  # no master heard for long: at once


def test_maintenance_survives_a_reload() -> None:
    """Issue 9 §1: the drained node stays out across a reload (the router is kept)."""
    from tests.builders import config, instance
    from vrrpd.core.events import ConfigChanged, MaintenanceRequested
    from vrrpd.core.node import Node

    node = Node(config(instance(priority=150)))
    from tests.harness import ME
    from vrrpd.core.events import LinkChanged, Startup, TimerFired

    node.handle(LinkChanged("eth0", True, (ME,)), now=0.0)
    node.handle(Startup(), now=0.0)
    node.handle(MaintenanceRequested(True), now=1.0)
    node.handle(ConfigChanged(config(instance(priority=160))), now=2.0)  # a soft change
    node.handle(TimerFired(), now=60.0)  # no master heard for a minute
    stats = node.statistics().instances["web"]
    assert stats.maintenance
    assert str(stats.state) == "BACKUP"


def _group_lan(priorities: dict[str, int]) -> Lan:
    lan = Lan()
    for n, (name, priority) in enumerate(priorities.items()):
        cfg = config(
            instance("web", vrid=51, priority=priority, vips=("192.0.2.100/24",)),
            instance("db", vrid=52, priority=priority, vips=("192.0.2.101/24",)),
            groups=(SyncGroupConfig("front", ("web", "db")),),
        )
        lan.add_host(name, cfg, f"192.0.2.{11 + n}")
    return lan


def test_maintenance_of_one_sync_group_member_hands_the_whole_group_over() -> None:
    """Issue 14 item 3: before, `maintenance on web` of group {web, db} made web MASTER
    again with the group (db stayed, and pulled web back), its flag still true."""
    lan = _group_lan({"a": 150, "b": 100})
    lan.start("a", "b")
    lan.run_until(10.0)
    assert lan.holders(VIP) == ["a"]
    assert lan.holders("192.0.2.101") == ["a"]
    lan.maintenance("a", True, "web")
    lan.run_until(30.0)
    assert lan.holders(VIP) == ["b"]
    assert lan.holders("192.0.2.101") == ["b"]
    stats = lan.hosts["a"].node.statistics().instances  # type: ignore[union-attr]
    assert stats["web"].maintenance
    assert stats["db"].maintenance
    assert outages(lan, VIP, 9.0, 30.0) == []
    assert outages(lan, "192.0.2.101", 9.0, 30.0) == []
    lan.maintenance("a", False, "db")  # off for one member is off for the group
    lan.run_until(40.0)
    assert lan.holders(VIP) == ["a"]
    assert lan.holders("192.0.2.101") == ["a"]


class _FakeAgent:
    """What ``Commands.maintenance`` uses of the agent: a real core on the loop's clock
    (the test fires its timer)."""

    def __init__(self, cfg: Config, state_file: Path) -> None:
        self.config = replace(cfg, global_=replace(cfg.global_, state_file=str(state_file)))
        self.loop = asyncio.get_running_loop()
        self.node = Node(self.config)
        self.node.handle(LinkChanged("eth0", True, (ME,)), now=self.loop.time())
        self.node.handle(Startup(), now=self.loop.time())
        for router in self.node.routers.values():  # make them MASTER: nobody else there
            router.on_timer(self.loop.time() + 100)
        self.states = {name: str(r.state) for name, r in self.node.routers.items()}

    def dispatch(self, event: Event) -> None:
        self.node.handle(event, now=self.loop.time())


def test_the_maintenance_state_is_written_before_the_drain_begins(tmp_path: Path) -> None:
    """Issue 14 item 13: the state was written only after the drain, so a crash during
    it forgot the maintenance; and a sync-group member names its whole group."""

    async def run() -> None:
        cfg = config(
            instance("web", vrid=51, priority=150, advert_interval=0.01),
            instance("db", vrid=52, priority=150, advert_interval=0.01, vips=("192.0.2.101/24",)),
            groups=(SyncGroupConfig("front", ("web", "db")),),
        )
        agent = _FakeAgent(cfg, tmp_path / "state.json")
        assert agent.node.routers["web"].state is State.MASTER
        commands = Commands(agent)  # type: ignore[arg-type]
        task = asyncio.create_task(commands.maintenance(True, ["web"]))
        await asyncio.sleep(0.01)
        assert agent.node.routers["web"].draining
        kept = tmp_path / "state.maintenance.json"
        assert json.loads(kept.read_text()) == {"instances": ["db", "web"]}
        while not task.done():  # the driver's timer, coarsely
            agent.node.handle(TimerFired(), now=agent.loop.time())
            await asyncio.sleep(0.002)
        reply = task.result()  # nobody takes over here: the drain fails, and says so
        assert "no backup took over" in reply["error"]
        assert not kept.exists()

    asyncio.run(run())


@pytest.mark.parametrize("restored", ["before-startup", "after-startup"])
@pytest.mark.parametrize("interval", [1.0, 0.1])
def test_an_owner_restarted_in_maintenance_stays_out_without_an_outage(
    interval: float, restored: str
) -> None:
    """Issue 14 item 4: the owner restarted in maintenance became MASTER, the backup
    yielded, and the owner then "handed over" to it (to the backup's last advert):
    589 ms without a holder. Restored before the start, the owner never becomes MASTER;
    restored just after it (the agent's order), it hands back without an outage."""
    lan = lan_of({"a": 255, "b": 100}, advert_interval=interval)
    lan.start("a", "b")
    lan.run_until(10.0)
    assert lan.holders(VIP) == ["a"]
    lan.maintenance("a", True)
    lan.run_until(20.0)
    assert lan.holders(VIP) == ["b"]
    lan.stop("a")
    lan.run_until(25.0)
    if restored == "before-startup":
        lan.start("a", maintenance=True)
    else:
        lan.start("a")
        lan.maintenance("a", True)
    lan.run_until(40.0)
    assert lan.holders(VIP) == ["b"]
    if restored == "before-startup":
        assert lan.became("a", "web", State.MASTER, after=20.0) is None
    assert outages(lan, VIP, 9.0, 40.0) == []
    lan.maintenance("a", False)
    lan.run_until(50.0)
    assert lan.holders(VIP) == ["a"]
    assert outages(lan, VIP, 9.0, 50.0) == []
