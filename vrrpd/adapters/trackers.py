"""Polling the trackers that have no event source: files and processes.

Cheap polling (once a second by default) and an event to the core only when a
value changes. Process counting walks /proc through psutil once per round for
every tracked name together; its cost is measured by ``make bench``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable

from vrrpd.core.config import TrackProcess
from vrrpd.core.events import Event, FileRead, ProcessesCounted

log = logging.getLogger("vrrpd")

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


def uids_of(users: list[str]) -> dict[str, int | None]:
    """Each ``user:`` of the process trackers as a uid (None: no longer on this host,
    so nothing counts for it and its tracker is down, never up by mistake)."""
    from vrrpd.config.security import uid_of  # noqa: PLC0415 - the poller's thread only

    out: dict[str, int | None] = {}
    for user in users:
        try:
            out[user] = uid_of(user)
        except (KeyError, ValueError):
            out[user] = None
            log.warning("track_processes: no user %r on this host: counted as none running", user)
    return out


def count_processes(
    tracked: list[TrackProcess], uids: dict[str, int | None] | None = None
) -> dict[str, int]:
    """Matches per tracker ``key``: the process name, or (with a space or /) the command
    line; with a ``user``, only processes whose real uid is that user's (``uids``)."""
    import psutil  # noqa: PLC0415 - 1.5 MB resident, for configs that track processes only

    uids = uids or {}
    counts = dict.fromkeys((t.key for t in tracked), 0)
    for process in psutil.process_iter(["name", "cmdline"]):
        info = process.info
        command = " ".join(info.get("cmdline") or ())
        real: int | None = None
        for track in tracked:
            name = track.name
            matched = name in command if (" " in name or "/" in name) else info.get("name") == name
            if matched and track.user is not None:
                if real is None:  # read only for a process that matched a name
                    try:
                        real = process.uids().real
                    except psutil.Error:
                        real = -1  # gone, or unreadable: it counts for no user
                matched = real == uids.get(track.user)
            if matched:
                counts[track.key] += 1
    return counts


async def poll(
    files: list[str],
    processes: list[TrackProcess],
    dispatch: Callable[[Event], None],
    interval: float = POLL_INTERVAL,
) -> None:
    """Forever: tell the core about every change (and every value once at the start)."""
    last_files: dict[str, int | None] = {}
    last_counts: dict[str, int] = {}
    # Users looked up once, when the configuration is loaded (the poller starts then), in
    # a thread: NSS (LDAP, SSSD) can stall, and the event loop sends the adverts.
    users = sorted({t.user for t in processes if t.user is not None})
    uids = await asyncio.to_thread(uids_of, users) if users else {}
    while True:
        for path in files:
            value = read_integer(path)
            if path not in last_files or last_files[path] != value:
                last_files[path] = value
                dispatch(FileRead(path, value))
        if processes:
            counts = await asyncio.to_thread(count_processes, processes, uids)
            for key, count in counts.items():
                if last_counts.get(key) != count:
                    last_counts[key] = count
                    dispatch(ProcessesCounted(key, count))
        await asyncio.sleep(interval)
