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
