"""The agent's start order (issue 14 item 4): an owner restarted in maintenance must
never become MASTER, not even for the moment between ``Startup`` and the restore."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.builders import config, instance
from tests.harness import ME
from vrrpd.core import actions as act
from vrrpd.core.events import Event, LinkChanged
from vrrpd.core.node import Node
from vrrpd.core.state import State
from vrrpd.driver.agent import Agent
from vrrpd.driver.commands import Commands


class _Quiet:
    """The kernel, control socket and loop of the agent, doing nothing."""

    async def refresh(self) -> None:
        return None

    async def remove_stale(self) -> list[str]:
        return []

    async def create_vmacs(self, instances: object) -> None:
        return None

    def foreign_vips(self, instances: object) -> list[object]:
        return []

    async def open(self, config: object) -> None:
        return None

    def add_signal_handler(self, *args: object) -> None:
        return None

    def time(self) -> float:
        return 1000.0


class _StartingAgent:
    """What ``Agent._start`` uses: a real core and real ``Commands`` (the maintenance
    file), with every action the core returns recorded."""

    def __init__(self, state_file: Path) -> None:
        cfg = config(instance("web", priority=255, advert_interval=0.1))
        self.config = replace(cfg, global_=replace(cfg.global_, state_file=str(state_file)))
        self.node = Node(self.config)
        self.kernel = self.surface = self.loop = _Quiet()
        self.states = {"web": "INIT"}
        self.commands = Commands(self)  # type: ignore[arg-type]
        self.actions: list[act.Action] = []
        self.stopping = asyncio.Event()

    async def _refresh(self, *, initial: bool = False) -> None:
        self.dispatch(LinkChanged("eth0", True, (ME,)))

    def dispatch(self, event: Event, now: float | None = None, **_: Any) -> None:
        self.actions += self.node.handle(event, now=self.loop.time())

    def _reload_task(self) -> None:
        return None

    def _status_line(self) -> str:
        return "web INIT"


def test_an_owner_restarted_in_maintenance_never_becomes_master(tmp_path: Path) -> None:
    """It was: ``Startup`` first, so the owner (255) became MASTER, added the VIP and
    sent an advert at 255 (the backup yielded), then the restored maintenance made it
    hand back: an outage the clients saw."""
    state = tmp_path / "state.json"
    state.with_suffix(".maintenance.json").write_text(json.dumps({"instances": ["web"]}))
    agent = _StartingAgent(state)
    asyncio.run(Agent._start(agent))  # type: ignore[arg-type]
    router = agent.node.routers["web"]
    assert (router.state, router.maintenance) == (State.BACKUP, True)
    went = [a.new for a in agent.actions if isinstance(a, act.StateChanged)]
    assert State.MASTER not in went, went
    assert not [a for a in agent.actions if isinstance(a, act.AddAddresses)]
    assert not [a for a in agent.actions if isinstance(a, act.SendAdvert)]


def test_an_owner_started_without_maintenance_becomes_master_at_once(tmp_path: Path) -> None:
    agent = _StartingAgent(tmp_path / "state.json")
    asyncio.run(Agent._start(agent))  # type: ignore[arg-type]
    assert agent.node.routers["web"].state is State.MASTER
    assert [a for a in agent.actions if isinstance(a, act.AddAddresses)]


class _ReloadingAgent:
    """What ``Agent.reload`` uses, with an ``_apply`` the kernel refuses part way."""

    def __init__(self, path: Path) -> None:
        self.config_path = str(path)
        self.marks = 0
        self.refresher = self

    def mark(self) -> None:
        self.marks += 1

    async def _apply(self, config: object) -> None:
        raise OSError(16, "Device or resource busy")

    def _status_line(self) -> str:
        return "web BACKUP"


def test_a_reload_the_kernel_refuses_part_way_leaves_the_agent_running(tmp_path: Path) -> None:
    """CI: a netlink refusal (EBUSY) inside a reload escaped the task and the whole agent
    exited; it must say so, re-read the kernel, and go on."""
    path = tmp_path / "vrrpd.yaml"
    path.write_text(
        "instances:\n  web:\n    interface: eth0\n    vrid: 51\n"
        "    virtual_addresses: [192.0.2.100/24]\n"
    )
    agent = _ReloadingAgent(path)
    message = asyncio.run(Agent.reload(agent))  # type: ignore[arg-type]
    assert message.startswith("reload failed part way"), message
    assert "busy" in message
    assert agent.marks == 1
