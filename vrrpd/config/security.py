"""``script_security``: refuse scripts that a non-root user could change.

A check or notify command runs as root or as ``script_user``; if the program, or
any directory above it, is writable by another user, that user can make vrrpd
run anything. The rule is Keepalived's: the file and every parent directory must
be writable by root only. A sticky directory (like /tmp) is accepted, since
nobody else can replace a file in it they do not own.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import stat
from pathlib import Path

from vrrpd.core.config import Config, Problem


def program_of(command: str) -> str | None:
    """The program a command starts (its first word), resolved through PATH."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    return words[0] if "/" in words[0] else shutil.which(words[0])


def writable_by_others(path: Path) -> str | None:
    """Why ``path`` or a directory above it is writable by a non-root user, else None."""
    current = path
    while True:
        try:
            info = current.stat()
        except OSError:
            return None  # vanished meanwhile: nothing left to judge
        mode = info.st_mode
        is_dir = stat.S_ISDIR(mode)
        sticky = is_dir and bool(mode & stat.S_ISVTX)
        if info.st_uid != 0 and mode & stat.S_IWUSR:
            return f"{current} is owned by uid {info.st_uid}"
        if info.st_gid != 0 and mode & stat.S_IWGRP and not sticky:
            return f"{current} is writable by group {info.st_gid}"
        if mode & stat.S_IWOTH and not sticky:
            return f"{current} is writable by everyone"
        if current.parent == current:
            return None
        current = current.parent


def host_problems(config: Config) -> list[Problem]:
    """Names the configuration takes from this host's account database: a check whose
    user does not exist would fail every run, on every node at once."""
    out = []
    group = config.global_.control_group
    if group is not None:
        try:
            grp.getgrnam(group)
        except KeyError:
            out.append(Problem("global.control_group", f"no group named {group!r} on this host"))
    users = [("global.script_user", config.global_.script_user)]
    users += [(f"scripts.{c.name}.user", c.user) for c in config.scripts if c.user]
    for path, user in users:
        try:
            pwd.getpwnam(user)
        except KeyError:
            out.append(Problem(path, f"no user named {user!r} on this host"))
    return out


def script_problems(config: Config) -> list[Problem]:
    """Every check and notify program that fails the rule (empty when security is off)."""
    if not config.global_.script_security:
        return host_problems(config)
    commands = [(f"scripts.{c.name}.command", c.command) for c in config.scripts]
    for inst in config.instances:
        commands += [
            (f"instances.{inst.name}.notify.{key}", command)
            for key, command in inst.notify.configured()
        ]
    for group in config.sync_groups:
        commands += [
            (f"sync_groups.{group.name}.notify.{key}", command)
            for key, command in group.notify.configured()
        ]
    problems = host_problems(config)
    for path, command in commands:
        program = program_of(command)
        if program is None:
            problems.append(Problem(path, f"cannot find the program of {command!r}"))
            continue
        if not os.path.exists(program):
            problems.append(Problem(path, f"{program} does not exist"))
            continue
        why = writable_by_others(Path(program).resolve())
        if why:
            problems.append(
                Problem(
                    path,
                    f"refusing {program}: {why} (fix the permissions, or set global.script_security: false)",
                )
            )
    return problems
