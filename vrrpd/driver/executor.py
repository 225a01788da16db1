"""Runs the core's actions, in order, from one place.

Two lanes (``plan.lane``): adverts, log lines, check starts and hooks of instances
with no address change in flight run at once, synchronously; address changes, and
whatever of the same instance must follow them (its announcements and hooks), run in
order on one task that awaits netlink. So an rtnl stall delays a new master's
GARP, never an advert: a backup never takes over because our netlink was slow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from vrrpd.core import actions as act
from vrrpd.core.state import State
from vrrpd.core.virtual_router import YIELD_GRACE
from vrrpd.driver import plan
from vrrpd.driver.kernel import Kernel
from vrrpd.driver.logs import RateLimit

log = logging.getLogger("vrrpd")
DROP_LINES = 20
"""Dropped-advert lines per 10 s over every instance and reason, before "suppressed N"."""
NOTICE_LINES = 400
"""Notice lines (priority changes, split-brain heals, what the core says once) per
NOTICE_WINDOW over every instance, before "suppressed N": a reload of 200 instances
fits; a neighbour making 200 masters "heal" every second does not flood the journal."""
NOTICE_WINDOW = 10.0
REANNOUNCE_AFTER = YIELD_GRACE + 0.002
"""Seconds after a new master's first announcement when it announces once more: just
after a master that yielded to it removed its VIPs. A client that resolved the VIP in
that window may have kept the old master's answer (Linux keeps the first ARP reply for
its locktime, 1 s); a gratuitous ARP, or an NA with the override flag, moves it. The new
master cannot hear that answer (a unicast frame to the client), so it always re-announces."""
_ORDERED = (
    act.AddAddresses,
    act.RemoveAddresses,
    act.SendGratuitousArp,
    act.SendNeighborAdvert,
    act.RunNotify,
)


@dataclass(frozen=True, slots=True)
class Started:
    """An address change whose requests already left (``Kernel.start_adding``): the
    kernel lane only collects the answers, in order with the instance's other actions."""

    action: act.AddAddresses
    answers: Coroutine[Any, Any, list[str]]

    @property
    def instance(self) -> str:
        return self.action.instance


