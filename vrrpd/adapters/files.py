"""Files the agent rewrites whole: replaced in one rename, never seen half written."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over: a reader (or the next start after
    a kill) finds the old content or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.new")
    part.write_text(text)
    os.replace(part, path)


def untrusted(path: Path) -> str | None:
    """Why a file the agent acts on at start (the VIP ledger, the maintenance state) may
    hold what someone else wrote, else None.

    At start every address the ledger lists is removed, as root: a ledger another user
    could write let them remove any address of any interface (h16r3 finding 8), and a
    maintenance file hand any instance over. So it must be the agent's own regular file,
    writable by nobody else, and (for root) in a directory no one else can write, by
    script_security's rule."""
    try:
        info = os.lstat(path)
    except OSError:
        return None  # absent: nothing to act on
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_uid != os.geteuid():
        return f"owned by uid {info.st_uid}"
    if info.st_mode & 0o022:
        return "writable by others"
    if info.st_uid == 0:
        from vrrpd.config.security import writable_by_others  # noqa: PLC0415

        return writable_by_others(path.parent)
    return None
