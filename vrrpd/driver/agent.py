"""The agent: lifecycle, signals, the task group, ``dispatch``, the one timer, reload.

* The only caller of ``node.handle``; after every call (or every batch of received
  packets) it re-arms one ``loop.call_at(node.next_deadline())``.
* The core is never read beyond its public surface (``handle``, ``next_deadline``,
  ``statistics``): actions carry what their executor needs.
* SIGTERM/SIGINT: ``Shutdown`` (priority 0, VIPs removed), drain, exit 0. SIGHUP (or
  ``vrrpd reload``): validate the new file fully first; keep the old one and say why
  when it is invalid; sockets, virtual MACs and the control socket follow the new one.
* Every task belongs to one TaskGroup: an unexpected exception stops the agent
  loudly (systemd restarts it) instead of leaving it half alive.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from vrrpd import metrics
from vrrpd.adapters import http, systemd, trackers
from vrrpd.adapters.rawsock import VrrpSocket
from vrrpd.config.loader import ConfigInvalid, load
from vrrpd.control import server as control
from vrrpd.core import actions as act
from vrrpd.core.config import Config
from vrrpd.core.events import (
    AddressesRemoved,
    ConfigChanged,
    DatagramReceived,
    Event,
    LinkChanged,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.node import Node
from vrrpd.driver import plan
from vrrpd.driver.executor import Executor
from vrrpd.driver.kernel import Coalescer, Kernel
from vrrpd.driver.logs import prefixes
from vrrpd.driver.scripts import Scripts
from vrrpd.status import status_document

log = logging.getLogger("vrrpd")
TIMER_SLACK = 0.0015
"""Seconds the timer is armed before its deadline (see ``Agent._fire``)."""


class _Stopped(Exception):
    """Leaves the TaskGroup once shutdown has drained (cancels the other tasks)."""


class Agent:
    def __init__(self, config: Config, config_path: str | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.node = Node(config)
        self.loop = asyncio.get_running_loop()
        self.kernel = Kernel(config.global_.state_file)
        self.refresher = Coalescer(self._refresh)
        self.executor = Executor(
            self.kernel,
            prefix=self._prefix,
            run_check=self._run_check,
            run_hook=self._run_hook,
            state_changed=self._state_changed,
        )
        self.scripts: Scripts
        self.group: asyncio.TaskGroup | None = None
        self.stopping = asyncio.Event()
        self.states: dict[str, str] = {i.name: "INIT" for i in config.instances}
        self._prefixes = prefixes(config.instances)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._known: dict[str, LinkChanged] = {}
        self._poller: asyncio.Task[None] | None = None
        self._control: tuple[asyncio.Server, str] | None = None
        self._metrics: asyncio.Server | None = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        await self.kernel.open()
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                self.scripts = Scripts(
                    group, self.dispatch, lambda: self.config.global_.script_user
                )
                await self._start()
                group.create_task(self.executor.forever(), name="kernel lane")
                group.create_task(self.kernel.events(self.refresher.mark), name="netlink")
                group.create_task(self.refresher.run(), name="refresh")
                self._start_polling()
                await self.stopping.wait()
                await self._stop()
                raise _Stopped
        except* _Stopped:
            pass
        finally:
            self._close()
            await self.kernel.close()
        return 0

    async def _start(self) -> None:
        await self.kernel.refresh()
        for stale in await self.kernel.remove_stale():
            log.warning("removed VIP %s left behind by a previous run", stale)
        await self.kernel.refresh()
        await self.kernel.create_vmacs(self.config.instances)
        await self._refresh(initial=True)
        await self._open_control(self.config)
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGHUP, self._reload_task)
        # Sockets are open: ready. The instances' first states follow as STATUS= lines.
        systemd.notify("READY=1", f"STATUS={self._status_line()}")
        self.dispatch(Startup())
        log.info("vrrpd started: %d instance(s)", len(self.config.instances))

    async def _stop(self) -> None:
        systemd.notify("STOPPING=1")
        log.info("stopping: releasing mastership and VIPs")
        self.dispatch(Shutdown())
        await self.executor.join()
        await self.kernel.vmacs.remove_all()
        await self.scripts.join()  # the stop hooks

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._control is not None:
            control.close(*self._control)
        if self._metrics is not None:
            self._metrics.close()

    # ------------------------------------------------------------------ the core

    def dispatch(self, event: Event, now: float | None = None, *, rearm: bool = True) -> None:
        actions = self.node.handle(event, now=self.loop.time() if now is None else now)
        if actions:
            self.executor.submit(actions)
        if rearm:
            self._rearm()

    def _rearm(self) -> None:
        deadline = self.node.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = (
            None
            if deadline is None
            else self.loop.call_at(deadline - TIMER_SLACK, self._fire, deadline)
        )

    def _fire(self, deadline: float) -> None:
        """The one timer: woken a little early, it waits out the rest precisely.

        The event loop's poll timeouts are whole milliseconds, rounded up, so a timer
        armed at the deadline fires up to ~1 ms late. Armed TIMER_SLACK early, the
        remainder is slept with nanosecond resolution: deadlines are met to ~0.1 ms
        at the cost of holding the loop for at most TIMER_SLACK per timer.
        """
        self._timer = self._timer_at = None
        remaining = deadline - self.loop.time()
        if remaining > 0:
            time.sleep(remaining)
        self.dispatch(TimerFired(), now=max(deadline, self.loop.time()))

    def _readable(self, sock: VrrpSocket) -> None:
        """Drain the socket, then arm the timer once for the whole batch."""
        while (received := sock.receive()) is not None:
            event = DatagramReceived(
                sock.interface, sock.family, received.src, received.dst, received.ttl, received.data
            )
            self.dispatch(event, rearm=False)
        self._rearm()

    def _run_check(self, action: act.RunCheck) -> None:
        self.scripts.run_check(action)

    def _run_hook(self, action: act.RunNotify) -> None:
        self.scripts.run_hook(action)

    def _state_changed(self, action: act.StateChanged) -> None:
        self.states[action.instance] = str(action.new)
        systemd.notify(f"STATUS={self._status_line()}")

    # ------------------------------------------------------------------ the kernel's view

    async def _refresh(self, *, initial: bool = False) -> None:
        """Re-read links and addresses; tell the core what changed; match the sockets."""
        await self.kernel.refresh()
        instances = self.config.instances
        self.kernel.sync_sockets(plan.wanted_sockets(instances, self.kernel.links), self._readable)
        added = self.kernel.added()
        view = plan.core_links(
            plan.watched_interfaces(instances), self.kernel.links, self.kernel.addresses, added
        )
        for name, change in view.items():
            if initial or self._known.get(name) != change:
                self._known[name] = change
                if name not in self.kernel.links:
                    log.warning("interface %s does not exist (yet): waiting for it", name)
                self.dispatch(change)
        if self.executor.idle:
            # Only now is the kernel exactly as the ledger says: a difference is someone
            # else's doing (a network manager, an operator) (user-asks #9).
            gone = plan.missing_vips(
                added, self.kernel.links, self.kernel.addresses, self.kernel.parents()
            )
            for interface, lost in gone.items():
                self.dispatch(AddressesRemoved(interface, lost))

    def _start_polling(self) -> None:
        """(Re)start polling the tracked files and processes of the current config."""
        assert self.group is not None
        if self._poller is not None:
            self._poller.cancel()
        instances = self.config.instances
        files = sorted({t.path for i in instances for t in i.track_files})
        processes = sorted({t.name for i in instances for t in i.track_processes})
        self._poller = (
            self.group.create_task(trackers.poll(files, processes, self.dispatch), name="trackers")
            if files or processes
            else None
        )

    # ------------------------------------------------------------------ reload and control

    def _reload_task(self) -> None:
        assert self.group is not None
        self.group.create_task(self.reload(), name="reload")

    async def reload(self) -> str:
        """Re-read the config file; what happened, for the log and the caller."""
        if self.config_path is None:
            return "no configuration file to reload"
        systemd.notify("RELOADING=1")
        try:
            config = load(self.config_path)
        except ConfigInvalid as invalid:
            for error in invalid.errors:
                log.error("reload refused: %s", error)
            message = (
                f"reload refused, still running the previous configuration: {invalid.errors[0]}"
            )
        else:
            await self._apply(config)
            message = "configuration reloaded"
        log.info("%s", message)
        systemd.notify("READY=1", f"STATUS={self._status_line()}")
        return message

    async def _apply(self, config: Config) -> None:
        old, self.config = self.config, config
        self._prefixes = prefixes(config.instances) | self._prefixes
        if config.global_.control_socket != old.global_.control_socket:
            await self._open_control(config)
        await self.kernel.create_vmacs(config.instances)
        self.dispatch(ConfigChanged(config))
        self.states = {i.name: self.states.get(i.name, "INIT") for i in config.instances}
        await self._refresh(initial=True)
        self._start_polling()  # tracked files and processes may have changed
        await self.executor.join()  # the old instances' addresses are gone from their VMACs
        await self.kernel.remove_vmacs(config.instances)

    async def _open_control(self, config: Config) -> None:
        path = config.global_.control_socket
        server = await control.serve(path, self.command, group=config.global_.control_group)
        if self._control is not None:
            control.close(*self._control)  # the old path, never the new one
        self._control = (server, path)
        listen = config.global_.metrics_listen
        if listen and self._metrics is None:
            self._metrics = await http.serve(
                listen,
                lambda: metrics.render(
                    self.node.statistics(), send_errors=self.executor.send_errors
                ),
            )
            log.info("Prometheus metrics on http://%s/metrics", listen)

    async def command(self, name: str) -> dict[str, Any]:
        if name == "status":
            return status_document(self.node.statistics(), send_errors=self.executor.send_errors)
        if name == "reload":
            return {"result": await self.reload()}
        return {"error": f"unknown command {name!r}; known: status, reload"}

    # ------------------------------------------------------------------ words

    def _prefix(self, instance: str) -> str:
        return self._prefixes.get(instance, instance)

    def _status_line(self) -> str:
        return ", ".join(f"{n} {s}" for n, s in self.states.items()) or "no instances"


def run(config: Config, config_path: str | None) -> int:
    """Run the agent until SIGTERM/SIGINT; the exit code."""

    async def main() -> int:
        return await Agent(config, config_path).run()

    return asyncio.run(main())
