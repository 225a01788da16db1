"""What FRR says about the VIPs it announces for us (``announce: bgp``): for each BGP
neighbour, whether this node's own route for each VIP is advertised to it, the
session's state, and the BFD session's state.

Why it is shaped this way: the failover path is netlink only (docs/bgp.md), so this is
a reading on the side and nothing waits for it. It is asked on demand (``vrrpd
status``, a metrics scrape), at most once every ``REFRESH`` seconds, by one ``vtysh``
run in a thread of its own with a ``TIMEOUT``: the event loop that sends the adverts
never forks, waits or parses for it. The answer is kept with the time it came, and
every reader is shown its age. Where FRR is not installed, not running or not
reachable (under the shipped unit the agent needs the ``frrvty`` group for FRR's vty
sockets), the answer is an error saying so, and the status says "unknown".

The parsing is pure (``read``), tested with what FRR 8.4 answered in the lab
(tests/data/frr/).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import selectors
import shlex
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from vrrpd.core.config import Announce, InstanceConfig

VTYSH_ENV: Final = "VRRPD_VTYSH"
"""The command that asks FRR (default ``vtysh``; e.g. ``vtysh -N NAME`` for a pathspace,
``vtysh --vty_socket DIR``); ``off`` never asks."""
REFRESH: Final = 5.0
"""Seconds between two questions to FRR at most: ``watch vrrpd status`` or a scraper
cannot turn into a stream of vtysh runs (each 0.1-0.13 s of vtysh and bgpd work in the
lab)."""
TIMEOUT: Final = 3.0
"""Seconds one vtysh run may take (a busy bgpd answers slowly); then it is killed."""
MAX_ANSWER: Final = 1 << 20
"""Bytes of vtysh's stdout read at most (FRR 8.4 answers ~3 kB for one neighbour and
one VIP; ~0.6 kB more per neighbour): past it vtysh is killed and nothing is parsed.
The JSON decoder holds the GIL, so the thread parsing a 37 MB answer froze the event
loop that sends the adverts for 0.8 s (and grew the agent by 200 MB)."""
_ACCESS_HINT: Final = (
    " (is FRR running, and may the agent reach its vty sockets? group frrvty: docs/bgp.md)"
)


@dataclass(frozen=True)
class Prefix:
    """One VIP's prefix in bgpd's table."""

    ours: bool
    """This node's own path (``network`` or redistributed: ``sourced``) is the best."""
    advertised_to: frozenset[str]
    """Neighbours our path is advertised to (bgpd's adj-RIB-out)."""


@dataclass(frozen=True)
class FrrView:
    """One answer from FRR (or why there is none), at ``at`` (monotonic seconds)."""

    at: float
    error: str | None = None
    sessions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Address family (``ipv4``, ``ipv6``) -> neighbour -> BGP state (``Established``)."""
    prefixes: Mapping[str, Prefix] = field(default_factory=dict)
    bfd: Mapping[str, str] | None = None
    """Neighbour -> BFD state (``up``, ``down``, ``init``, ...); None: bfdd did not answer."""


def bgp_prefixes(instances: Iterable[InstanceConfig]) -> dict[str, tuple[str, ...]]:
    """``announce: bgp`` instance -> the host prefixes of its VIPs (``203.0.113.10/32``)."""
    return {
        i.name: tuple(f"{v.address.ip}/{v.address.ip.max_prefixlen}" for v in i.virtual_addresses)
        for i in instances
        if i.announce is Announce.BGP
    }


def commands(prefixes: Iterable[str]) -> list[str]:
    """vtysh's ``-c`` commands, the BFD one last: vtysh stops at the first daemon that
    does not answer, and bfdd is the one most often not running."""
    out = ["show bgp summary json"]
    for prefix in prefixes:
        afi = "ipv6" if ":" in prefix else "ipv4"
        out.append(f"show bgp {afi} unicast {prefix} json")
    out.append("show bfd peers json")
    return out


def _documents(text: str) -> tuple[list[Any], str]:
    """The JSON documents vtysh printed one after the other, and what followed them
    (an error such as ``bfdd is not running``), stripped."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found, ""
        try:
            document, at = decoder.raw_decode(text, at)
        except ValueError:
            return found, text[at:].strip()
        found.append(document)


