"""h16r's adversarial review of issue 16: each test is an attack that worked on main.

The attacker is a local user (uid 1000) or a client of the agent's sockets; each test
names what the attack won before its fix.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from vrrpd.config.security import command_problems, writable_by_others

USER = 1000


@pytest.fixture
def safe(tmp_path: Path) -> Path:
    """A root-owned 0755 directory (pytest's own are root-owned, under /tmp)."""
    tmp_path.chmod(0o755)
    return tmp_path


def user_bin(folder: Path) -> Path:
    """A directory of uid 1000's, with a program of theirs in it."""
    home = folder / "home"
    home.mkdir(mode=0o755)
    (home / "true").write_bytes(Path("/bin/true").read_bytes())
    (home / "true").chmod(0o755)
    os.chown(home / "true", USER, USER)
    os.chown(home, USER, USER)
    return home


# ------------------------------------------------ finding 1: missing paths in drop boxes


def test_a_missing_track_file_in_a_sticky_world_writable_directory_is_refused(
    safe: Path,
) -> None:
    """The sticky bit of a drop box stops others replacing a file; it does not stop them creating a
    missing one: a track file not written yet in such a directory was accepted, then a user wrote
    their own weight into it."""
    drop = safe / "drop"
    drop.mkdir()
    drop.chmod(0o1777)
    assert writable_by_others(drop / "weight")
    assert writable_by_others(drop / "not-yet" / "weight")
    assert command_problems(f"/bin/sh {drop}/check.sh")


def test_a_missing_file_in_a_root_only_directory_is_still_accepted(safe: Path) -> None:
    assert writable_by_others(safe / "weight") is None


# ------------------------------------------------ finding 2: paths inside words


@pytest.mark.parametrize(
    "template",
    [
        "/usr/bin/env PATH={home}:/usr/bin true",
        "/usr/bin/env LD_PRELOAD={home}/true /bin/true",
        "/bin/bash --rcfile={home}/true -i",
        "/usr/bin/perl -e 'do \"{home}/true\"'",
    ],
)
def test_a_path_inside_an_argument_is_checked(safe: Path, template: str) -> None:
    """Only words starting with / were checked: ``env PATH=/home/u:/usr/bin x`` ran the
    user's ``x``, ``LD_PRELOAD=`` their library."""
    assert command_problems(template.format(home=user_bin(safe)))


def test_a_relative_path_argument_is_checked_from_the_working_directory(
    safe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_bin(safe)
    monkeypatch.chdir(safe)
    assert command_problems("/bin/sh home/true")


def test_the_interpreter_of_a_root_owned_script_is_checked(safe: Path) -> None:
    """A root-owned script whose ``#!`` names a user's interpreter runs the user's code."""
    home = user_bin(safe)
    script = safe / "check.sh"
    script.write_text(f"#!{home}/true\nexit 0\n")
    script.chmod(0o755)
    assert command_problems(str(script))


def test_a_url_and_a_root_owned_interpreter_are_still_accepted(safe: Path) -> None:
    script = safe / "check.sh"
    script.write_text("#!/bin/sh -e\nexit 0\n")
    script.chmod(0o755)
    assert command_problems(f"{script} http://192.0.2.1/health --x=/bin/true") is None


# ------------------------------------------------ finding 3: POSIX ACLs


def _set_acl(path: Path, entries: list[tuple[int, int, int]]) -> None:
    raw = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    try:
        os.setxattr(path, "system.posix_acl_access", raw)
    except OSError as error:  # a test machine without ACLs cannot show the attack
        pytest.fail(f"cannot set an ACL on {path}: {error}")


ANY = 0xFFFFFFFF


def test_a_script_a_user_may_write_through_an_acl_is_refused(safe: Path) -> None:
    """``setfacl -m u:deploy:rw check.sh``: mode 0775 root:root, the mode bits say only
    root may write, the user can."""
    script = safe / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o775)
    _set_acl(
        script, [(0x01, 7, ANY), (0x02, 6, USER), (0x04, 5, ANY), (0x10, 7, ANY), (0x20, 5, ANY)]
    )
    assert command_problems(str(script))


def test_an_acl_entry_the_mask_takes_write_from_is_accepted(safe: Path) -> None:
    script = safe / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    _set_acl(
        script, [(0x01, 7, ANY), (0x02, 6, USER), (0x04, 5, ANY), (0x10, 5, ANY), (0x20, 5, ANY)]
    )
    assert command_problems(str(script)) is None
