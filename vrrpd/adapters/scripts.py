"""Running operators' commands: checks and notify hooks.

* argv, split like a shell splits words; ``/bin/sh -c`` only when the command uses
  shell syntax (pipes, ``&&``, redirections, variables), so quoting works as written
  (``script_security`` refuses such commands at load).
* Each run is a new session: on timeout the whole process group is killed, so a
  check that forked ``curl`` cannot leave it behind. The child is always reaped.
  It gets PR_SET_PDEATHSIG (SIGKILL), so it dies with the agent even when the agent
  is killed without cleanup; a grandchild that calls setsid escapes both, and the
  unit's cgroup (KillMode=mixed: SIGKILL to what is left) is the last resort.
* Started off the event loop, in a spawner thread: the preexec_fn and the user switch
  rule out vfork, and a fork on the loop held it about 10 ms per run. The loop follows
  the exit through a pidfd and the output through a read pipe.
* A clean environment: PATH, LANG and the documented VRRPD_* variables, never the
  agent's own (NOTIFY_SOCKET would let a hook speak for the agent to systemd).
* Output: the first OUTPUT_LIMIT bytes are kept, the rest read and discarded (a check
  printing hundreds of megabytes costs a pipe's worth of memory), and control
  characters are escaped so a check cannot forge log lines.
* Users are looked up when the configuration is loaded (``load_identities``), not per
  run: NSS (LDAP, SSSD) can stall, and the event loop sends the adverts.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import ctypes
import functools
import os
import pwd
import shlex
import signal
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

_SHELL_SYNTAX: Final = set("|&;<>()$`*?[]{}~\n")
OUTPUT_LIMIT: Final = 4096
_CHUNK: Final = 65536
MAX_PENDING_HOOKS: Final = 64
"""Hooks waiting per instance; beyond it the oldest waiting one is dropped (the newest
state is what an operator's hook must see)."""
DEFAULT_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PR_SET_PDEATHSIG: Final = 1

_identities: dict[str, dict[str, Any]] = {}


def load_identities(users: Iterable[str]) -> list[str]:
    """Look up ``users`` now (at load, off the hot path); the names not found."""
    missing = []
    fresh: dict[str, dict[str, Any]] = {}
    for user in users:
        try:
            fresh[user] = _identity(user)
        except KeyError:
            missing.append(user)
    _identities.clear()
    _identities.update(fresh)
    return missing


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """PATH and LANG from the agent (or defaults), plus the run's own variables."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "LANG": os.environ.get("LANG") or "C.UTF-8",
    }
    # The operator's own VRRPD_* settings (VRRPD_NOTIFY_LOG for notify_log.sh) pass.
    env.update({k: v for k, v in os.environ.items() if k.startswith("VRRPD_")})
    env.update(extra or {})
    return env


def escape_output(data: bytes) -> str:
    """Text safe for one log line: control characters (newline included) escaped."""
    text = data.decode(errors="replace").strip()
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A preexec_fn: SIGKILL when the agent dies. Run after the uid switch (a change of
    credentials clears the setting); if the agent already died, exit now."""
    libc = _libc()

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(127)

    return setup


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
    if needs_shell(command):
        return ["/bin/sh", "-c", command]
    return shlex.split(command)


def needs_shell(command: str) -> bool:
    """Whether ``command`` has shell syntax a shell would act on: outside quotes, or
    ``$`` and backticks inside double quotes. A quoted ``'&&'`` is a word to the shell
    too, so such a command runs the same without one (how `vrrpd convert` writes
    Keepalived's commands, which Keepalived execs without a shell)."""
    quote = ""
    escaped = False
    for ch in command:
        if escaped:
            escaped = False
        elif quote == "'":
            quote = "" if ch == "'" else quote
        elif ch == "\\":
            escaped = True
        elif quote == '"':
            if ch in "$`":
                return True
            quote = "" if ch == '"' else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _SHELL_SYNTAX:
            return True
    return bool(quote)  # unbalanced: let the shell say so


def _with_args(command: str, args: tuple[str, ...]) -> list[str]:
    """The argv with ``args`` appended. Through the shell they are written at the end of
    the command as ``"$@"`` (``sh -c COMMAND A B`` would make them $0 and $1, which the
    command never sees): the last simple command gets them, as Keepalived's exec would
    give them to the command."""
    words = argv(command)
    if args and words[:2] == ["/bin/sh", "-c"]:
        return ["/bin/sh", "-c", f'{command} "$@"', "sh", *args]
    return [*words, *args]


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
    try:
        identity = _cached_identity(user) if user and os.geteuid() == 0 else {}
    except KeyError:
        return Outcome(None, loop.time() - start, "", error=f"cannot start: unknown user {user!r}")
    spawn = loop.run_in_executor(
        _spawner(),
        functools.partial(
            _start, _with_args(command, args), clean_environment(env), os.getpid(), identity
        ),
    )
    try:
        process = await asyncio.shield(spawn)
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        return Outcome(None, loop.time() - start, "", error=f"cannot start: {reason}")
    except asyncio.CancelledError:
        spawn.add_done_callback(_abandon)
        raise
    run = _Run(loop, process)
    try:
        output = await asyncio.wait_for(run.finish(), timeout)
    except TimeoutError:
        why_not = _kill_group(process.pid)
        if not why_not:
            await run.reap()
        else:
            run.close_output()
            run.exited()  # reaped whenever it ends
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
            await run.reap()
        else:
            run.close_output()
            run.exited()  # reaped whenever it ends
        raise
    return Outcome(process.returncode, loop.time() - start, escape_output(output))


SPAWN_THREADS: Final = 1
"""Threads that start runs. Each must live as long as the agent: PR_SET_PDEATHSIG fires
when the *thread* that forked the child ends, not the process. One: fork holds the GIL
while it copies the page tables, and two threads forking in turn kept the loop from it
longer (64 runs at once: 52-86 ms of stall against 24-44 ms with one)."""
_spawners: list[concurrent.futures.ThreadPoolExecutor] = []


def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    """The agent's own executor, never the loop's default one: asyncio.run shuts that
    one down (its threads end, and the PR_SET_PDEATHSIG of every run they started
    fires) and it is shared with whatever else runs in threads."""
    if not _spawners:
        _spawners.append(
            concurrent.futures.ThreadPoolExecutor(SPAWN_THREADS, thread_name_prefix="vrrpd-spawn")
        )
    return _spawners[0]


def _start(
    words: list[str], env: dict[str, str], parent: int, identity: dict[str, Any]
) -> subprocess.Popen[bytes]:
    """Fork and exec one run, in a spawner thread: with a preexec_fn (and a user switch)
    Python cannot use vfork, so fork copies the agent's page tables and Popen waits for
    the child to exec, about 10 ms; 32 checks due together held the event loop 0.31 s,
    past a 0.1 s advert's master-down interval. The preexec_fn in a process with threads
    (PLW1509): it calls only prctl and getppid, through a libc handle opened before the
    fork, and asyncio's own child watcher already ran threads beside it."""
    return subprocess.Popen(  # noqa: S603  (the operator's command, judged at load)
        words,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent(parent),  # noqa: PLW1509
        **identity,
    )


def _abandon(spawn: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    """A run whose caller was cancelled while it was being started: kill it and reap it
    in the background, as a cancelled run is."""
    if spawn.cancelled() or spawn.exception() is not None:
        return
    process = spawn.result()
    run = _Run(asyncio.get_running_loop(), process)
    run.close_output()
    _kill_group(process.pid)
    run.exited()  # reaped when it ends, killed or not


_running: set[subprocess.Popen[bytes]] = set()
"""Runs left to exit in the background (could not be killed, or reap gave up): held so
that each is reaped when it exits, never dropped as a zombie."""


class _Output(asyncio.Protocol):
    """The run's output: the first OUTPUT_LIMIT bytes kept, the rest dropped as it comes
    (never a paused pipe: a check printing at its timeout cannot stall the run)."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.kept = bytearray()
        self.done = done
        self.transport: asyncio.BaseTransport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.closing:
            transport.close()

    def close(self) -> None:
        """Close the pipe, now or as soon as the transport exists (a run can time out or
        be cancelled while connect_read_pipe is still connecting)."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if len(self.kept) < OUTPUT_LIMIT:
            self.kept += data[: OUTPUT_LIMIT - len(self.kept)]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _Run:
    """A started run, followed from the loop without blocking it: the output through a
    read pipe transport, the exit through a pidfd (readable once the child has exited,
    then reaped with waitpid that returns at once)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, process: subprocess.Popen[bytes]) -> None:
        self.loop = loop
        self.process = process
        self.connecting = False
        self.eof: asyncio.Future[None] = loop.create_future()
        self.output = _Output(self.eof)
        self._exit: asyncio.Future[int] | None = None

    async def finish(self) -> bytes:
        """The first OUTPUT_LIMIT bytes of the output, once it ended and the run exited."""
        assert self.process.stdout is not None
        self.connecting = True
        await self.loop.connect_read_pipe(lambda: self.output, self.process.stdout)
        await self.eof
        await asyncio.shield(self.exited())
        return bytes(self.output.kept)

    def close_output(self) -> None:
        """Close the output pipe: through its transport once one was asked for (the
        transport owns the file then), else the file itself."""
        if self.connecting:
            self.output.close()
        elif self.process.stdout is not None:
            self.process.stdout.close()

    async def reap(self) -> None:
        """Wait for a killed run, without its output: the pipe is closed first, since a
        grandchild that escaped the group (setsid) may hold it open for good."""
        self.close_output()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.exited()), REAP_WAIT)

    def exited(self) -> asyncio.Future[int]:
        """The exit status, once the run has exited; the run is reaped even when nobody
        waits any more."""
        if self._exit is not None:
            return self._exit
        self._exit = exit = self.loop.create_future()
        process = self.process
        _running.add(process)

        def reaped(code: int) -> None:
            _running.discard(process)
            if not exit.done():
                exit.set_result(code)

        try:
            pidfd = os.pidfd_open(process.pid)
        except OSError:  # no pidfd (kernel before 5.3): a thread waits instead
            waiting = self.loop.run_in_executor(None, process.wait)
            waiting.add_done_callback(lambda done: reaped(done.result()))
            return exit

        def readable() -> None:
            code = process.poll()
            if code is not None:
                self.loop.remove_reader(pidfd)
                os.close(pidfd)
                reaped(code)

        self.loop.add_reader(pidfd, readable)
        return exit


REAP_WAIT: Final = 5.0
"""How long a killed run may take to exit before it is left to exit in the background."""


def _cached_identity(user: str) -> dict[str, Any]:
    """The identity looked up at load; a name not seen then is looked up once."""
    identity = _identities.get(user)
    if identity is None:
        identity = _identities[user] = _identity(user)
    return identity


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
    (the queues are drained by their own tasks). At most MAX_PENDING_HOOKS wait per key:
    a flapping instance with a slow hook drops its oldest waiting hooks (counted in
    ``dropped``), never the newest."""

    def __init__(self, group: asyncio.TaskGroup, report: Callable[[Hook, Outcome], None]) -> None:
        self.group = group
        self.report = report
        self.queues: dict[str, collections.deque[Hook]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._idle: dict[str, asyncio.Event] = {}
        self.sequence = 0
        self.dropped = 0

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
            queue = self.queues[key] = collections.deque()
            self._wakeups[key] = asyncio.Event()
            self._idle[key] = asyncio.Event()
            self._idle[key].set()
            self.group.create_task(self._drain(key), name=f"hooks {key}")
        if len(queue) >= MAX_PENDING_HOOKS:
            queue.popleft()
            self.dropped += 1
        queue.append(hook)
        self._idle[key].clear()
        self._wakeups[key].set()
        return hook

    async def _drain(self, key: str) -> None:
        queue, wakeup, idle = self.queues[key], self._wakeups[key], self._idle[key]
        while True:
            if not queue:
                idle.set()
                wakeup.clear()
                await wakeup.wait()
                continue
            hook = queue.popleft()
            outcome = await run(
                hook.command, timeout=hook.timeout, env=hook.env, args=hook.args, user=hook.user
            )
            self.report(hook, outcome)

    async def join(self) -> None:
        """Wait for every queued hook (stop hooks on shutdown)."""
        for idle in list(self._idle.values()):
            await idle.wait()
