"""The agent: lifecycle, signals, the task group, ``dispatch``, the one timer, reload.

* The only caller of ``node.handle``; after every call (or every batch of received
  packets) it re-arms one ``loop.call_at(node.next_deadline())``.
* The core is never read beyond its public surface (``handle``, ``next_deadline``,
  ``statistics``): actions carry what their executor needs.
* SIGTERM/SIGINT: each master that has heard another router on its VRID hands over
  first (as ``maintenance on``: priority 0, VIPs kept until the new master is heard),
  bounded by Skew_Time + 2 x the advert interval; then ``Shutdown`` (priority 0 where
  still master, VIPs removed), drain, exit 0. SIGHUP (or
  ``vrrpd reload``): validate the new file fully first; keep the old one and say why
  when it is invalid; sockets, virtual MACs and the control socket follow the new one.
* Every task belongs to one TaskGroup: an unexpected exception stops the agent
  loudly (systemd restarts it) instead of leaving it half alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from vrrpd import logsetup, metrics
from vrrpd.adapters import systemd
from vrrpd.adapters.rawsock import VrrpSocket
from vrrpd.bgp import FrrStatus, bgp_prefixes
from vrrpd.control.server import Reply
from vrrpd.core import actions as act
from vrrpd.core.config import Announce, Config, Election
from vrrpd.core.events import (
    ConfigChanged,
    DatagramReceived,
    Event,
    LinkChanged,
    MaintenanceRequested,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.node import InstanceStatistics, Node
from vrrpd.core.state import State
from vrrpd.core.virtual_router import kept_after_yield
from vrrpd.driver import plan
from vrrpd.driver.commands import Commands
from vrrpd.driver.control import Surface
from vrrpd.driver.executor import Executor
from vrrpd.driver.kernel import Coalescer, Kernel
from vrrpd.driver.logs import prefixes
from vrrpd.driver.scripts import Scripts
from vrrpd.driver.watch import Watchers, state_event

log = logging.getLogger("vrrpd")
TIMER_SLACK = 0.0015
"""Seconds the timer is armed before its deadline (see ``Agent._fire``)."""
RECEIVE_BUDGET = 64
"""Datagrams read per wake-up of a socket (~2 ms of the loop at most): adverts and
timers are served between batches however fast a sender goes."""


class _Stopped(Exception):
    """Leaves the TaskGroup once shutdown has drained (cancels the other tasks)."""


class Agent:
    def __init__(
        self, config: Config, config_path: str | None = None, *, log_level: str | None = None
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.log_level = log_level
        """Set on the command line: then a reload does not change the level."""
        self.node = Node(config)
        self.loop = asyncio.get_running_loop()
        self.kernel = Kernel(config.global_.state_file)
        self.refresher = Coalescer(self._refresh)
        self.watchers = Watchers()
        self.scripts = Scripts(
            self.dispatch, lambda: self.config.global_.script_user, self.watchers.publish
        )
        self.executor = Executor(
            self.kernel,
            prefix=self._prefix,
            run_check=self.scripts.run_check,
            run_hook=self.scripts.run_hook,
            state_changed=self._state_changed,
            publish=self.watchers.publish,
        )
        self.group: asyncio.TaskGroup | None = None
        self.stopping = asyncio.Event()
        self.states: dict[str, str] = {i.name: "INIT" for i in config.instances}
        self._prefixes = prefixes(config.instances)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._follow_stale = True
        """Whether the masters the backups follow may have changed since the kernel was
        last told (``_follow_masters`` walks every instance: at 50 instances that walk,
        once per advert received, was most of a backup's Python work per advert)."""
        self._last_heard: dict[tuple[str, Any, int], tuple[Any, int, int, int]] = {}
        """(interface, family, VRID) -> (source, TTL, length, hash) of the last datagram: one
        that repeats it byte for byte changes no one's master (bounded: 256 VRIDs a socket,
        and a digest each, not the datagram)."""
        self.view = plan.View()
        self.commands = Commands(self)
        self.frr = FrrStatus(lambda: bgp_prefixes(self.config.instances))
        self.surface = Surface(
            self.command,
            lambda: metrics.render(
                self.node.statistics(),
                send_errors=self.executor.send_errors,
                removal_retries=self.kernel.removal_retries,
                socket_drops=self.kernel.socket_drops(),
                announced=self.kernel.announced(self.config.instances),
                frr=self.frr.statuses(self.frr.current()),
            ),
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        await self.kernel.open()
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                self.scripts.bind(group)
                await self._start()
                group.create_task(self.executor.forever(), name="kernel lane")
                group.create_task(self.kernel.events(self.refresher.mark), name="netlink")
                group.create_task(self.refresher.run(), name="refresh")
                self.scripts.poll(self.config)
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
        for name, dev, ip in self.kernel.foreign_vips(self.config.instances):
            log.warning(
                "[%s] VIP %s is on %s and was not added by vrrpd: it is left there, so FRR "
                "announces it from this node whatever its state; remove it from the "
                "system's network configuration",
                name, ip, dev,
            )  # fmt: skip
        await self.kernel.create_vmacs(self.config.instances)
        await self._refresh(initial=True)
        await self.surface.open(self.config)
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGHUP, self._reload_task)
        # Sockets are open: ready. The instances' first states follow as STATUS= lines.
        systemd.notify("READY=1", f"STATUS={self._status_line()}")
        systemd.start_watchdog(self.loop)  # WATCHDOG=1 from this loop, never a thread
        # Maintenance first: an instance in it starts as BACKUP; restored after Startup,
        # an owner (255) was MASTER for a moment and took the VIP from the backup.
        self.commands.restore_maintenance()
        self.dispatch(Startup())
        log.info("vrrpd started: %d instance(s)", len(self.config.instances))

    async def _stop(self) -> None:
        systemd.notify("STOPPING=1")
        await self._hand_over()
        log.info("stopping: releasing mastership and VIPs")
        self.dispatch(Shutdown())
        await self.executor.join()
        await self.kernel.vmacs.remove_all()
        await self.scripts.join()  # the stop hooks

    async def _hand_over(self) -> None:
        """Make-before-break on the way out, so a stop or restart costs the clients nothing.

        Only a master that has heard another router on its VRID since it started waits
        for a successor: a backup is silent while a master speaks, so a master that never
        heard anyone has no evidence of one and releases at once, as Keepalived does.
        The handover is ``maintenance on``'s drain, not persisted (this is no operator's
        maintenance: the next start preempts as usual). Whatever has not been handed over
        by Skew_Time + 2 x the advert interval is released by ``Shutdown`` (priority 0).
        """
        stats = self.node.statistics().instances
        names = tuple(
            n
            for n, s in stats.items()
            if s.state is State.MASTER
            and not s.maintenance
            and (
                int(s.counters["rcvd_advertisements"]) > 0  # type: ignore[call-overload]
                or n in self._routed  # a silent backup behind a router: ask it to take over
            )
        )
        await self._finish_yielding(stats)
        if not names:
            return
        bound = max(stats[n].skew_time + 2 * stats[n].master_adver_interval for n in names)
        grace = max(kept_after_yield(i) for i in self.config.instances if i.name in names)
        log.info("stopping: handing over %s (at most %.3fs)", ", ".join(names), bound)
        self.dispatch(MaintenanceRequested(True, names))
        until = self.loop.time() + bound
        while any(s.state is State.MASTER for n, s in stats.items() if n in names):
            if self.loop.time() >= until:
                left = [n for n in names if stats[n].state is State.MASTER]
                log.warning("stopping: no new master heard for %s: releasing", ", ".join(left))
                return
            await asyncio.sleep(0.002)
            stats = self.node.statistics().instances
        # The new master advertises before its netlink add: the core keeps our VIPs a
        # moment after yielding (``kept_after_yield``: longer through BGP) and removes them itself.
        await asyncio.sleep(grace)

    async def _finish_yielding(self, stats: Mapping[str, InstanceStatistics]) -> None:
        """A ``announce: bgp`` instance that yielded a moment ago (``maintenance on``
        answers once the new master is heard) keeps its route ``announce_hold`` while
        the new master's travels to the routers: a stop in that window waits for it
        instead of withdrawing at once (``maintenance on && systemctl restart``
        withdrew 6 ms after the answer, in the lab). The core removes the VIPs itself
        when the hold is over, on this loop."""
        until = 0.0
        for inst in self.config.instances:
            s = stats.get(inst.name)
            if inst.announce is Announce.BGP and s is not None and s.state is State.BACKUP:
                until = max(until, (s.last_transition_at or 0.0) + kept_after_yield(inst))
        if until > self.loop.time():
            log.info("stopping: keeping the routes of a handover %.3fs", until - self.loop.time())
            await asyncio.sleep(until - self.loop.time())

    @property
    def _routed(self) -> set[str]:
        """``announce: bgp`` instances with unicast peers: withdrawing before a backup has
        announced costs the clients the fabric's convergence (55-65 ms measured), and
        waiting for one that is not there costs only Skew_Time + 2 x the interval."""
        return {
            i.name
            for i in self.config.instances
            if i.announce is Announce.BGP and i.unicast_peers and i.election is Election.VRRP
        }

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.surface.close()

    # ------------------------------------------------------------------ the core

    def dispatch(self, event: Event, now: float | None = None, *, rearm: bool = True) -> None:
        actions = self.node.handle(event, now=self.loop.time() if now is None else now)
        if actions:
            self.executor.submit(actions)
            if not all(type(a) is act.SendAdvert for a in actions):
                self._follow_stale = True  # adverts alone: nobody changed state or master
        elif not isinstance(event, DatagramReceived):
            self._follow_stale = True  # (``_readable`` judges the datagrams without actions)
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
        self._follow_masters()

    def _readable(self, sock: VrrpSocket) -> None:
        """Read at most RECEIVE_BUDGET datagrams, then arm the timer once for the batch.

        The reader is level-triggered: what is left is read on the next turn of the loop,
        after the timers and the other sockets had theirs. Draining to the end instead let
        a flood (above ~30,000 packets/s) hold the loop so long that no advert went out."""
        for _ in range(RECEIVE_BUDGET):
            received = sock.receive()
            if received is None:
                break
            data = received.data
            # A digest, not the datagram: up to 64 KB a VRID byte, kept for good (h16r3
            # finding 16); equal digests of different adverts only skip one re-walk.
            heard = (received.src, received.ttl, len(data), hash(data))
            key = (sock.interface, sock.family, data[1] if len(data) > 1 else -1)
            if self._last_heard.get(key) != heard:
                self._last_heard[key] = heard
                self._follow_stale = True
            event = DatagramReceived(
                sock.interface, sock.family, received.src, received.dst, received.ttl, data
            )
            self.dispatch(event, rearm=False)
        self._rearm()
        self._follow_masters()

    def _follow_masters(self) -> None:
        """Tell the kernel whose adverts go to the sockets' lanes: the masters the backups
        follow (checked after each batch; it changes only when an advert or a timer moves
        an instance, and the kernel re-filters only then)."""
        if not self._follow_stale or not self.kernel.lanes:
            return
        self._follow_stale = False
        followed: dict[plan.SocketKey, set[Any]] = {}
        for router in self.node.routers.values():
            if router.state is State.BACKUP and router.master_address is not None:
                key = (router.config.interface, router.family)
                followed.setdefault(key, set()).add(router.master_address)
        self.kernel.follow({key: tuple(sorted(each)) for key, each in followed.items()})

    def _state_changed(self, action: act.StateChanged) -> None:
        self.states[action.instance] = str(action.new)
        systemd.notify(f"STATUS={self._status_line()}")
        self.watchers.publish(state_event(action))

    # ------------------------------------------------------------------ the kernel's view

    async def _refresh(self, *, initial: bool = False) -> None:
        """Re-read links and addresses; tell the core what changed; match the sockets."""
        if self.stopping.is_set():
            return  # our own VIP removals would only make it re-read the kernel each time
        kernel = self.kernel
        await kernel.refresh()
        instances = self.config.instances
        kernel.sync_sockets(plan.wanted_sockets(instances, kernel.links), self._readable)
        kernel.filter_sockets(instances)
        for event in self.view.events(
            instances,
            kernel.links,
            kernel.addresses,
            kernel.added(),
            kernel.parents(),
            initial=initial,
            idle=self.executor.idle,
            held=plan.master_vips(instances, self.states),
        ):
            if isinstance(event, LinkChanged) and event.interface not in kernel.links:
                log.warning("interface %s does not exist (yet): waiting for it", event.interface)
            self.dispatch(event)

    # ------------------------------------------------------------------ reload and control

    def _reload_task(self) -> None:
        assert self.group is not None
        self.group.create_task(self.reload(), name="reload")

    async def reload(self) -> str:
        """Re-read the config file; what happened, for the log and the caller."""
        if self.config_path is None:
            return "no configuration file to reload"
        # Imported for a reload only: ``vrrpd run`` parses the file apart (``cli._load_apart``)
        # and the loader with PyYAML is 2.4 MB resident the agent needs for nothing else.
        from vrrpd.config.loader import ConfigInvalid, load  # noqa: PLC0415

        systemd.notify("RELOADING=1")
        try:
            config = load(self.config_path, to_run=True)
        except ConfigInvalid as invalid:
            for error in invalid.errors:
                log.error("reload refused: %s", error)
            message = (
                f"reload refused, still running the previous configuration: {invalid.errors[0]}"
            )
        else:
            try:
                await self._apply(config)
            except Exception as error:  # netlink refusals: the agent must outlive a reload
                log.error("reload failed part way (%s): re-reading the kernel", error)
                self.refresher.mark()
                message = f"reload failed part way: {error}"
            else:
                message = "configuration reloaded"
        log.info("%s", message)
        systemd.notify("READY=1", f"STATUS={self._status_line()}")
        return message

    async def _apply(self, config: Config) -> None:
        old, self.config = self.config, config
        if self.log_level is None and config.global_.log_level != old.global_.log_level:
            logsetup.set_level(config.global_.log_level)
            log.info("log level %s", config.global_.log_level)
        self._prefixes = prefixes(config.instances) | self._prefixes
        if config.global_ != old.global_:
            await self.surface.open(config)
        await self.kernel.create_vmacs(config.instances)
        self.dispatch(ConfigChanged(config))
        self.states = {i.name: self.states.get(i.name, "INIT") for i in config.instances}
        await self._refresh(initial=True)
        self.scripts.poll(config)  # tracked files and processes may have changed
        await self.executor.join()  # the old instances' addresses are gone from their VMACs
        await self.kernel.remove_vmacs(config.instances)

    async def command(self, name: str, request: dict[str, Any] | None = None) -> Reply:
        return await self.commands.run(name, request or {})

    # ------------------------------------------------------------------ words

    def _prefix(self, instance: str) -> str:
        return self._prefixes.get(instance, instance)

    def _status_line(self) -> str:
        return ", ".join(f"{n} {s}" for n, s in self.states.items()) or "no instances"


def run(config: Config, config_path: str | None, *, log_level: str | None = None) -> NoReturn:
    """Run the agent until SIGTERM/SIGINT; the exit code."""

    async def main() -> int:
        return await Agent(config, config_path, log_level=log_level).run()

    code = asyncio.run(main())
    # Every VIP is gone and every hook has run: nothing is left to do but leave. The
    # interpreter's own teardown (collecting every module, joining helper threads) took
    # 0.2-0.3 s, which a stop or restart would otherwise wait for.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
