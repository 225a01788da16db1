"""``script_security``: refuse scripts and track files that a non-root user could change.

A check or notify command runs as root or as ``script_user``; if the program, or
any directory above it, can be changed by another user, that user can make vrrpd
run anything. The rule is Keepalived's, made stricter:

* every component of the path as written (``lstat``: a symlink is judged itself,
  then its target's whole path too) is owned by root, whatever its mode (an owner
  can always chmod), and is not writable by a group other than root's or by others;
  a sticky directory (like /tmp) may be world-writable, since nobody else can
  replace a file in it they do not own;
* every path in the command is checked, not only the program (``/bin/sh /dir/x.sh``
  runs ``/dir/x.sh``): a word that is a path, a path after ``=``, ``:`` or a quote inside
  a word (``env PATH=/dir:/usr/bin x``, ``--rcfile=/dir/rc``, ``-e 'do "/dir/x"'``), a
  relative path (from the agent's working directory), and the interpreter named by the
  program's ``#!`` line;
* a path that does not exist yet is refused when someone else could create it (its
  directory is world- or group-writable, sticky or not: /tmp's sticky bit stops others
  replacing a file, not creating a missing one);
* a POSIX ACL that gives write access to a user or group other than root refuses the
  file as its mode bits would (``setfacl -m u:deploy:rw`` leaves the mode at 0664 root:root);
* shell syntax (``&&``, ``;``, ``|``, ``$(...)``, backticks, redirections, globs)
  outside quotes is refused: what ``/bin/sh -c`` would run cannot be checked (inside
  quotes it is an argument, and the command runs without a shell);
* ``track_files`` paths are judged the same way, since their content moves priority;
* a ``track_processes`` entry without ``user:`` is a warning: any local user can start a
  process of that name (its ``user:`` must exist whatever script_security says).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import stat
import struct
from pathlib import Path

from vrrpd.core.config import Config, Problem

_MAX_LINKS = 40  # like the kernel's ELOOP limit
_MAX_INTERPRETERS = 5  # the kernel's binfmt_script allows 4 levels
_ACL_XATTR = "system.posix_acl_access"
_ACL_USER, _ACL_GROUP, _ACL_MASK = 0x02, 0x08, 0x10
_PATH_IN_WORD = re.compile(r"(?:^|(?<=[=:,'\"\s]))(/[^=:,'\"\s]*)")
"""Absolute paths inside a word: at its start or after ``=``, ``:``, ``,``, a quote or a space."""


def path_candidates(name: str) -> list[str]:
    """Where PATH looks for a bare ``name``, in order, up to the file it finds (all of
    PATH when none): the scripts run with the agent's PATH (``adapters.scripts``), and
    a user who can create ``name`` in any directory before that one runs their own
    program tomorrow, though the one judged today is root's."""
    from vrrpd.adapters.scripts import DEFAULT_PATH  # noqa: PLC0415

    out = []
    for folder in (os.environ.get("PATH") or DEFAULT_PATH).split(":"):
        candidate = os.path.join(folder or ".", name)
        out.append(candidate)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            break
    return out


def program_of(command: str) -> str | None:
    """The program a command starts (its first word), resolved through PATH."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    return words[0] if "/" in words[0] else shutil.which(words[0])


def _acl_writers(path: Path) -> str | None:
    """A user or group other than root that a POSIX access ACL lets write ``path``."""
    try:
        raw = os.getxattr(path, _ACL_XATTR, follow_symlinks=False)
    except OSError:
        return None  # no ACL, or a file system without them
    entries = [struct.unpack_from("<HHI", raw, offset) for offset in range(4, len(raw) - 7, 8)]
    mask = next((perm for tag, perm, _ in entries if tag == _ACL_MASK), 0o7)
    for tag, perm, ident in entries:
        if tag in (_ACL_USER, _ACL_GROUP) and ident != 0 and perm & mask & 0o2:
            kind = "user" if tag == _ACL_USER else "group"
            return f"{path} is writable by {kind} {ident} (POSIX ACL)"
    return None


def _judge(path: Path, info: os.stat_result) -> str | None:
    mode = info.st_mode
    sticky = stat.S_ISDIR(mode) and bool(mode & stat.S_ISVTX)
    if stat.S_ISLNK(mode):
        # A symlink's own mode is meaningless; only who owns it (and its directory) counts.
        return f"{path} is owned by uid {info.st_uid}" if info.st_uid != 0 else None
    if info.st_uid != 0:
        return f"{path} is owned by uid {info.st_uid}"
    if info.st_gid != 0 and mode & stat.S_IWGRP and not sticky:
        return f"{path} is writable by group {info.st_gid}"
    if mode & stat.S_IWOTH and not sticky:
        return f"{path} is writable by everyone"
    return _acl_writers(path)


def _others_can_create_in(folder: Path, info: os.stat_result) -> bool:
    """Whether a user other than root can create an entry in ``folder`` (sticky or not)."""
    mode = info.st_mode
    return bool(mode & stat.S_IWOTH or (info.st_gid != 0 and mode & stat.S_IWGRP))


def writable_by_others(path: Path, _depth: int = 0) -> str | None:
    """Why ``path``, a directory above it or a symlink on the way can be changed by a
    non-root user, else None. Nothing is followed unchecked: each component is
    ``lstat``-ed, and a symlink's target is judged with its whole path in turn."""
    if _depth > _MAX_LINKS:
        return f"{path}: too many levels of symbolic links"
    path = Path(os.path.abspath(path))
    parts = path.parts
    current = Path(parts[0])
    above: os.stat_result | None = None
    for index in range(len(parts)):
        if index:
            current = current / parts[index]
        try:
            info = os.lstat(current)
        except OSError:
            # Missing (a track file not written yet): fine if only root can create it.
            if above is not None and _others_can_create_in(current.parent, above):
                return f"{current} does not exist and others can create it in {current.parent}"
            return None
        above = info
        why = _judge(current, info)
        if why:
            return why
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.readlink(current))
            if not target.is_absolute():
                target = current.parent / target
            rest = Path(target, *parts[index + 1 :])
            return writable_by_others(rest, _depth + 1)
    return None


