"""Issue 16 item 1: a spoofed-source flood leaves bounded log lines and bounded tables."""

from __future__ import annotations

import asyncio
import logging
import re
from ipaddress import IPv4Address
from typing import Any

import pytest

from vrrpd.core import actions as act
from vrrpd.driver.executor import Executor
from vrrpd.driver.logs import RateLimit


def _executor() -> Executor:
    kernel: Any = object()  # dropped packets never reach the kernel
    return Executor(
        kernel,
        prefix=lambda name: name,
        run_check=lambda a: None,
        run_hook=lambda a: None,
        state_changed=lambda a: None,
    )


def _flood(executor: Executor, count: int) -> None:
    for i in range(count):
        src = IPv4Address(0xC6336400 + i)  # 198.51.100.0 upwards: a new source each
        reason = ("bad checksum", "TTL", "not a peer")[i % 3]
        executor.run_now(act.PacketDropped("web", "eth0", src, reason, "detail"))


def test_a_flood_from_20000_sources_logs_a_few_lines_and_keeps_a_few_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> Executor:
        executor = _executor()
        _flood(executor, 20_000)
        return executor

    with caplog.at_level(logging.WARNING, logger="vrrpd"):
        executor = asyncio.run(main())
    lines = [r for r in caplog.records if r.name == "vrrpd"]
    assert 1 <= len(lines) <= 3 + 1
    tables = [getattr(executor, name) for name in ("limits", "drops") if hasattr(executor, name)]
    assert all(len(t.last) + len(t.held) <= 8 for t in tables)


def test_the_table_is_capped_least_recently_used_out() -> None:
    limit = RateLimit(interval=10, max_keys=100)
    for i in range(10_000):
        limit.allow(f"src{i}", 0.0)
    assert len(limit.last) <= 100
    assert len(limit.held) <= 100
    assert "src9999" in limit.last
    assert "src0" not in limit.last


def test_expired_keys_are_pruned_and_their_held_lines_reported() -> None:
    limit = RateLimit(interval=10, max_keys=100)
    limit.allow("a", 0.0)
    limit.allow("a", 1.0)  # held back
    limit.allow("b", 20.0)
    assert list(limit.last) == ["b"]
    assert limit.report(20.0) == 1


def test_one_global_budget_then_one_suppressed_count() -> None:
    limit = RateLimit(interval=10, budget=5)
    allowed = [limit.allow(f"reason{i}", 1.0) for i in range(50)]
    assert sum(a is not None for a in allowed) == 5
    assert limit.report(5.0) == 0  # the window has not turned yet
    assert limit.report(11.0) == 45
    assert limit.report(12.0) == 0
    assert limit.allow("reason49", 12.0) == 0


def test_the_suppressed_line_is_written_when_the_window_turns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        executor = _executor()
        loop = asyncio.get_running_loop()
        for i in range(60):
            executor.run_now(
                act.PacketDropped(f"i{i}", "eth0", IPv4Address("198.51.100.1"), "TTL", "")
            )
        executor.drops._window -= 11  # the window is over
        executor.run_now(act.PacketDropped("x", "eth0", IPv4Address("198.51.100.1"), "TTL", ""))
        assert loop.time() > 0

    with caplog.at_level(logging.WARNING, logger="vrrpd"):
        asyncio.run(main())
    text = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("suppressed 40 more lines") for line in text), text


def _accounted(caplog: pytest.LogCaptureFixture) -> int:
    """Dropped adverts the log tells of: each line, its "+N more", and "suppressed N"
    (so a test holds whenever a slow machine turns the window mid-flood)."""
    total = 0
    for record in caplog.records:
        line = record.getMessage()
        if " dropped advert from " in line:
            more = re.search(r"\(\+(\d+) more\)$", line)
            total += 1 + (int(more.group(1)) if more else 0)
        elif line.startswith("suppressed "):
            total += int(line.split()[1])
    return total


