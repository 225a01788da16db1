"""Checks and notify hooks, as the driver runs them for the core.

A check's result comes back to the core as ``CheckFinished``; a check that cannot
start (no such user, no permission) is a failed run with its reason, logged and in
``status``: never an exception that stops the agent. Hooks run in one ordered queue
per instance (or sync group), with the documented environment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from vrrpd.adapters import scripts, trackers
from vrrpd.core import actions as act
from vrrpd.core.config import Config
from vrrpd.core.events import CheckFinished, Event
from vrrpd.driver.logs import RateLimit

log = logging.getLogger("vrrpd")
NOTIFY_TIMEOUT = 30.0


def hook_environment(action: act.RunNotify) -> dict[str, str]:
    """CONFIG.md's contract: what every notify script finds in its environment."""
    env = {
        "VRRPD_INSTANCE": action.instance,
        "VRRPD_STATE": action.state,
        "VRRPD_PRIORITY": str(action.priority),
        "VRRPD_REASON": action.reason,
        "VRRPD_VRID": "" if action.vrid is None else str(action.vrid),
        "VRRPD_INTERFACE": action.interface,
        "VRRPD_VIPS": " ".join(action.vips),
    }
    if action.group:
        env["VRRPD_GROUP"] = action.group
    return env


def keepalived_arguments(action: act.RunNotify) -> tuple[str, ...]:
    """``INSTANCE|GROUP NAME STATE PRIORITY``, appended for the generic ``any`` hook."""
    if not action.keepalived_args:
        return ()
    kind = "GROUP" if action.group else "INSTANCE"
    return (kind, action.group or action.instance, action.state, str(action.priority))


class Scripts:
    """Checks, hooks and the file/process poller, as tasks of the agent's TaskGroup."""

    def __init__(
        self,
        dispatch: Callable[[Event], None],
        script_user: Callable[[], str | None],
        publish: Callable[[dict[str, Any]], None] = lambda event: None,
    ) -> None:
        self.dispatch = dispatch
        self.script_user = script_user
        self.publish = publish
        self.limits = RateLimit()
        self._ok: dict[str, bool] = {}
        self._group: asyncio.TaskGroup | None = None
        self._hooks: scripts.HookQueues | None = None
        self._poller: asyncio.Task[None] | None = None

    def bind(self, group: asyncio.TaskGroup) -> None:
        """Run everything from now on in ``group`` (the agent's, once it exists)."""
        self._group = group
        self._hooks = scripts.HookQueues(group, self._hook_done)

    @property
    def group(self) -> asyncio.TaskGroup:
        assert self._group is not None, "bind() first"
        return self._group

    @property
    def hooks(self) -> scripts.HookQueues:
        assert self._hooks is not None, "bind() first"
        return self._hooks

    def poll(self, config: Config) -> None:
        """(Re)start polling the tracked files and processes of ``config``."""
        if self._poller is not None:
            self._poller.cancel()
        # Users looked up now, at load, never per run on the loop (NSS can stall).
        users = {config.global_.script_user} | {c.user for c in config.scripts if c.user}
        scripts.load_identities(sorted(users))
        instances = config.instances
        files = sorted({t.path for i in instances for t in i.track_files})
        tracked = {t.key: t for i in instances for t in i.track_processes}
        processes = [tracked[key] for key in sorted(tracked)]  # one count per name and user
        self._poller = (
            self.group.create_task(trackers.poll(files, processes, self.dispatch), name="trackers")
            if files or processes
            else None
        )

    def run_check(self, action: act.RunCheck) -> None:
        self.group.create_task(self._check(action), name=f"check {action.name}")

    async def _check(self, action: act.RunCheck) -> None:
        outcome = await scripts.run(action.command, timeout=action.timeout, user=action.user)
        success = outcome.exit_code == 0
        said = outcome.error or outcome.output
        now = asyncio.get_running_loop().time()
        # Logged when the result flips; repeated failures at most every 10 s.
        if self._ok.get(action.name) != success:
            self.publish(
                {
                    "event": "check",
                    "check": action.name,
                    "up": success,
                    "exit": outcome.exit_code,
                    "said": said,
                }
            )
        if self._ok.get(action.name) != success or (
            not success and self.limits.allow(f"check:{action.name}", now) is not None
        ):
            log.log(
                logging.INFO if success else logging.WARNING,
                "check %s %s (exit %s in %.3fs)%s",
                action.name,
                "succeeded" if success else "failed",
                outcome.exit_code,
                outcome.duration,
                f": {said}" if said else "",
            )
        self._ok[action.name] = success
        self.dispatch(
            CheckFinished(action.name, success, outcome.exit_code, outcome.duration, said)
        )

    def run_hook(self, action: act.RunNotify) -> None:
        self.hooks.submit(
            action.group or action.instance,
            action.command,
            env=hook_environment(action),
            args=keepalived_arguments(action),
            user=self.script_user(),
            timeout=NOTIFY_TIMEOUT,
        )

    async def join(self) -> None:
        """Wait for queued hooks (the stop hooks at exit), at most NOTIFY_TIMEOUT."""
        try:
            await asyncio.wait_for(self.hooks.join(), NOTIFY_TIMEOUT)
        except TimeoutError:
            log.warning("notify hooks still running at exit")

    @staticmethod
    def _hook_done(hook: scripts.Hook, outcome: scripts.Outcome) -> None:
        log.log(
            logging.INFO if outcome.exit_code == 0 else logging.WARNING,
            "[%s] notify #%d %s %s: exit %s in %.3fs%s",
            hook.key,
            hook.sequence,
            hook.env.get("VRRPD_STATE", ""),
            hook.command,
            outcome.exit_code,
            outcome.duration,
            f" ({outcome.error})" if outcome.error else "",
        )