def command_problems(command: str) -> str | None:
    """Why ``command`` cannot be run under script_security, else None."""
    from vrrpd.adapters.scripts import needs_shell  # noqa: PLC0415  (what runs it decides)

    if needs_shell(command):  # a quoted '&&' is a plain argument: no shell runs it
        return (
            f"refusing {command!r}: shell syntax cannot be checked under script_security "
            "(put it in a root-owned script, or set global.script_security: false)"
        )
    program = program_of(command)
    if program is None:
        return f"cannot find the program of {command!r}"
    if not os.path.exists(program):
        return f"{program} does not exist"
    first, *rest = shlex.split(command)
    searched = path_candidates(first)[:-1] if "/" not in first else []
    words = [program, *searched, *_paths_in(rest)]
    # Each program is judged before it is opened for its ``#!`` line (a FIFO a user put
    # there must be refused, not read); an interpreter may be a script in turn, as for
    # the kernel (binfmt_script), a few levels deep.
    for _level in range(_MAX_INTERPRETERS):
        for word in words:
            why = writable_by_others(Path(word))
            if why:
                return f"refusing {word}: {why} (fix the permissions, or set global.script_security: false)"
        words = _interpreter_of(words[0])
        if not words:
            return None
    return f"refusing {program}: more than {_MAX_INTERPRETERS} levels of #! interpreters"


def _paths_in(words: list[str]) -> list[str]:
    """The paths the arguments name: absolute ones anywhere in a word (``PATH=/a:/b``,
    ``--rcfile=/a``, code quoting ``"/a"``), and relative ones (``dir/x.sh``, judged from
    the working directory the command inherits). A URL's path (``http://host/x``) is
    judged as ``/x`` under the root directory: harmless."""
    found = []
    for word in words:
        found += _PATH_IN_WORD.findall(word)
        if (
            "/" in word
            and not word.startswith(("/", "-"))
            and "://" not in word
            and "=" not in word
        ):
            found.append(word)
    return found


def _interpreter_of(program: str) -> list[str]:
    """The interpreter a ``#!`` line names and the paths in its arguments: a root-owned
    script whose interpreter a user can replace runs that user's code."""
    try:
        fd = os.open(program, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        return []
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []  # never read a FIFO or a device: the load would hang on it
        head = os.read(fd, 256)
    except OSError:
        return []
    finally:
        os.close(fd)
    if not head.startswith(b"#!"):
        return []
    words = head[2:].split(b"\n", 1)[0].decode(errors="replace").split()
    if not words:
        return []
    found = [words[0], *_paths_in(words[1:])]
    if os.path.basename(words[0]) == "env":  # `#!/usr/bin/env NAME`: NAME through PATH
        name = next((w for w in words[1:] if not w.startswith("-") and "=" not in w), None)
        if name is not None and "/" not in name:
            found += path_candidates(name)
    return found


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
    for inst in config.instances:
        for index, track in enumerate(inst.track_processes):
            if track.user is None:
                continue
            path = f"instances.{inst.name}.track_processes[{index}].user"
            try:
                uid_of(track.user)
            except KeyError:
                out.append(Problem(path, f"no user named {track.user!r} on this host"))
            except ValueError as error:
                out.append(Problem(path, str(error)))
    return out


UID_MAX = 2**32 - 2
"""The highest uid the kernel gives a process ((uid_t)-1 means "no change")."""


def uid_of(user: str) -> int:
    """A track_processes ``user``: digits are a uid (a process may run as a uid no account
    names), anything else a user name looked up (KeyError when there is none)."""
    if user.isascii() and user.isdigit():
        uid = int(user)
        if uid > UID_MAX:
            raise ValueError(f"a uid is 0..{UID_MAX} (got {user})")
        return uid
    return pwd.getpwnam(user).pw_uid


def process_warnings(config: Config) -> list[Problem]:
    """A process tracker any local user can satisfy, said where script_security shows the
    operator does not trust local users (scripts are judged against them)."""
    if not config.global_.script_security:
        return []
    return [
        Problem(
            f"instances.{inst.name}.track_processes[{index}]",
            f"any local user can start a process named {track.name!r} and keep this tracker "
            "up after the service died: set user: to the service's user (root for a daemon "
            "whose master runs as root)",
        )
        for inst in config.instances
        for index, track in enumerate(inst.track_processes)
        if track.user is None
    ]


def script_problems(config: Config) -> list[Problem]:
    """Every check, notify program and track file that fails the rule (only the host's
    names are checked when security is off)."""
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
        why = command_problems(command)
        if why:
            problems.append(Problem(path, why))
    for inst in config.instances:
        for index, track in enumerate(inst.track_files):
            why = writable_by_others(Path(track.path))
            if why:
                problems.append(
                    Problem(
                        f"instances.{inst.name}.track_files[{index}]",
                        f"refusing {track.path}: {why} "
                        "(fix the permissions, or set global.script_security: false)",
                    )
                )
    return problems