def test_a_flood_that_stops_still_gets_its_suppressed_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before, the count was written with the next dropped advert only: a flood that
    stopped left its count unreported for good."""

    async def main() -> None:
        executor = _executor()
        executor.drops.interval = 0.2  # the window, shortened for the test
        for i in range(60):  # 20 lines, 40 over the budget; then nothing more
            executor.run_now(
                act.PacketDropped(f"i{i}", "eth0", IPv4Address("198.51.100.1"), "TTL", "")
            )
        await asyncio.sleep(0.5)

    with caplog.at_level(logging.WARNING, logger="vrrpd"):
        asyncio.run(main())
    assert _accounted(caplog) == 60  # 20 lines and "suppressed 40" (20 before the fix)
    assert caplog.records[-1].getMessage().startswith("suppressed ")


def test_lines_held_back_for_one_reason_are_reported_when_the_flood_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One instance and reason: one line, then 99 held back as "+N more" of its next line,
    which never comes once the flood stopped."""

    async def main() -> None:
        executor = _executor()
        executor.drops.interval = 0.2
        _one_reason(executor, 100)
        await asyncio.sleep(0.5)

    with caplog.at_level(logging.WARNING, logger="vrrpd"):
        asyncio.run(main())
    assert _accounted(caplog) == 100  # a line and "suppressed 99" (1 before the fix)
    assert caplog.records[-1].getMessage().startswith("suppressed ")


def _one_reason(executor: Executor, count: int, instance: str = "web") -> None:
    for i in range(count):
        src = IPv4Address(0xC6336400 + i)
        executor.run_now(act.PacketDropped(instance, "eth0", src, "bad checksum", ""))


def test_the_report_timer_fires_once_per_window_not_in_a_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Keys are kept least recently used first, not by time: a key due sits behind one
    that is not. The timer must not fire again and again until the second is due."""
    fired = 0

    async def main() -> None:
        nonlocal fired
        executor = _executor()
        executor.drops.interval = 0.2
        report = executor._report_drops

        def counting() -> None:
            nonlocal fired
            fired += 1
            report()

        executor._report_drops = counting  # type: ignore[method-assign]
        _one_reason(executor, 1, "a")  # a's line
        await asyncio.sleep(0.15)
        _one_reason(executor, 1, "a")  # held: the timer is armed for a's window
        await asyncio.sleep(0.01)
        _one_reason(executor, 1, "b")  # b's line: b after a in the table
        await asyncio.sleep(0.01)
        _one_reason(executor, 1, "a")  # held again: a moves last, behind b, yet due first
        await asyncio.sleep(0.6)

    with caplog.at_level(logging.WARNING, logger="vrrpd"):
        asyncio.run(main())
    assert _accounted(caplog) == 4
    assert fired <= 4


def test_notice_lines_have_one_budget_and_a_suppressed_line_when_the_window_turns(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """h16r3 finding 10: a neighbour sending one valid-looking lower-priority advert per
    VRID a second to a master of 200 instances made 200 "split brain healed" lines a
    second, logged unthrottled. Notice lines now share one budget per window, and the
    count of the rest is written when the window turns, even if no notice follows."""
    from vrrpd.driver import executor as module

    monkeypatch.setattr(module, "NOTICE_WINDOW", 0.2)
    monkeypatch.setattr(module, "NOTICE_LINES", 50)

    async def main() -> None:
        executor = _executor()
        for second in range(3):
            for v in range(200):
                executor.run_now(act.Notice(f"i{v}", f"split brain healed ({second})"))
            await asyncio.sleep(0.25 if second < 2 else 0.3)

    with caplog.at_level(logging.INFO, logger="vrrpd"):
        asyncio.run(main())
    lines = [r.getMessage() for r in caplog.records if r.name == "vrrpd"]
    healed = [line for line in lines if "split brain healed" in line]
    suppressed = [line for line in lines if line.startswith("suppressed")]
    assert len(healed) == 3 * 50  # the budget, in each of the three windows
    assert len(suppressed) == 3  # the last one by the timer: no notice came after it
    counted = sum(int(re.findall(r"suppressed (\d+)", line)[0]) for line in suppressed)
    assert len(healed) + counted == 600
