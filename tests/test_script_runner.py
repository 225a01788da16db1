"""How checks and hooks are run (issue 16, items 8, 12, 13): bounded output, output
that cannot forge log lines, a clean environment, no user lookup per run, children
that die with the agent, and a bounded hook queue."""

from __future__ import annotations

import asyncio
import os
import pwd
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vrrpd.adapters import scripts


def test_output_is_read_up_to_the_limit_and_the_rest_discarded() -> None:
    """200 MB of output must not grow the agent: read in chunks, keep the first few KiB."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    command = (
        f"{sys.executable} -c \"import sys; [sys.stdout.write('y' * 1048576) for _ in range(200)]\""
    )
    outcome = asyncio.run(scripts.run(command, timeout=60))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert outcome.exit_code == 0
    assert len(outcome.output) <= scripts.OUTPUT_LIMIT
    assert grown_mib < 16, f"RSS grew {grown_mib:.0f} MiB"


def test_control_characters_in_output_cannot_forge_log_lines() -> None:
    outcome = asyncio.run(
        scripts.run("/usr/bin/printf", timeout=5, args=("ok\n<0>vrrpd: forged\r\x1b[31m",))
    )
    assert "\n" not in outcome.output
    assert "\r" not in outcome.output
    assert "\x1b" not in outcome.output
    assert outcome.output == "ok\\n<0>vrrpd: forged\\r\\x1b[31m"


def test_runs_get_a_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/systemd/notify")
    monkeypatch.setenv("SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    outcome = asyncio.run(scripts.run("/usr/bin/env", timeout=5, env={"VRRPD_STATE": "MASTER"}))
    names = {line.split("=", 1)[0] for line in outcome.output.split("\\n")}
    assert names == {"PATH", "LANG", "VRRPD_STATE"}


def test_the_user_is_looked_up_at_load_not_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = pwd.getpwnam

    def counting(name: str) -> pwd.struct_passwd:
        calls.append(name)
        return real(name)

    monkeypatch.setattr(pwd, "getpwnam", counting)
    scripts.load_identities(["nobody"])
    assert calls == ["nobody"]

    async def three() -> None:
        for _ in range(3):
            await scripts.run("/usr/bin/id -u", timeout=5, user="nobody")

    asyncio.run(three())
    assert calls == ["nobody"]


def test_a_check_dies_with_the_agent(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: the agent killed with SIGKILL (no cleanup runs) takes its checks."""
    pidfile = tmp_path / "pid"
    agent = textwrap.dedent(
        f"""
        import asyncio
        from vrrpd.adapters import scripts
        asyncio.run(scripts.run("/bin/sh", args=("-c", "echo $$ > {pidfile}; exec sleep 60"), timeout=120))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", agent])
    try:
        deadline = time.monotonic() + 10
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child = int(pidfile.read_text())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        # A zombie reaped by init counts as gone once its state is Z.
        stat = Path(f"/proc/{child}/stat").read_text() if Path(f"/proc/{child}").exists() else ""
        if not stat or stat.split(")")[1].split()[0] == "Z":
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the check outlived the agent")


def test_the_hook_queue_is_bounded_dropping_the_oldest_pending() -> None:
    done: list[int] = []

    async def scenario() -> tuple[int, int]:
        async with asyncio.TaskGroup() as group:
            queues = scripts.HookQueues(group, lambda hook, outcome: done.append(hook.sequence))
            for _ in range(scripts.MAX_PENDING_HOOKS + 50):
                queues.submit("web", "/bin/true", env={}, args=(), user=None, timeout=5)
            await queues.join()
            for task in asyncio.all_tasks():
                if task.get_name().startswith("hooks "):
                    task.cancel()
        return len(done), queues.dropped

    count, dropped = asyncio.run(scenario())
    assert count <= scripts.MAX_PENDING_HOOKS + 1
    assert dropped >= 49
    assert done[-1] == scripts.MAX_PENDING_HOOKS + 50  # the newest state always runs


def test_a_run_cancelled_while_it_is_being_started_is_killed_and_reaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs are started in a thread (off the event loop): a check or hook cancelled in
    that moment (a reload, a stop) must not leave its command running, nor a zombie."""
    started: list[subprocess.Popen[bytes]] = []
    real = scripts._start

    def slow_start(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        time.sleep(0.2)  # still starting when the caller is cancelled
        process = real(*args, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    monkeypatch.setattr(scripts, "_start", slow_start)

    async def scenario() -> None:
        task = asyncio.create_task(scripts.run("/bin/sleep 60", timeout=120))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 5
        while not (started and started[0].returncode is not None):
            assert time.monotonic() < deadline, "the run was left running"
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert started[0].returncode == -signal.SIGKILL


def test_runs_outlive_the_threads_of_the_loop_default_executor() -> None:
    """PR_SET_PDEATHSIG fires when the *thread* that forked the child ends: runs started
    from the loop's default executor would be killed when asyncio shuts it down."""

    async def scenario() -> scripts.Outcome:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(scripts.run("/bin/sh -c 'sleep 0.5; echo alive'", timeout=5))
        await asyncio.sleep(0.2)
        await loop.shutdown_default_executor()
        return await task

    outcome = asyncio.run(scenario())
    assert (outcome.exit_code, outcome.output) == (0, "alive")


def test_a_command_that_cannot_start_says_why() -> None:
    outcome = asyncio.run(scripts.run("/nonexistent/check", timeout=5))
    assert outcome.exit_code is None
    assert outcome.error == "cannot start: No such file or directory"


def test_a_run_that_could_not_be_killed_is_still_reaped_when_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without CAP_KILL over the script user's processes the timeout cannot kill the run;
    it must still be reaped when it ends (asyncio's child watcher did that before runs
    were started off the loop), or every such run leaves a zombie."""
    started: list[subprocess.Popen[bytes]] = []
    real = scripts._start

    def recording(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        process = real(*args, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    monkeypatch.setattr(scripts, "_start", recording)
    monkeypatch.setattr(scripts, "_kill_group", lambda pid: "could not be killed: (test)")

    async def scenario() -> scripts.Outcome:
        outcome = await scripts.run("/bin/sleep 0.3", timeout=0.05)
        deadline = time.monotonic() + 5
        while started[0].returncode is None:
            assert time.monotonic() < deadline, "the run was never reaped"
            await asyncio.sleep(0.05)
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.timed_out
    assert started[0].returncode == 0
