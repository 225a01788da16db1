"""The asyncio driver: the only place that calls ``node.handle``.

* One timer: after every call it re-arms ``loop.call_at(node.next_deadline())``;
  when it fires, ``now = max(deadline, loop.time())``.
* Actions are executed in order by one task. Sends are synchronous; netlink calls
  are awaited with a timeout; checks and hooks run as tasks and come back as events.
  The core is never re-entered concurrently (everything runs on the loop thread).
* SIGTERM/SIGINT: ``Shutdown`` (priority 0, VIPs removed), drain, exit 0.
  SIGHUP (or ``vrrpd reload``): re-read and fully validate the config first; keep
  the old one, and say why, if the new one is invalid.
* Every task belongs to one TaskGroup: an unexpected exception stops the agent
  loudly (systemd restarts it) instead of leaving it half alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from ipaddress import ip_interface
from typing import Any

from vrrpd import metrics
from vrrpd.adapters import http, scripts, systemd, trackers
from vrrpd.adapters.linklayer import LinkLayer
from vrrpd.adapters.netlink import Address, Ledger, Link, Netlink
from vrrpd.adapters.rawsock import VrrpSocket
from vrrpd.adapters.vmac import VirtualMacs
from vrrpd.config.loader import ConfigInvalid, load
from vrrpd.config.schema import Config
from vrrpd.control import server as control
from vrrpd.core import actions as act
from vrrpd.core.constants import Family, IPAddress
from vrrpd.core.events import (
    AddressesRemoved,
    CheckFinished,
    ConfigChanged,
    DatagramReceived,
    Event,
    LinkChanged,
    Shutdown,
    Startup,
    TimerFired,
)
from vrrpd.core.node import Node
from vrrpd.status import status_document

log = logging.getLogger("vrrpd")
NETLINK_TIMEOUT = 5.0
NOTIFY_TIMEOUT = 30.0
TIMER_SLACK = 0.0015
"""Seconds the timer is armed before its deadline (see ``Agent._fire``)."""


@dataclass
class _RateLimit:
    """At most one log line per key per ``interval`` seconds, counting what was held back."""

    interval: float = 10.0
    last: dict[str, float] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> int | None:
        """None to stay quiet, else how many were held back since the last line."""
        if now - self.last.get(key, -1e9) < self.interval:
            self.held[key] = self.held.get(key, 0) + 1
            return None
        self.last[key] = now
        return self.held.pop(key, 0)


class Agent:
    def __init__(self, config: Config, config_path: str | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.node = Node(config)
        self.loop = asyncio.get_running_loop()
        self.netlink = Netlink(Ledger(config.global_.state_file))
        self.sockets: dict[tuple[str, Family], VrrpSocket] = {}
        self.links: dict[str, Link] = {}
        self.link_layers: dict[str, LinkLayer] = {}
        self.queue: asyncio.Queue[act.Action] = asyncio.Queue()
        self.timer: asyncio.TimerHandle | None = None
        self.stopping = asyncio.Event()
        self.group: asyncio.TaskGroup | None = None
        self.send_errors = 0
        self.limits = _RateLimit()
        self._known: dict[str, tuple[bool, tuple[IPAddress, ...]]] = {}
        self._refresh_lock = asyncio.Lock()
        self.hooks: scripts.HookQueues | None = None
        self._poller: asyncio.Task[None] | None = None
        self._metrics: asyncio.Server | None = None
        self._busy = False
        """The executor is in the middle of an action (so new ones must queue behind it)."""
        self._check_ok: dict[str, bool] = {}
        self.vmacs = VirtualMacs(self.netlink)
        self._control: asyncio.Server | None = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        await self.netlink.open()
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                self.hooks = scripts.HookQueues(group, self._hook_done)
                await self._start()
                group.create_task(self._execute_forever(), name="actions")
                group.create_task(self._watch_netlink(), name="netlink")
                self._start_polling()
                await self.stopping.wait()
                await self._stop()
                raise _Stopped
        except* _Stopped:
            pass
        finally:
            self._close()
            with contextlib.suppress(Exception):
                await self.vmacs.remove()
            await self.netlink.close()
        return 0

    async def _start(self) -> None:
        self.links = await self.netlink.links()
        for stale in await self.netlink.remove_stale(self.links):
            log.warning("removed VIP %s left behind by a previous run", stale)
        await self.vmacs.create(self.node.config.instances, self.links)
        await self._refresh_links(initial=True)
        await self._open_control()
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGHUP, self.reload)
        # Sockets are open: ready. The instances' first states follow as STATUS= lines.
        systemd.notify("READY=1", f"STATUS={self._status_line()}")
        self.dispatch(Startup())
        log.info("vrrpd started: %d instance(s)", len(self.config.instances))

    async def _stop(self) -> None:
        systemd.notify("STOPPING=1")
        log.info("stopping: releasing mastership and VIPs")
        self.dispatch(Shutdown())
        await self.queue.join()
        await self.vmacs.remove()
        if self.hooks is not None:
            try:
                await asyncio.wait_for(self.hooks.join(), NOTIFY_TIMEOUT)  # the stop hooks
            except TimeoutError:
                log.warning("notify hooks still running at exit")

    def _close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for sock in self.sockets.values():
            with contextlib.suppress(ValueError, OSError):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        for layer in self.link_layers.values():
            layer.close()
        if self._control is not None:
            control.close(self._control, self.config.global_.control_socket)
        if self._metrics is not None:
            self._metrics.close()

    # ------------------------------------------------------------------ the core

    def dispatch(self, event: Event, now: float | None = None) -> None:
        actions = self.node.handle(event, now=self.loop.time() if now is None else now)
        done = 0
        if not self._busy and self.queue.empty():
            # Nothing is pending: run the leading synchronous actions (log lines,
            # adverts) right here, in order; a new master's first advert then leaves
            # without waiting for the executor's next turn.
            while done < len(actions) and self._execute_now(actions[done]):
                done += 1
        for action in actions[done:]:
            self.queue.put_nowait(action)
        self._rearm()

    def _rearm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        deadline = self.node.next_deadline()
        if deadline is not None:
            self.timer = self.loop.call_at(deadline - TIMER_SLACK, self._fire, deadline)

    def _fire(self, deadline: float) -> None:
        """The one timer: woken a little early, it waits out the rest precisely.

        The event loop's poll timeouts are whole milliseconds, rounded up, so a timer
        armed at the deadline fires up to ~1 ms late. Armed TIMER_SLACK early, the
        remainder is slept with nanosecond resolution: deadlines are met to ~0.1 ms
        at the cost of holding the loop for at most TIMER_SLACK per timer.
        """
        self.timer = None
        remaining = deadline - self.loop.time()
        if remaining > 0:
            time.sleep(remaining)
        self.dispatch(TimerFired(), now=max(deadline, self.loop.time()))

    # ------------------------------------------------------------------ actions

    async def _execute_forever(self) -> None:
        while True:
            action = await self.queue.get()
            self._busy = True
            try:
                if not self._execute_now(action):
                    assert isinstance(action, act.AddAddresses | act.RemoveAddresses)
                    await self._addresses(action)
            finally:
                self._busy = False
                self.queue.task_done()

    def _execute_now(self, action: act.Action) -> bool:
        """Execute a synchronous action; False for the ones that must be awaited (netlink)."""
        if isinstance(action, act.AddAddresses | act.RemoveAddresses):
            return False
        if isinstance(action, act.SendAdvert):
            self._send(action)
        elif isinstance(action, act.SendGratuitousArp | act.SendNeighborAdvert):
            self._announce(action)
        elif isinstance(action, act.StateChanged):
            log.info(
                "[%s] %s -> %s (priority %d): %s",
                self._prefix(action.instance),
                action.old,
                action.new,
                action.priority,
                action.reason,
            )
            systemd.notify(f"STATUS={self._status_line()}")
        elif isinstance(action, act.RunCheck):
            assert self.group is not None
            self.group.create_task(self._run_check(action), name=f"check {action.name}")
        elif isinstance(action, act.RunNotify):
            self._notify(action)
        elif isinstance(action, act.PacketDropped):
            key = f"{action.instance}:{action.src}:{action.reason}"
            held = self.limits.allow(key, self.loop.time())
            if held is not None:
                more = f" (+{held} more)" if held else ""
                who = (
                    f"[{self._prefix(action.instance)}] "
                    if action.instance
                    else f"[{action.interface}] "
                )
                log.warning(
                    "%sdropped advert from %s: %s %s%s",
                    who,
                    action.src,
                    action.reason,
                    action.detail,
                    more,
                )
        elif isinstance(action, act.Notice):
            log.info("[%s] %s", self._prefix(action.instance), action.message)
        return True

    def _send(self, action: act.SendAdvert) -> None:
        sock = self.sockets.get((action.interface, action.family))
        try:
            if sock is None:
                raise OSError(f"no socket on {action.interface} yet")
            sock.send(action.data, src=action.src, dst=action.dst)
        except OSError as error:
            self.send_errors += 1
            if self.limits.allow(f"send:{action.instance}", self.loop.time()) is not None:
                log.error(
                    "[%s] cannot send advert to %s: %s",
                    self._prefix(action.instance),
                    action.dst,
                    error,
                )

    def _announce(self, action: act.SendGratuitousArp | act.SendNeighborAdvert) -> None:
        vmac = self.vmacs.get(action.instance)
        # From the macvlan (its MAC is the virtual MAC), else from the interface.
        interface = (
            vmac[0]
            if vmac and action.interface == self.node.routers[action.instance].config.interface
            else action.interface
        )
        try:
            layer = self.link_layers.get(interface)
            if layer is None:
                layer = self.link_layers[interface] = LinkLayer(interface)
            layer.announce(action.addresses, action.count)
        except OSError as error:
            log.error(
                "[%s] cannot announce on %s: %s",
                self._prefix(action.instance),
                action.interface,
                error,
            )

    async def _addresses(self, action: act.AddAddresses | act.RemoveAddresses) -> None:
        """VIPs in, or out; on the instance's macvlan when it uses the virtual MAC."""
        vmac = self.vmacs.get(action.instance)
        adding = isinstance(action, act.AddAddresses)
        verb = "add" if adding else "remove"
        if vmac is not None and adding:
            await self._link_state(action.instance, vmac[1], up=True)
        for vip in action.addresses:
            dev = vip.dev or (vmac[0] if vmac else action.interface)
            link = self.links.get(dev)
            index = vmac[1] if vmac and dev == vmac[0] else (link.index if link else None)
            try:
                if adding:
                    if index is None:
                        raise OSError(f"interface {dev} does not exist")
                    await asyncio.wait_for(self.netlink.add_vip(index, dev, vip), NETLINK_TIMEOUT)
                else:
                    await asyncio.wait_for(
                        self.netlink.remove_vip(index, dev, vip.address), NETLINK_TIMEOUT
                    )
            except Exception as error:  # netlink raises its own error types; log, never crash
                log.error(
                    "[%s] cannot %s VIP %s on %s: %s",
                    self._prefix(action.instance),
                    verb,
                    vip.address,
                    dev,
                    error,
                )
        if vmac is not None and not adding:
            await self._link_state(action.instance, vmac[1], up=False)

    async def _link_state(self, instance: str, index: int, *, up: bool) -> None:
        try:
            await asyncio.wait_for(self.netlink.set_up(index, up), NETLINK_TIMEOUT)
        except Exception as error:  # log, never crash
            log.error(
                "[%s] cannot set the virtual MAC link %s: %s",
                self._prefix(instance),
                "up" if up else "down",
                error,
            )

    async def _run_check(self, action: act.RunCheck) -> None:
        outcome = await scripts.run(action.command, timeout=action.timeout, user=action.user)
        success = outcome.exit_code == 0
        said = outcome.error or outcome.output
        # Logged when the result flips; repeated failures at most every 10 s.
        if self._check_ok.get(action.name) != success or (
            not success and self.limits.allow(f"check:{action.name}", self.loop.time()) is not None
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
        self._check_ok[action.name] = success
        self.dispatch(
            CheckFinished(action.name, success, outcome.exit_code, outcome.duration, said)
        )

    def _notify(self, action: act.RunNotify) -> None:
        router = self.node.routers.get(action.instance)
        cfg = router.config if router else None
        env = {
            "VRRPD_INSTANCE": action.instance,
            "VRRPD_STATE": action.state,
            "VRRPD_PRIORITY": str(action.priority),
            "VRRPD_REASON": action.reason,
            "VRRPD_VRID": str(cfg.vrid) if cfg else "",
            "VRRPD_INTERFACE": cfg.interface if cfg else "",
            "VRRPD_VIPS": " ".join(str(v.address.ip) for v in cfg.virtual_addresses) if cfg else "",
        }
        if action.group:
            env["VRRPD_GROUP"] = action.group
        args: tuple[str, ...] = ()
        if action.keepalived_args:
            kind = "GROUP" if action.group else "INSTANCE"
            args = (kind, action.group or action.instance, action.state, str(action.priority))
        assert self.hooks is not None
        self.hooks.submit(
            action.group or action.instance,
            action.command,
            env=env,
            args=args,
            user=self.config.global_.script_user,
            timeout=NOTIFY_TIMEOUT,
        )

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

    def _start_polling(self) -> None:
        """(Re)start polling the tracked files and processes of the current config."""
        assert self.group is not None
        if self._poller is not None:
            self._poller.cancel()
        self._poller = self.group.create_task(self._poll_trackers(), name="trackers")

    async def _poll_trackers(self) -> None:
        instances = self.node.config.instances
        files = sorted({t.path for i in instances for t in i.track_files})
        processes = sorted({t.name for i in instances for t in i.track_processes})
        if files or processes:
            await trackers.poll(files, processes, self.dispatch)

    # ------------------------------------------------------------------ links and sockets

    async def _watch_netlink(self) -> None:
        assert self.group is not None
        async for _ in self.netlink.events():
            if not self._refresh_lock.locked():
                self.group.create_task(self._refresh_links())

    async def _refresh_links(self, *, initial: bool = False) -> None:
        async with self._refresh_lock:
            await self._refresh_links_locked(initial)

    async def _refresh_links_locked(self, initial: bool) -> None:
        """Re-read links and addresses; tell the core what changed; open missing sockets."""
        self.links = await self.netlink.links()
        addresses = await self.netlink.addresses()
        vips = {v.address.ip for i in self.node.config.instances for v in i.virtual_addresses}
        by_index: dict[int, list[IPAddress]] = {}
        for address in addresses:
            if address.usable and address.address not in vips:
                by_index.setdefault(address.interface_index, []).append(address.address)
        self._open_sockets()
        instances = self.node.config.instances
        watched = {i.interface for i in instances} | {
            t.name for i in instances for t in i.track_interfaces
        }
        for name in sorted(watched):
            link = self.links.get(name)
            state = (link.up, tuple(by_index.get(link.index, ()))) if link else (False, ())
            if initial or self._known.get(name) != state:
                self._known[name] = state
                if link is None:
                    log.warning("interface %s does not exist (yet): waiting for it", name)
                self.dispatch(LinkChanged(name, state[0], state[1]))
        self._check_vips(addresses)

    def _check_vips(self, addresses: list[Address]) -> None:
        """Tell the core about VIPs we added that vanished without us (user-asks #9).

        Only while no address action is queued or running: then the ledger is exactly
        what we expect on the interfaces, and a difference is someone else's doing.
        """
        if self._busy or not self.queue.empty():
            return
        present: dict[int, set[IPAddress]] = {}
        for address in addresses:
            present.setdefault(address.interface_index, set()).add(address.address)
        parent_of = {
            name: self.node.routers[inst].config.interface
            for inst, (name, _) in self.vmacs.links.items()
        }
        missing: dict[str, list[IPAddress]] = {}
        for device, text in sorted(self.netlink.ledger.entries):
            ip = ip_interface(text).ip
            link = self.links.get(device)
            index = link.index if link else None
            if index is None or ip not in present.get(index, set()):
                missing.setdefault(parent_of.get(device, device), []).append(ip)
        for interface, lost in missing.items():
            self.dispatch(AddressesRemoved(interface, tuple(lost)))

    def _open_sockets(self) -> None:
        wanted: dict[tuple[str, Family], bool] = {}
        for inst in self.node.config.instances:
            key = (inst.interface, inst.family)
            wanted[key] = wanted.get(key, False) or not inst.unicast_peers
        for key, sock in list(self.sockets.items()):
            if key not in wanted or key[0] not in self.links:
                self.loop.remove_reader(sock.fileno())
                sock.close()
                del self.sockets[key]
        for (interface, family), multicast in wanted.items():
            if (interface, family) in self.sockets or interface not in self.links:
                continue
            try:
                sock = VrrpSocket(interface, family, multicast=multicast)
            except OSError as error:
                log.error("cannot open VRRP socket on %s IP%s: %s", interface, family, error)
                continue
            self.sockets[(interface, family)] = sock
            self.loop.add_reader(sock.fileno(), self._readable, sock)

    def _readable(self, sock: VrrpSocket) -> None:
        while (received := sock.receive()) is not None:
            self.dispatch(
                DatagramReceived(
                    sock.interface,
                    sock.family,
                    received.src,
                    received.dst,
                    received.ttl,
                    received.data,
                )
            )

    # ------------------------------------------------------------------ reload and control

    def reload(self) -> str:
        """Re-read the config file; returns what happened, for the log and the caller."""
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
            self.config = config
            self.dispatch(ConfigChanged(config))
            if self.group is not None:
                self.group.create_task(self._refresh_links(initial=True))
                self._start_polling()  # tracked files and processes may have changed
            message = "configuration reloaded"
        log.info("%s", message)
        systemd.notify("READY=1", f"STATUS={self._status_line()}")
        return message

    async def _open_control(self) -> None:
        self._control = await control.serve(self.config.global_.control_socket, self.command)
        listen = self.config.global_.metrics_listen
        if listen:
            self._metrics = await http.serve(
                listen, lambda: metrics.render(self.node.statistics(), send_errors=self.send_errors)
            )
            log.info("Prometheus metrics on http://%s/metrics", listen)

    def command(self, name: str) -> dict[str, Any]:
        if name == "status":
            return status_document(self.node.statistics(), send_errors=self.send_errors)
        if name == "reload":
            return {"result": self.reload()}
        return {"error": f"unknown command {name!r}; known: status, reload"}

    # ------------------------------------------------------------------ words

    def _prefix(self, instance: str) -> str:
        router = self.node.routers.get(instance)
        if router is None:
            return instance
        return f"{instance} {router.config.interface} {router.family}"

    def _status_line(self) -> str:
        states = [f"{n} {r.state}" for n, r in self.node.routers.items()]
        return ", ".join(states) or "no instances"


class _Stopped(Exception):
    """Leaves the TaskGroup once shutdown has drained (cancels the other tasks)."""


def run(config: Config, config_path: str | None) -> int:
    """Run the agent until SIGTERM/SIGINT; the exit code."""

    async def main() -> int:
        return await Agent(config, config_path).run()

    return asyncio.run(main())
