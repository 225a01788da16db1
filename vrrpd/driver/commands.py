"""What the control socket can ask of a running agent (``vrrpd status``, ``reload``,
``watch``, ``announce``, ``maintenance``): requests in, replies out, through the agent's
one ``dispatch`` (the core keeps one writer)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrrpd.adapters.files import replace_file, untrusted
from vrrpd.control.server import Reply
from vrrpd.core.events import AnnounceRequested, MaintenanceRequested
from vrrpd.status import status_document

if TYPE_CHECKING:
    from vrrpd.driver.agent import Agent

log = logging.getLogger("vrrpd")


class Commands:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def run(self, name: str, request: dict[str, Any]) -> Reply:
        names = [str(i) for i in request.get("instances") or []]
        if name == "status":
            return await self.status()
        if name == "reload":
            return {"result": await self.agent.reload()}
        if name == "watch":
            return self.agent.watchers.subscribe()
        if name == "announce":
            return self.announce(names)
        if name == "maintenance":
            return await self.maintenance(bool(request.get("on")), names)
        known = "status, reload, watch, announce, maintenance"
        return {"error": f"unknown command {name!r}; known: {known}"}

    async def status(self) -> dict[str, Any]:
        agent = self.agent
        # FRR's view of the routes (announce: bgp): a vtysh run in a thread, at most
        # every few seconds; this reply waits for it, the event loop does not.
        frr = agent.frr.statuses(await agent.frr.fresh())
        document = status_document(
            agent.node.statistics(),
            send_errors=agent.executor.send_errors,
            announced=agent.kernel.announced(agent.config.instances),
            frr=frr,
        )
        document["router"]["socket_drops"] = agent.kernel.socket_drops()
        return document

    def _unknown(self, names: list[str]) -> dict[str, Any] | None:
        unknown = sorted(set(names) - set(self.agent.states))
        return {"error": f"no instance named {', '.join(unknown)}"} if unknown else None

    async def maintenance(self, on: bool, names: list[str]) -> dict[str, Any]:
        """Hand over (or come back) and answer once the handover is done or has failed."""
        if (refused := self._unknown(names)) is not None:
            return refused
        agent = self.agent
        # A sync group hands over as a whole: naming one member names its group.
        wanted = list(agent.node.maintenance_scope(tuple(names))) or list(agent.states)
        agent.dispatch(MaintenanceRequested(on, tuple(names)))
        # Written before the drain: a crash or restart during it keeps the node out.
        self.keep_maintenance()
        if not on:
            return {"result": f"maintenance off: {', '.join(wanted)}"}
        stats = agent.node.statistics().instances
        limit = agent.loop.time() + max(stats[n].master_down_interval for n in wanted) + 1.0
        while any(stats[n].draining for n in wanted) and agent.loop.time() < limit:
            await asyncio.sleep(0.005)
            stats = agent.node.statistics().instances
        self.keep_maintenance()
        failed = [n for n in wanted if not stats[n].maintenance]
        if failed:
            return {
                "error": f"no backup took over {', '.join(failed)}: still MASTER, maintenance off"
            }
        handed = [
            f"{n} (now following {stats[n].master})" if stats[n].master else n for n in wanted
        ]
        return {"result": f"maintenance on: {', '.join(handed)}"}

    def announce(self, names: list[str]) -> dict[str, Any]:
        if (refused := self._unknown(names)) is not None:
            return refused
        agent = self.agent
        agent.dispatch(AnnounceRequested(tuple(names)))
        masters = [n for n in (names or agent.states) if agent.states.get(n) == "MASTER"]
        if not masters:
            return {"error": "no instance asked for is MASTER here: nothing to announce"}
        return {"result": f"announced the VIPs of {', '.join(masters)}", "announced": masters}

    # Kept across restarts: an upgrade (`try-restart`) or a crash must not put a node an
    # operator took out back into the election, where it would preempt the master. The
    # file lives beside the VIP ledger (/run/vrrpd, kept by RuntimeDirectoryPreserve), so
    # a reboot clears it: a rebooted node comes back in service.

    def _maintenance_file(self) -> Path:
        return Path(self.agent.config.global_.state_file).with_suffix(".maintenance.json")

    def keep_maintenance(self) -> None:
        stats = self.agent.node.statistics().instances
        names = sorted(n for n, s in stats.items() if s.maintenance)
        path = self._maintenance_file()
        try:
            if not names:
                path.unlink(missing_ok=True)
                return
            replace_file(path, json.dumps({"instances": names}) + "\n")
        except OSError as error:
            log.warning("cannot keep the maintenance state in %s: %s", path, error)

    def restore_maintenance(self) -> None:
        """At start: the instances an operator had in maintenance stay there."""
        path = self._maintenance_file()
        why = untrusted(path)
        if why:
            log.error("ignoring the maintenance state in %s: %s", path, why)
            return
        try:
            names = tuple(
                n for n in json.loads(path.read_text())["instances"] if n in self.agent.states
            )
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("ignoring the maintenance state in %s: %s", path, error)
            return
        if names:
            log.warning(
                "still in maintenance from before the restart: %s (`vrrpd maintenance off` resumes)",
                ", ".join(names),
            )
            self.agent.dispatch(MaintenanceRequested(True, names))
