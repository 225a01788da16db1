"""track_files read without ever blocking the loop (issue 16, item 7)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from vrrpd.adapters import trackers


def read_within(path: Path, seconds: float = 2.0) -> tuple[bool, int | None]:
    """(finished in time, value): the read runs in a thread so a hang fails the test."""
    result: list[int | None] = []
    thread = threading.Thread(target=lambda: result.append(trackers.read_integer(str(path))))
    thread.daemon = True
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), result[0] if result else None)


def test_a_fifo_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "weight"
    os.mkfifo(fifo)
    finished, value = read_within(fifo)
    if not finished:  # unblock the stuck thread before failing
        with open(fifo, "w"):
            pass
    assert finished
    assert value is None


def test_a_symlink_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("7\n")
    (tmp_path / "weight").symlink_to(tmp_path / "real")
    assert read_within(tmp_path / "weight") == (True, None)


def test_only_the_first_bytes_are_read(tmp_path: Path) -> None:
    big = tmp_path / "weight"
    big.write_text("12" + "3" * 10_000_000)
    assert read_within(big) == (True, None)  # not an integer within the bound
    big.write_text("  -42 trailing words\n")
    assert read_within(big) == (True, -42)
    assert read_within(tmp_path) == (True, None)  # a directory
