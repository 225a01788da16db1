"""Running operators' commands: checks and notify hooks.

* argv, split like a shell splits words; ``/bin/sh -c`` only when the command uses
  shell syntax (pipes, ``&&``, redirections, variables), so quoting works as written.
* Each run is a new session: on timeout the whole process group is killed, so a
  check that forked ``curl`` cannot leave it behind. The child is always reaped.
* Output is captured (bounded) for the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from dataclasses import dataclass
from typing import Final

_SHELL_SYNTAX: Final = set("|&;<>()$`*?[]{}~\n")
_OUTPUT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int | None
    """None when killed at the timeout or when it could not start."""
    duration: float
    output: str
    timed_out: bool = False
    error: str = ""


def argv(command: str) -> list[str]:
    """The argv a command runs as (shell syntax goes through /bin/sh -c)."""
    if any(ch in _SHELL_SYNTAX for ch in command):
        return ["/bin/sh", "-c", command]
    return shlex.split(command)


async def run(
    command: str, *, timeout: float, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Outcome:
    loop = asyncio.get_running_loop()
    start = loop.time()
    full_env = {**os.environ, **(env or {})}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv(command),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
    except OSError as error:
        return Outcome(None, loop.time() - start, "", error=f"cannot start: {error.strerror}")
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return Outcome(
            None,
            loop.time() - start,
            "",
            timed_out=True,
            error=f"killed after {timeout:g}s timeout",
        )
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise
    text = output[:_OUTPUT_LIMIT].decode(errors="replace").strip()
    return Outcome(process.returncode, loop.time() - start, text)
