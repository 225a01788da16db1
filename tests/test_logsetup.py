"""Log lines for the journal, for people and for log shippers."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import config, instance
from vrrpd import logsetup
from vrrpd.core.config import GlobalConfig, validate


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _emit(tmp_path: Path, fmt: str, journal: bool, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    path = tmp_path / "stderr"
    with path.open("w") as stream:
        info = os.fstat(stream.fileno())
        if journal:
            monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        else:
            monkeypatch.delenv("JOURNAL_STREAM", raising=False)
        logsetup.configure("info", fmt, stream)
        log = logging.getLogger("vrrpd")
        log.debug("not shown at info")
        log.info("[web eth0 v4] BACKUP -> MASTER (priority 150): startup")
        log.warning("check chk failed", extra={"instance": "web", "event": "check"})
        log.error("cannot send")
    return path.read_text().splitlines()


@pytest.mark.usefixtures("restore_logging")
def test_under_the_journal_lines_carry_their_priority_and_no_timestamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _emit(tmp_path, "text", True, monkeypatch) == [
        "<6>[web eth0 v4] BACKUP -> MASTER (priority 150): startup",
        "<4>check chk failed",
        "<3>cannot send",
    ]


@pytest.mark.usefixtures("restore_logging")
def test_for_people_a_timestamp_and_the_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _emit(tmp_path, "text", False, monkeypatch)
    assert len(lines) == 3
    assert lines[1].endswith(" WARNING check chk failed")
    assert lines[1][:4].isdigit()  # 2026-...


@pytest.mark.usefixtures("restore_logging")
def test_json_one_object_per_line_with_the_instance_and_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = [json.loads(line) for line in _emit(tmp_path, "json", True, monkeypatch)]
    assert [o["level"] for o in objects] == ["info", "warning", "error"]
    assert objects[1]["instance"] == "web"
    assert objects[1]["event"] == "check"
    assert objects[0]["time"].endswith("Z")


def test_a_journal_stream_of_another_file_is_not_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    with (tmp_path / "x").open("w") as stream:
        assert not logsetup.to_journal(stream)


def test_log_level_is_validated() -> None:
    bad = config(instance())
    bad = type(bad)(global_=GlobalConfig(log_level="loud"), instances=bad.instances)
    assert [str(p) for p in validate(bad)] == [
        "global.log_level: must be one of debug, info, warning, error (got 'loud')"
    ]
