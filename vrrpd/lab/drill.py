"""``vrrpd lab drill a.yaml b.yaml``: the nodes' own files, real agents, a namespace lab.

Each file becomes a lab node (named by its ``router_id``) on one switch, with a
client that pings the first VIP every 5 ms. What the lab cannot reproduce is
replaced, and said so in the output: every instance runs on the node's ``eth0``; its
own address is the file's ``unicast_source`` (else one the lab assigns); checks
become stand-ins the drills fail on purpose; notify hooks are recorded in the lab's
directory instead of run; control socket and state file live there too. Then the
standard drills (each node crashes and returns, each of the master's checks fails
and recovers, the master stops and returns, a partition heals), each with the
longest gap the client saw. Needs root; everything is removed at the end.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import yaml

from vrrpd.lab import Lab, Process, outage, peers, replies, wait_for
from vrrpd.lab.peers import Peer, start_vrrpd

PROBE = 0.005


def lab_config(document: dict[str, Any], node: str, workdir: Path) -> tuple[str, list[str]]:
    """The file's YAML made to run in the lab, and what was changed (said to the user)."""
    notes: list[str] = []
    glob_ = document.setdefault("global", {}) or {}
    document["global"] = glob_
    glob_.update(
        control_socket=f"{workdir}/{node}.sock",
        state_file=f"{workdir}/{node}.state.json",
        script_user="root",
        script_security=False,
    )
    glob_.pop("metrics_listen", None)
    notify = peers.scripts_dir() / "notify_log.sh"  # the checkout's or the package's
    for name, script in (document.get("scripts") or {}).items():
        script["command"] = f"test ! -e {workdir}/{node}-{name}.down"
        notes.append(f"{node}: check {name} is a stand-in (fails only when a drill says so)")
    for name, inst in (document.get("instances") or {}).items():
        if inst.get("interface") != "eth0":
            notes.append(f"{node}: {name} runs on the lab's eth0 (was {inst.get('interface')})")
        inst["interface"] = "eth0"
        if inst.pop("track_interfaces", None):
            notes.append(f"{node}: {name}'s tracked interfaces are left out (the lab has none)")
        for vip in inst.get("virtual_addresses") or []:
            if isinstance(vip, dict):
                vip.pop("dev", None)
        if inst.get("notify"):
            inst["notify"] = {key: str(notify) for key in inst["notify"]}
            notes.append(f"{node}: {name}'s notify hooks are recorded, not run")
    for group in (document.get("sync_groups") or {}).values():
        if group.get("notify"):
            group["notify"] = {key: str(notify) for key in group["notify"]}
    return yaml.safe_dump(document, sort_keys=False), notes


def _address(document: dict[str, Any], index: int) -> str:
    for inst in (document.get("instances") or {}).values():
        if inst.get("unicast_source"):
            return str(inst["unicast_source"])
    return f"192.0.2.{11 + index}"


def _vip(document: dict[str, Any]) -> str:
    first = next(iter((document.get("instances") or {}).values()))["virtual_addresses"][0]
    text = first["address"] if isinstance(first, dict) else first
    return str(text).split("/")[0]


def _hold(texts: list[str]) -> float:
    """Seconds each half of a drill lasts: long enough for the slowest timer of these
    files to act (Master_Down_Interval and preempt_delay, a check's fall or rise) and
    the client to see the result, no longer (four seconds for every file made the
    drills of a 0.1 s cluster wait 30 s for nothing)."""
    from vrrpd.config.loader import ConfigInvalid, loads  # noqa: PLC0415

    longest = 0.0
    for text in texts:
        try:
            config = loads(text)
        except ConfigInvalid:
            return 4.0
        for inst in config.instances:
            longest = max(longest, 3.0 * inst.advert_interval + inst.preempt_delay)
        for check in config.scripts:
            longest = max(longest, check.interval * max(check.fall, check.rise))
    return max(1.5, longest + 1.0)


def run(files: list[str]) -> list[str]:
    documents = [yaml.safe_load(Path(f).read_text()) for f in files]
    names = [
        str((d.get("global") or {}).get("router_id") or f"node{i + 1}")
        for i, d in enumerate(documents)
    ]
    vip = _vip(documents[0])
    out = [
        f"vrrpd lab drill: {len(files)} nodes from their own files, real agents in a namespace lab"
    ]
    with Lab() as lab:
        agents: dict[str, Process] = {}
        every: list[tuple[str, Process]] = []
        texts: dict[str, str] = {}
        for index, (name, document) in enumerate(zip(names, documents, strict=True)):
            lab.add_node(name, _address(document, index), f"2001:db8::{11 + index}")
            texts[name], notes = lab_config(document, name, lab.workdir)
            out += [f"  note: {n}" for n in notes]
        lab.add_node("client", "192.0.2.250", "2001:db8::250")

        def start(name: str) -> None:
            log = lab.workdir / f"{name}-hooks.jsonl"
            agents[name] = start_vrrpd(
                lab, Peer(name, 1), text=texts[name], env={"VRRPD_NOTIFY_LOG": str(log)}
            )
            every.append((name, agents[name]))

        for name in names:
            start(name)
        wait_for(lambda: len(lab.holders(vip)) == 1, timeout=20, what=f"one node holding {vip}")
        time.sleep(1.0)
        master = lab.holders(vip)[0]
        checks = sorted(documents[names.index(master)].get("scripts") or {})
        ping = lab.start(
            "client", ["ping", "-n", "-D", "-i", f"{PROBE:g}", "-W", "0.2", vip], label="ping"
        )
        rows: list[tuple[str, float, float]] = []

        hold_for = _hold([texts[n] for n in names])

        def drill(title: str, act: Any, undo: Any, hold: float = hold_for) -> None:
            begin = time.time()
            act()
            time.sleep(hold)
            undo()
            time.sleep(hold)
            rows.append((title, begin, time.time()))

        for name in names:
            drill(
                f"{name} crashes (frozen, killed)",
                lambda n=name: lab.crash(agents[n]),
                lambda n=name: start(n),
            )
        for check in checks:
            flag = lab.workdir / f"{master}-{check}.down"
            drill(f"check {check} fails on {master}", flag.touch, flag.unlink)
        drill(f"{master} stops (SIGTERM)", lambda: (lab.signal(agents[master], signal.SIGTERM), lab.wait(agents[master], 10)),
              lambda: start(master))  # fmt: skip
        drill(
            "partition: every node alone",
            lambda: lab.isolate(*names),
            lambda: lab.isolate(*names, on=False),
        )
        lab.signal(ping, signal.SIGINT)
        lab.wait(ping, 5)
        stamps = replies(ping)
        out += ["", f"master after the election: {master}; the client pings {vip} every {PROBE * 1000:g} ms",
                f"  {'drill':40} longest gap the client saw"]  # fmt: skip
        for title, begin, end in rows:
            gap = outage(stamps, begin - 0.5, end)
            out.append(f"  {title:40} {max(0.0, gap - PROBE) * 1000:8.1f} ms")
        out += ["", "notify hooks recorded:"]
        for name in names:
            log = lab.workdir / f"{name}-hooks.jsonl"
            calls = log.read_text().splitlines() if log.exists() else []
            out.append(f"  {name}: {len(calls)} calls")
        out += ["", "transitions:"]
        for name, agent in every:
            out += [
                f"  {name}: {line.split(' INFO ', 1)[-1]}"
                for line in agent.output().splitlines()
                if " -> " in line
            ]
    return out
