"""script_security as Keepalived's rule, and stricter (issue 16, item 2).

Each case is one a local user could use to make the agent run their code: a file
they own (they can chmod it whatever its mode), a symlink in a directory they can
write, a second path in the command, shell syntax, a track file they can rewrite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vrrpd.config.loader import ConfigInvalid, loads

USER = 1000
INSTANCE = "instances:\n  web:\n    interface: eth0\n    vrid: 51\n    virtual_addresses: [192.0.2.100/24]\n"


def problems(text: str) -> list[str]:
    try:
        loads("global: {script_security: true}\n" + text, "c.yaml")
    except ConfigInvalid as error:
        return [str(e) for e in error.errors]
    return []


def check(command: str) -> str:
    return f"scripts:\n  chk: {{command: '{command}'}}\n" + INSTANCE


def script(folder: Path, name: str = "x.sh", mode: int = 0o755) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


@pytest.fixture
def safe(tmp_path: Path) -> Path:
    """A root-owned 0755 directory (pytest's own are root-owned too, under /tmp)."""
    tmp_path.chmod(0o755)
    return tmp_path


def test_a_root_owned_script_in_root_owned_directories_is_accepted(safe: Path) -> None:
    assert problems(check(str(script(safe)))) == []


def test_a_script_owned_by_a_user_is_refused_even_with_mode_0555(safe: Path) -> None:
    path = script(safe, mode=0o555)
    os.chown(path, USER, USER)
    [error] = problems(check(str(path)))
    assert f"{path} is owned by uid {USER}" in error


def test_a_directory_owned_by_a_user_is_refused_even_with_mode_0555(safe: Path) -> None:
    folder = safe / "d"
    folder.mkdir()
    path = script(folder)
    os.chown(folder, USER, USER)
    folder.chmod(0o555)
    [error] = problems(check(str(path)))
    assert f"{folder} is owned by uid {USER}" in error


def test_a_symlink_in_a_world_writable_directory_is_refused(safe: Path) -> None:
    target = script(safe)
    open_dir = safe / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    link = open_dir / "x.sh"
    link.symlink_to(target)
    [error] = problems(check(str(link)))
    assert f"{open_dir} is writable by everyone" in error


def test_a_symlink_to_a_users_script_is_refused(safe: Path) -> None:
    target = script(safe, "mine.sh")
    os.chown(target, USER, USER)
    link = safe / "x.sh"
    link.symlink_to(target)
    [error] = problems(check(str(link)))
    assert f"{target} is owned by uid {USER}" in error


def test_every_path_word_is_checked_not_only_the_program(safe: Path) -> None:
    folder = safe / "d"
    folder.mkdir()
    path = script(folder)
    folder.chmod(0o777)
    [error] = problems(check(f"/bin/sh {path}"))
    assert f"{folder} is writable by everyone" in error


@pytest.mark.parametrize(
    "template",
    [
        "/bin/true && {p}",
        "/bin/true; {p}",
        "/bin/true | {p}",
        "/bin/echo $({p})",
        "/bin/echo `{p}`",
        "{p} > /tmp/out",
    ],
)
def test_shell_syntax_is_refused(safe: Path, template: str) -> None:
    [error] = problems(check(template.format(p=script(safe))))
    assert "shell syntax cannot be checked under script_security" in error


def test_shell_syntax_is_allowed_when_script_security_is_off(safe: Path) -> None:
    text = "global: {script_security: false}\n" + check(f"/bin/true && {script(safe)}")
    assert loads(text, "c.yaml").scripts[0].name == "chk"


def test_a_track_file_others_can_write_is_refused(safe: Path) -> None:
    folder = safe / "flags"
    folder.mkdir()
    folder.chmod(0o777)
    text = INSTANCE + f"    track_files: [{{path: {folder / 'weight'}}}]\n"
    [error] = problems(text)
    assert "instances.web.track_files[0]" in error
    assert f"{folder} is writable by everyone" in error
    folder.chmod(0o755)
    (folder / "weight").write_text("5\n")
    os.chown(folder / "weight", USER, USER)
    [error] = problems(text)
    assert f"is owned by uid {USER}" in error
    os.chown(folder / "weight", 0, 0)
    assert problems(text) == []


def test_a_url_argument_is_not_taken_for_a_path(safe: Path) -> None:
    assert problems(check(f"{script(safe)} http://127.0.0.1/ 200 1")) == []


def test_shell_characters_inside_quotes_are_arguments_not_shell_syntax(safe: Path) -> None:
    """`vrrpd convert` quotes Keepalived's `&&` arguments (no shell runs the command):
    script_security checks such a command like any other instead of refusing it."""
    text = f"scripts:\n  chk: {{command: \"{script(safe)} '&&' '$HOME'\"}}\n" + INSTANCE
    assert problems(text) == []
    text = f'scripts:\n  chk: {{command: "{script(safe)} \\"$HOME\\""}}\n' + INSTANCE
    [error] = problems(text)  # "$HOME" in double quotes: the shell expands it
    assert "shell syntax cannot be checked under script_security" in error
