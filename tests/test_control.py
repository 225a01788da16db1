"""The control socket's locks: who may ask what (SO_PEERCRED), and bad requests."""

from __future__ import annotations

import asyncio
import grp
import os
from pathlib import Path
from typing import Any

import pytest

from vrrpd.config.loader import ConfigInvalid, loads
from vrrpd.control import protocol, server
from vrrpd.control.client import exchange

ADM = 4242


@pytest.mark.parametrize(
    ("command", "uid", "groups", "status_gid", "allowed"),
    [
        ("status", 0, frozenset(), None, True),
        ("reload", 0, frozenset(), None, True),
        ("status", 1000, frozenset({ADM}), ADM, True),
        ("reload", 1000, frozenset({ADM}), ADM, False),
        ("maintenance", 1000, frozenset({ADM}), ADM, False),
        ("status", 1000, frozenset({100}), ADM, False),
        ("status", 1000, frozenset({ADM}), None, False),
    ],
)
def test_reading_for_root_and_the_group_changing_for_root_only(
    command: str, uid: int, groups: frozenset[int], status_gid: int | None, allowed: bool
) -> None:
    refusal = protocol.authorize(command, uid=uid, groups=groups, status_gid=status_gid)
    assert (refusal == "") is allowed
    if not allowed:
        assert refusal.startswith("permission denied")


def test_an_unknown_control_group_is_a_config_error() -> None:
    text = (
        "global: {control_group: no-such-group-here}\n"
        "instances:\n  web: {interface: eth0, vrid: 51, virtual_addresses: [192.0.2.100/24]}\n"
    )
    with pytest.raises(ConfigInvalid) as info:
        loads(text, "x.yaml")
    assert [str(e) for e in info.value.errors] == [
        "x.yaml:1:25: global.control_group: no group named 'no-such-group-here' on this host"
    ]


def test_a_real_socket_answers_bad_requests_with_errors_and_keeps_serving(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")

    async def handler(command: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"result": command}

    async def scenario() -> list[dict[str, Any]]:
        srv = await server.serve(path, handler)
        loop = asyncio.get_running_loop()
        replies = []
        for payload in (
            b"not json\n",
            b"[1, 2]\n",
            b'{"command": "' + b"x" * (protocol.MAX_LINE + 10) + b'"}\n',
            b'{"command": "status"}\n',
        ):
            replies.append(await loop.run_in_executor(None, exchange, path, payload))
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        server.close(srv, path)
        return replies

    replies = asyncio.run(scenario())
    assert "not JSON" in replies[0]["error"]
    assert "JSON object" in replies[1]["error"]
    assert "error" in replies[2]
    assert replies[3] == {"result": "status"}  # as root, the peer check lets it through


def test_a_group_gets_a_0660_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "g.sock")
    group = grp.getgrgid(os.getgid()).gr_name

    async def handler(command: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"result": command}

    async def scenario() -> int:
        srv = await server.serve(path, handler, group=group)
        mode = os.stat(path).st_mode & 0o777
        server.close(srv, path)
        return mode

    assert asyncio.run(scenario()) == 0o660


def test_watchers_get_every_event_and_a_slow_one_is_dropped() -> None:
    from vrrpd.driver import watch

    async def scenario() -> tuple[list[str], list[str]]:
        hub = watch.Watchers()
        fast, slow = hub.subscribe(), hub.subscribe()
        assert (await anext(fast))["event"] == "watching"
        assert (await anext(slow))["event"] == "watching"
        for n in range(watch.QUEUE + 1):  # the slow one never reads: it overflows
            hub.publish({"event": "state", "n": n})
            if n < 3:
                assert (await anext(fast))["n"] == n
        seen_slow = [str(e["event"]) async for e in slow]
        assert len(hub) == 1  # only the one that keeps up
        await fast.aclose()
        assert len(hub) == 0
        return ["fast ok"], seen_slow[-1:]

    fast, last = asyncio.run(scenario())
    assert fast == ["fast ok"]
    assert last == ["dropped"]


def test_watch_streams_over_a_real_socket_and_is_read_only(tmp_path: Path) -> None:
    from vrrpd.control.client import stream
    from vrrpd.driver.watch import Watchers

    path = str(tmp_path / "w.sock")
    hub = Watchers()

    async def handler(command: str, request: dict[str, Any]) -> Any:
        return hub.subscribe() if command == "watch" else {"result": command}

    async def scenario() -> list[dict[str, Any]]:
        srv = await server.serve(path, handler)
        loop = asyncio.get_running_loop()

        def read_three() -> list[dict[str, Any]]:
            out = []
            for event in stream(path, "watch"):
                out.append(event)
                if len(out) == 3:
                    break
            return out

        reading = loop.run_in_executor(None, read_three)
        while not len(hub):
            await asyncio.sleep(0.01)
        hub.publish({"event": "state", "instance": "web", "new": "MASTER"})
        hub.publish({"event": "check", "check": "chk", "up": False})
        got = await reading
        server.close(srv, path)
        return got

    events = asyncio.run(scenario())
    assert [e["event"] for e in events] == ["watching", "state", "check"]
    assert events[1]["new"] == "MASTER"
    assert "time" in events[1]
    assert protocol.authorize("watch", uid=1000, groups=frozenset({7}), status_gid=7) == ""
