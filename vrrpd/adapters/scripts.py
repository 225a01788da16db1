"""Running operators' commands: checks and notify hooks.

* argv, split like a shell splits words; ``/bin/sh -c`` only when the command uses
  shell syntax (pipes, ``&&``, redirections, variables), so quoting works as written.
* Each run is a new session: on timeout the whole process group is killed, so a
  check that forked ``curl`` cannot leave it behind. The child is always reaped.
* Output is captured (bounded) for the log.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

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
    command: str,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    user: str | None = None,
) -> Outcome:
    """Run one command to completion or to its timeout; never raises for the command's sake.

    ``user`` switches user when running as root (the agent normally is); otherwise
    the command runs as the agent's own user.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    full_env = {**os.environ, **(env or {})}
    try:
        identity = _identity(user) if user and os.geteuid() == 0 else {}
        process = await asyncio.create_subprocess_exec(
            *argv(command),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
            **identity,
        )
    except (OSError, ValueError, KeyError) as error:  # KeyError: unknown user
        reason = error.strerror if isinstance(error, OSError) else f"unknown user {user!r}"
        return Outcome(None, loop.time() - start, "", error=f"cannot start: {reason}")
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        why_not = _kill_group(process.pid)
        if not why_not:
            await process.wait()
        return Outcome(
            None,
            loop.time() - start,
            "",
            timed_out=True,
            error=f"timed out after {timeout:g}s and {why_not}"
            if why_not
            else f"killed after {timeout:g}s timeout",
        )
    except asyncio.CancelledError:
        if not _kill_group(process.pid):
            await process.wait()
        raise
    text = output[:_OUTPUT_LIMIT].decode(errors="replace").strip()
    return Outcome(process.returncode, loop.time() - start, text)


def _identity(user: str) -> dict[str, Any]:
    """The user *and* its primary group, and no supplementary groups: switching only the
    uid would leave a check running as nobody with root's group and root's groups."""
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _kill_group(pid: int) -> str:
    """Kill a run's whole process group: '' when it is gone, else why it could not be.

    Never raises: a check that cannot be killed (no CAP_KILL over another user's
    processes) is a failed check and an error in the log, not a stopped agent.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return ""
    except PermissionError as error:
        return f"could not be killed: {error.strerror} (the agent needs CAP_KILL)"
    return ""


@dataclass(frozen=True, slots=True)
class Hook:
    """One notify command to run, with its sequence number and environment."""

    sequence: int
    key: str
    command: str
    env: dict[str, str]
    args: tuple[str, ...]
    user: str | None
    timeout: float


class HookQueues:
    """One ordered queue per instance (or sync group): a hook never starts before the
    previous hook of the same key ended or timed out, and hooks never block the protocol
    (the queues are drained by their own tasks)."""

    def __init__(self, group: asyncio.TaskGroup, report: Callable[[Hook, Outcome], None]) -> None:
        self.group = group
        self.report = report
        self.queues: dict[str, asyncio.Queue[Hook]] = {}
        self.sequence = 0

    def submit(
        self,
        key: str,
        command: str,
        *,
        env: dict[str, str],
        args: tuple[str, ...],
        user: str | None,
        timeout: float,
    ) -> Hook:
        self.sequence += 1
        hook = Hook(
            self.sequence,
            key,
            command,
            {**env, "VRRPD_SEQUENCE": str(self.sequence)},
            args,
            user,
            timeout,
        )
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = asyncio.Queue()
            self.group.create_task(self._drain(queue), name=f"hooks {key}")
        queue.put_nowait(hook)
        return hook

    async def _drain(self, queue: asyncio.Queue[Hook]) -> None:
        while True:
            hook = await queue.get()
            try:
                outcome = await run(
                    hook.command, timeout=hook.timeout, env=hook.env, args=hook.args, user=hook.user
                )
                self.report(hook, outcome)
            finally:
                queue.task_done()

    async def join(self) -> None:
        """Wait for every queued hook (stop hooks on shutdown)."""
        for queue in list(self.queues.values()):
            await queue.join()
