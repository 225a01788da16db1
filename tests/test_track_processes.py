"""track_processes' ``user:`` (issue 16 leftover): without it any local user can start a
process with the tracked name and keep a node looking healthy after the service died."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import config, instance
from vrrpd.adapters import trackers
from vrrpd.config.loader import ConfigInvalid, loads, loads_checked
from vrrpd.core.config import TrackProcess
from vrrpd.core.events import Event, ProcessesCounted
from vrrpd.core.node import Node

CONFIG = """\
global:
  script_security: {security}
instances:
  web:
    interface: eth0
    vrid: 51
    virtual_addresses: [192.0.2.100/24]
    track_processes:
      - name: nginx
        user: {user}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        loads(text, "c.yaml")
    return [str(e) for e in info.value.errors]


def test_an_unknown_user_is_a_config_error_at_its_position() -> None:
    text = CONFIG.format(security="false", user="no-such-user-h16f")
    assert _errors(text) == [
        "c.yaml:10:15: instances.web.track_processes[0].user: "
        "no user named 'no-such-user-h16f' on this host"
    ]


def test_a_user_is_a_name_or_a_uid_and_a_uid_in_range() -> None:
    [web] = loads(CONFIG.format(security="false", user="root")).instances
    assert web.track_processes == (TrackProcess("nginx", user="root"),)
    [web] = loads(CONFIG.format(security="false", user="4242")).instances  # no account needed
    assert web.track_processes[0].user == "4242"
    assert _errors(CONFIG.format(security="false", user="4294967295")) == [
        "c.yaml:10:15: instances.web.track_processes[0].user: a uid is 0..4294967294 "
        "(got 4294967295)"
    ]


def test_without_a_user_check_config_warns_when_script_security_is_on() -> None:
    text = CONFIG.replace("        user: {user}\n", "")
    _, warned = loads_checked(text.format(security="true"), "c.yaml")
    [warning] = [str(w) for w in warned if "track_processes" in str(w)]
    assert warning.startswith("c.yaml:9:9: instances.web.track_processes[0]: warning: ")
    assert "any local user can start a process named 'nginx'" in warning
    _, warned = loads_checked(text.format(security="false"), "c.yaml")
    assert not [w for w in warned if "track_processes" in str(w)]
    _, warned = loads_checked(CONFIG.format(security="true", user="root"), "c.yaml")
    assert not [w for w in warned if "track_processes" in str(w)]


@pytest.fixture
def impostor(tmp_path: Path) -> Iterator[str]:
    """A running process whose name is unique to this test (a copy of sleep under that
    name: what a local user would start to look like the tracked service)."""
    name = f"vt{os.getpid() % 100000}h16f"[:15]  # the kernel keeps 15 characters of a name
    program = tmp_path / name
    sleep = shutil.which("sleep")
    assert sleep is not None
    shutil.copy(sleep, program)
    process = subprocess.Popen([str(program), "30"])
    try:
        deadline = time.monotonic() + 5
        while not _running(name) and time.monotonic() < deadline:
            time.sleep(0.01)
        yield name
    finally:
        process.kill()
        process.wait()


def _running(name: str) -> bool:
    return trackers.count_processes([TrackProcess(name)])[name] > 0


def test_only_processes_of_the_tracked_user_count(impostor: str) -> None:
    """Before, every user's process counted: the impostor kept the tracker up."""
    mine, other = os.getuid(), 0 if os.getuid() else 65534
    tracked = [
        TrackProcess(impostor),
        TrackProcess(impostor, user=str(mine)),
        TrackProcess(impostor, user=str(other)),
    ]
    counts = trackers.count_processes(tracked, trackers.uids_of([str(mine), str(other)]))
    assert counts == {
        impostor: 1,
        f"{impostor} [user {mine}]": 1,
        f"{impostor} [user {other}]": 0,
    }


def test_the_poller_looks_users_up_once_and_a_vanished_one_counts_nothing(
    impostor: str,
) -> None:
    """A user deleted between the load and the poller's start: its tracker is down (no
    process counted), never up by mistake, and the agent goes on."""
    events: list[Event] = []
    tracked = [TrackProcess(impostor, user="no-such-user-h16f"), TrackProcess(impostor)]

    async def main() -> None:
        task = asyncio.create_task(trackers.poll([], tracked, events.append, interval=0.05))
        for _ in range(100):  # the first round, however loaded the machine
            await asyncio.sleep(0.05)
            if len(events) >= len(tracked):
                break
        task.cancel()

    asyncio.run(main())
    assert ProcessesCounted(f"{impostor} [user no-such-user-h16f]", 0) in events
    assert ProcessesCounted(impostor, 1) in events


def test_an_instance_follows_its_own_user_s_count() -> None:
    """Two trackers of one name for two users are two counts: the unfiltered count (the
    impostor's too) never satisfies the one with a user."""
    tracks = (
        TrackProcess("nginx", weight=-50, user="root"),
        TrackProcess("nginx", weight=-20, user="www-data"),
    )
    node = Node(config(instance(priority=100, track_processes=tracks)))
    node.handle(ProcessesCounted("nginx", 5), now=1.0)
    node.handle(ProcessesCounted("nginx [user root]", 0), now=1.0)
    node.handle(ProcessesCounted("nginx [user www-data]", 2), now=1.0)
    router = node.routers["web"]
    assert router.priority == 50
    node.handle(ProcessesCounted("nginx [user root]", 1), now=2.0)
    assert router.priority == 100