class Executor:
    def __init__(
        self,
        kernel: Kernel,
        *,
        prefix: Callable[[str], str],
        run_check: Callable[[act.RunCheck], None],
        run_hook: Callable[[act.RunNotify], None],
        state_changed: Callable[[act.StateChanged], None],
        publish: Callable[[dict[str, Any]], None] = lambda event: None,
    ) -> None:
        self.kernel = kernel
        self.prefix = prefix
        self._run_check = run_check
        self._run_hook = run_hook
        self._state_changed = state_changed
        self._publish = publish
        self.queue: asyncio.Queue[plan.Ordered | Started] = asyncio.Queue()
        self.pending: dict[str, int] = {}
        """Instance -> actions of it waiting in the kernel lane."""
        self.limits = RateLimit()
        self.drops = RateLimit(budget=DROP_LINES)
        """Dropped-packet lines: one per instance and reason, and DROP_LINES in all, per
        10 s (keyed by what the config bounds, never by a source a flood can spoof)."""
        self._notice_window = -1e9
        self._notice_lines = 0
        self.notices_suppressed = 0
        """Notice lines held back by the budget in this window (written when it turns)."""
        self._notices_report: asyncio.TimerHandle | None = None
        self._drops_report: asyncio.TimerHandle | None = None
        """The timer that writes the "suppressed N" line when the window turns, whether
        or not another advert is dropped then."""
        self.send_errors = 0
        self.fresh: set[str] = set()
        """Instances that became MASTER and have not announced yet."""
        self.reannounce: dict[str, list[asyncio.TimerHandle]] = {}
        """Instance -> its re-announcements pending (cancelled if it leaves MASTER)."""
        self.held: dict[str, list[act.RunNotify]] = {}
        """Instance that yielded -> its hooks held until its VIPs go (the master that
        yielded keeps them ``YIELD_GRACE``): a BACKUP hook runs once they are gone."""

    @property
    def idle(self) -> bool:
        """No address change queued or running: the kernel is as the ledger says."""
        return not self.pending

    def submit(self, actions: list[act.Action]) -> None:
        """Run or queue ``actions`` in order, except that a takeover's address requests
        go first (after its adverts, RFC 5798 6.4.2): the VIP is in the kernel before
        the log line, the state callbacks and the hooks of the takeover have run."""
        if all(type(a) is act.SendAdvert for a in actions):  # a master's timer: the usual
            for advert in actions:
                self._send(advert)  # type: ignore[arg-type]
            return
        early = self._start_adding(actions)
        removing = {a.instance for a in actions if isinstance(a, act.RemoveAddresses)}
        for number, action in enumerate(actions):
            if number in early:
                started = early[number]
                if started is not None:
                    self.pending[started.instance] = self.pending.get(started.instance, 0) + 1
                    self.queue.put_nowait(started)
                continue
            if isinstance(action, act.StateChanged):
                if action.instance in self.held and action.instance not in removing:
                    self._release_hooks(action.instance)  # VIPs kept: no removal to wait for
                if action.old is State.MASTER and action.instance not in removing:
                    self.held.setdefault(action.instance, [])  # a yield: VIPs go later
            elif isinstance(action, act.RunNotify) and action.instance in self.held:
                self.held[action.instance].append(action)
                continue
            self._run_or_queue(action)
            if isinstance(action, act.RemoveAddresses) and action.instance in self.held:
                self._release_hooks(action.instance)  # behind the removal in the lane

    def _run_or_queue(self, action: act.Action) -> None:
        if isinstance(action, _ORDERED) and plan.lane(action, self.pending) is plan.Lane.KERNEL:
            self.pending[action.instance] = self.pending.get(action.instance, 0) + 1
            self.queue.put_nowait(action)
        else:
            self.run_now(action)

    def _release_hooks(self, instance: str) -> None:
        for hook in self.held.pop(instance, []):
            self._run_or_queue(hook)

    def _start_adding(self, actions: list[act.Action]) -> dict[int, Started | None]:
        """Index in ``actions`` -> what was run ahead: an AddAddresses started (its
        adverts sent just before it, None for those), when nothing of its instance is
        queued before it (the careful path otherwise)."""
        early: dict[int, Started | None] = {}
        busy = {name for name, count in self.pending.items() if count}
        for number, action in enumerate(actions):
            if isinstance(action, act.AddAddresses) and action.instance not in busy:
                for n, advert in enumerate(actions[:number]):
                    ours = isinstance(advert, act.SendAdvert) and advert.instance == action.instance
                    if ours and n not in early:
                        self._send(advert)  # type: ignore[arg-type]
                        early[n] = None
                answers = self.kernel.start_adding(action)
                if answers is not None:
                    early[number] = Started(action, answers)
            if isinstance(action, act.AddAddresses | act.RemoveAddresses):
                busy.add(action.instance)  # what follows in this batch keeps its order
        return early

    async def forever(self) -> None:
        """The kernel lane. Address removals of different instances queued back to back
        (a shutdown, a sync group's release) go to netlink together, not one round trip
        after the other: 200 masters stopping release their VIPs at once."""
        carry: plan.Ordered | Started | None = None
        while True:
            batch = [carry if carry is not None else await self.queue.get()]
            carry = None
            if isinstance(batch[0], act.RemoveAddresses):
                while carry is None and not self.queue.empty():
                    following = self.queue.get_nowait()
                    distinct = following.instance not in {a.instance for a in batch}
                    if isinstance(following, act.RemoveAddresses) and distinct:
                        batch.append(following)
                    else:
                        carry = following
            try:
                if len(batch) > 1:
                    removals = [a for a in batch if isinstance(a, act.RemoveAddresses)]
                    changes = [self.kernel.change_addresses(a) for a in removals]
                    results = await asyncio.gather(*changes)
                    for removal, errors in zip(removals, results, strict=True):
                        for error in errors:
                            log.error("[%s] %s", self.prefix(removal.instance), error)
                else:
                    await self._run_ordered(batch[0])
            finally:
                for done in batch:
                    left = self.pending[done.instance] - 1
                    if left:
                        self.pending[done.instance] = left
                    else:
                        del self.pending[done.instance]
                    self.queue.task_done()

    async def _run_ordered(self, action: plan.Ordered | Started) -> None:
        if isinstance(action, Started):
            for error in await action.answers:
                log.error("[%s] %s", self.prefix(action.instance), error)
        elif isinstance(action, act.AddAddresses | act.RemoveAddresses):
            for error in await self.kernel.change_addresses(action):
                log.error("[%s] %s", self.prefix(action.instance), error)
        else:
            self.run_now(action)

    async def join(self) -> None:
        await self.queue.join()

    def run_now(self, action: act.Action) -> None:
        if isinstance(action, act.SendAdvert):
            self._send(action)
        elif isinstance(action, act.SendGratuitousArp | act.SendNeighborAdvert):
            self._announce(action)
        elif isinstance(action, act.StateChanged):
            log.info(
                "[%s] %s -> %s (priority %d): %s",
                self.prefix(action.instance),
                action.old,
                action.new,
                action.priority,
                action.reason,
                extra={
                    "instance": action.instance,
                    "event": "state",
                    "reason": action.reason,
                    "fields": {
                        "old": str(action.old),
                        "new": str(action.new),
                        "priority": action.priority,
                    },
                },
            )
            if action.old is State.MASTER:
                self.kernel.left_master(action.instance)  # no ARP answers from it now
                for handle in self.reannounce.pop(action.instance, []):
                    handle.cancel()
            self.fresh.discard(action.instance)
            if action.new is State.MASTER:
                self.fresh.add(action.instance)
            self._state_changed(action)
        elif isinstance(action, act.RunCheck):
            self._run_check(action)
        elif isinstance(action, act.RunNotify):
            self._run_hook(action)
        elif isinstance(action, act.PacketDropped):
            self._dropped(action)
        elif isinstance(action, act.Notice):
            if self._notice_allowed():
                log.info("[%s] %s", self.prefix(action.instance), action.message)
            kind = "priority" if action.message.startswith("priority ") else "notice"
            self._publish({"event": kind, "instance": action.instance, "message": action.message})
        else:  # an address change reaches here only through the kernel lane
            raise AssertionError(f"{type(action).__name__} must go through the kernel lane")

    def _send(self, action: act.SendAdvert) -> None:
        try:
            self.kernel.send(action)
        except OSError as error:
            self.send_errors += 1
            held = self.limits.allow(f"send:{action.instance}", _now())
            if held is not None:
                log.error(
                    "[%s] cannot send advert to %s: %s%s",
                    self.prefix(action.instance),
                    action.dst,
                    error,
                    f" (+{held} more)" if held else "",
                )

    def _announce(self, action: act.SendGratuitousArp | act.SendNeighborAdvert) -> None:
        if action.instance in self.fresh:  # the takeover's burst (one action per device)
            again = replace(action, count=1)
            handle = asyncio.get_running_loop().call_later(
                REANNOUNCE_AFTER, self._reannounced, again
            )
            self.reannounce.setdefault(action.instance, []).append(handle)
        try:
            self.kernel.announce(action)
        except OSError as error:
            log.error(
                "[%s] cannot announce on %s: %s",
                self.prefix(action.instance),
                action.interface,
                error,
            )

    def _reannounced(self, action: act.SendGratuitousArp | act.SendNeighborAdvert) -> None:
        self.fresh.discard(action.instance)
        self.reannounce.pop(action.instance, None)
        self._announce(action)

    def _dropped(self, action: act.PacketDropped) -> None:
        now = _now()
        self._suppressed(self.drops.report(now))
        key = f"{action.instance or action.interface}:{action.reason}"
        held = self.drops.allow(key, now)
        if held is None:
            self._arm_drops_report()
            return
        who = self.prefix(action.instance) if action.instance else action.interface
        log.warning(
            "[%s] dropped advert from %s: %s %s%s",
            who,
            action.src,
            action.reason,
            action.detail,
            f" (+{held} more)" if held else "",
            extra={
                "instance": action.instance,
                "event": "dropped",
                "reason": action.reason,
                "fields": {"src": str(action.src), "detail": action.detail, "held_back": held},
            },
        )

    def _notice_allowed(self) -> bool:
        """One budget for every notice line (issue 16: per reason and one global budget):
        over it, lines are counted and one "suppressed N" line comes when the window
        turns, from a timer (a flood that stops is still reported)."""
        now = _now()
        if now - self._notice_window >= NOTICE_WINDOW:
            self._report_notices()
            self._notice_window, self._notice_lines = now, 0
        if self._notice_lines < NOTICE_LINES:
            self._notice_lines += 1
            return True
        self.notices_suppressed += 1
        if self._notices_report is None:
            loop = asyncio.get_running_loop()
            due = self._notice_window + NOTICE_WINDOW + 0.01
            self._notices_report = loop.call_at(max(due, loop.time()), self._report_notices)
        return False

    def _report_notices(self) -> None:
        if self._notices_report is not None:
            self._notices_report.cancel()
            self._notices_report = None
        if self.notices_suppressed:
            log.warning(
                "suppressed %d more notice lines (at most %d per %gs)",
                self.notices_suppressed,
                NOTICE_LINES,
                NOTICE_WINDOW,
                extra={"event": "suppressed", "fields": {"count": self.notices_suppressed}},
            )
            self.notices_suppressed = 0

    def _suppressed(self, count: int) -> None:
        if count:
            log.warning(
                "suppressed %d more lines about dropped adverts (at most %d per %gs)",
                count,
                DROP_LINES,
                self.drops.interval,
                extra={"event": "suppressed", "fields": {"count": count}},
            )

    def _arm_drops_report(self) -> None:
        """Before, the count was written with the next dropped advert only: after a flood
        that stopped, never. At most one timer, firing once per window while lines are
        held back."""
        if self._drops_report is not None:
            return  # armed already: nothing to compute per dropped advert of a flood
        due = self.drops.due()
        if due is not None:
            loop = asyncio.get_running_loop()
            # a little late rather than early: the loop may run a timer up to its clock
            # resolution before its time, and the window must have turned
            self._drops_report = loop.call_at(max(due, loop.time()) + 0.01, self._report_drops)

    def _report_drops(self) -> None:
        self._drops_report = None
        self._suppressed(self.drops.flush(_now()))
        self._arm_drops_report()


def _now() -> float:
    return asyncio.get_running_loop().time()
