"""Polling the trackers that have no event source: files and processes.

Cheap polling (once a second by default) and an event to the core only when a
value changes. Process counting walks /proc through psutil once per round for
every tracked name together; its cost is measured by ``make bench``.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable

from vrrpd.core.events import Event, FileRead, ProcessesCounted

POLL_INTERVAL = 1.0


_READ_LIMIT = 64
"""A weight is a few bytes; a file that holds more is read no further."""


def read_integer(path: str) -> int | None:
    """The file's integer (first word), or None when it is missing, holds no integer
    within the first bytes, or is not a regular file. Never blocks: O_NONBLOCK and
    O_NOFOLLOW at open (a FIFO would otherwise hang the loop that sends the adverts,
    a symlink could point anywhere), and fstat must say regular file before any read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _READ_LIMIT + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    head = data[:_READ_LIMIT]
    words = head.split()
    if not words or (len(data) > _READ_LIMIT and len(words) == 1 and not head[-1:].isspace()):
        return None  # nothing, or a first word cut at the bound
    try:
        return int(words[0])
    except ValueError:
        return None


def count_processes(names: list[str]) -> dict[str, int]:
    """Matches per tracked name: the process name, or (with a space or /) the command line."""
    import psutil  # noqa: PLC0415 - 1.5 MB resident, for configs that track processes only

    counts = dict.fromkeys(names, 0)
    for process in psutil.process_iter(["name", "cmdline"]):
        info = process.info
        command = " ".join(info.get("cmdline") or ())
        for name in names:
            matched = name in command if (" " in name or "/" in name) else info.get("name") == name
            if matched:
                counts[name] += 1
    return counts


async def poll(
    files: list[str],
    processes: list[str],
    dispatch: Callable[[Event], None],
    interval: float = POLL_INTERVAL,
) -> None:
    """Forever: tell the core about every change (and every value once at the start)."""
    last_files: dict[str, int | None] = {}
    last_counts: dict[str, int] = {}
    while True:
        for path in files:
            value = read_integer(path)
            if path not in last_files or last_files[path] != value:
                last_files[path] = value
                dispatch(FileRead(path, value))
        if processes:
            counts = await asyncio.to_thread(count_processes, processes)
            for name, count in counts.items():
                if last_counts.get(name) != count:
                    last_counts[name] = count
                    dispatch(ProcessesCounted(name, count))
        await asyncio.sleep(interval)