def _sessions(summary: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if not isinstance(summary, dict):
        return out
    for key, table in summary.items():
        if not key.endswith("Unicast") or not isinstance(table, dict):
            continue
        peers = table.get("peers")
        if isinstance(peers, dict):
            out[key.removesuffix("Unicast")] = {
                str(n): str(p.get("state", "unknown"))
                for n, p in peers.items()
                if isinstance(p, dict)
            }
    return out


def _prefix(document: Any) -> Prefix:
    """``show bgp AFI unicast PREFIX json``: a path we originate is ``sourced`` (a
    ``network`` statement or a redistributed connected route). Without add-path the
    neighbours bgpd sent the best path to are ``advertisedTo``; with it, each path has
    its own. A VIP not in the table (``{}``) is ours to no one."""
    if not isinstance(document, dict):
        return Prefix(False, frozenset())
    paths = [p for p in document.get("paths") or () if isinstance(p, dict)]
    ours = [p for p in paths if p.get("sourced")]
    best = any((p.get("bestpath") or {}).get("overall") for p in ours)
    if any("advertisedTo" in p for p in paths):  # add-path: per path
        sent = {str(n) for p in ours for n in p.get("advertisedTo") or {}}
    else:
        sent = {str(n) for n in document.get("advertisedTo") or {}} if best else set()
    return Prefix(best, frozenset(sent))


def _bfd(peers: Any) -> dict[str, str]:
    """``show bfd peers json``: by peer address, and by interface for single-hop
    sessions (an unnumbered BGP neighbour is named by its interface). A neighbour with
    two sessions (VRFs, single and multi hop) is up only while both are."""
    out: dict[str, str] = {}
    for peer in peers if isinstance(peers, list) else ():
        if not isinstance(peer, dict):
            continue
        status = str(peer.get("status", "unknown"))
        keys = [str(peer.get("peer"))]
        if not peer.get("multihop") and peer.get("interface"):
            keys.append(str(peer["interface"]))
        for key in keys:
            out[key] = status if out.get(key, "up") == "up" else out[key]
    return out


def read(text: str, prefixes: tuple[str, ...], at: float, *, failed: str = "") -> FrrView:
    """What one vtysh run of ``commands(prefixes)`` printed; ``failed``: its stderr
    (vtysh stops at the first command a daemon did not answer, saying so there: the
    documents before it still count)."""
    documents, rest = _documents(text)
    # vtysh's own asides are no reason: a vtysh.conf it may not read (harmless), and its
    # hint to run it as root (the agent must not: the frrvty group is the way)
    said = [line for line in (rest or failed).strip().splitlines()
            if line.strip() and not line.startswith(("% Can't open configuration", "Hint:"))]  # fmt: skip
    reason = said[-1] if said else "no answer"
    if not documents:
        hint = _ACCESS_HINT if "failed to connect" in reason else ""
        return FrrView(at, error=f"vtysh: {reason}{hint}")
    sessions = _sessions(documents[0])
    found = {p: _prefix(d) for p, d in zip(prefixes, documents[1:], strict=False)}
    whole = len(documents) == len(prefixes) + 2
    bfd = _bfd(documents[-1]) if whole else None
    error = None if whole else f"vtysh: {reason}"
    return FrrView(at, error=error, sessions=sessions, prefixes=found, bfd=bfd)


def instance_status(view: FrrView | None, prefixes: tuple[str, ...], now: float) -> dict[str, Any]:
    """What ``vrrpd status --json`` shows under ``frr`` for one ``announce: bgp``
    instance: ``age`` (seconds since FRR answered; null: never asked), ``error``, and
    per neighbour of the VIPs' address families ``session`` (BGP state),
    ``advertised`` (every VIP of the instance is ours and sent to it) and ``bfd``
    (null: no BFD session, or bfdd did not answer)."""
    if view is None:
        return {"age": None, "error": "not asked yet", "neighbors": {}}
    families = {"ipv6" if ":" in p else "ipv4" for p in prefixes}
    neighbors: dict[str, dict[str, Any]] = {}
    for family in sorted(families):
        wanted = [p for p in prefixes if ("ipv6" if ":" in p else "ipv4") == family]
        for name, state in sorted(view.sessions.get(family, {}).items()):
            sent = all(
                p in view.prefixes and name in view.prefixes[p].advertised_to for p in wanted
            )
            entry = neighbors.setdefault(name, {"session": state, "advertised": True,
                                                "bfd": (view.bfd or {}).get(name)})  # fmt: skip
            entry["advertised"] = entry["advertised"] and sent
    return {"age": round(max(0.0, now - view.at), 1), "error": view.error, "neighbors": neighbors}


def _vtysh() -> list[str] | str | None:
    """The vtysh command; None: ``off``; a sentence: why ``VRRPD_VTYSH`` cannot be
    read (an unbalanced quote). Only the status depends on it, so it must not keep
    the agent from starting (and from removing what a crashed run left behind)."""
    text = os.environ.get(VTYSH_ENV, "vtysh").strip()
    if text in ("", "off"):
        return None
    try:
        return shlex.split(text) or None
    except ValueError as error:
        return f"not asked ({VTYSH_ENV}={text!r} cannot be read: {error})"


class _TooLong(Exception):
    pass


def _bounded(words: list[str], timeout: float, limit: int) -> tuple[str, str]:
    """Run ``words``; (stdout, stderr), each read up to ``limit`` bytes. Raises
    ``subprocess.TimeoutExpired`` after ``timeout`` and ``_TooLong`` past ``limit``,
    the process killed either way (``subprocess.run`` reads everything it is given)."""
    with subprocess.Popen(  # noqa: S603  (the operator's vtysh, from the environment)
        words, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        pipes = [p for p in (process.stdout, process.stderr) if p is not None]
        chunks: dict[int, list[bytes]] = {p.fileno(): [] for p in pipes}
        sizes = dict.fromkeys(chunks, 0)
        deadline = time.monotonic() + timeout
        try:
            with selectors.DefaultSelector() as selector:
                for pipe in pipes:
                    selector.register(pipe, selectors.EVENT_READ)
                while selector.get_map():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise subprocess.TimeoutExpired(words, timeout)
                    for key, _ in selector.select(left):
                        data = os.read(key.fd, 65536)
                        if not data:
                            selector.unregister(key.fileobj)
                            continue
                        chunks[key.fd].append(data)
                        sizes[key.fd] += len(data)
                        if sizes[key.fd] > limit:
                            raise _TooLong
            process.wait(max(0.0, deadline - time.monotonic()))
        except BaseException:
            process.kill()
            raise
    out, err = (b"".join(c).decode(errors="replace") for c in chunks.values())
    return out, err


def ask(argv: list[str], prefixes: tuple[str, ...], timeout: float = TIMEOUT) -> FrrView:
    """One vtysh run (in a thread: it blocks); never raises."""
    words = [*argv, *(w for c in commands(prefixes) for w in ("-c", c))]
    try:
        out, err = _bounded(words, timeout, MAX_ANSWER)
    except FileNotFoundError:
        return FrrView(time.monotonic(), error=f"{argv[0]} not found (FRR not installed?)")
    except subprocess.TimeoutExpired:
        return FrrView(time.monotonic(), error=f"vtysh did not answer within {timeout:g} s")
    except _TooLong:
        return FrrView(
            time.monotonic(), error=f"vtysh's answer too long (over {MAX_ANSWER} bytes): not read"
        )
    except OSError as error:
        return FrrView(time.monotonic(), error=f"cannot run {argv[0]}: {error.strerror}")
    return read(out, prefixes, time.monotonic(), failed=err)


class FrrStatus:
    """The agent's last answer from FRR, asked again at most every ``REFRESH`` s.

    ``fresh()`` (the status command) waits for a due answer: the reply waits, the loop
    does not. ``current()`` (a metrics scrape) never waits: it starts a due question
    and shows the last answer with its age."""

    def __init__(
        self,
        prefixes: Callable[[], Mapping[str, tuple[str, ...]]],
        argv: list[str] | None = None,
    ) -> None:
        """``prefixes``: read at each question (a reload changes them); ``argv``: the
        vtysh command, else ``VRRPD_VTYSH`` (``off``: never ask)."""
        self._prefixes = prefixes
        command = _vtysh() if argv is None else argv
        self._argv = command if isinstance(command, list) else None
        self._refused = command if isinstance(command, str) else f"not asked ({VTYSH_ENV}=off)"
        self.view: FrrView | None = None
        self._task: asyncio.Future[FrrView] | None = None
        self._asked: float | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def _wanted(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for ps in self._prefixes().values() for p in ps))

    def _start(self) -> asyncio.Future[FrrView] | None:
        wanted = self._wanted()
        if not wanted:
            return None
        if self._argv is None:
            self.view = FrrView(time.monotonic(), error=self._refused)
            return None
        now = time.monotonic()
        if self._task is None and (self._asked is None or now - self._asked >= REFRESH):
            self._asked = now
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="vrrpd-frr"
                )
            loop = asyncio.get_running_loop()
            task = loop.run_in_executor(self._pool, ask, self._argv, wanted)
            task.add_done_callback(self._answered)
            self._task = task
        return self._task

    def _answered(self, task: asyncio.Future[FrrView]) -> None:
        self._task = None
        if task.cancelled():
            return
        error = task.exception()
        self.view = task.result() if error is None else FrrView(time.monotonic(), error=repr(error))

    async def fresh(self) -> FrrView | None:
        task = self._start()
        if task is not None:
            # wait() neither raises nor cancels the run when this reply is given up on
            await asyncio.wait({task})
        return self.view

    def current(self) -> FrrView | None:
        self._start()
        return self.view

    def statuses(self, view: FrrView | None) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        return {n: instance_status(view, ps, now) for n, ps in self._prefixes().items()}
