"""Keepalived as the oracle for `vrrpd convert`: what Keepalived 2.2.7 says it will do with
a keepalived.conf (its SIGUSR1 dump, /tmp/keepalived.data) against what vrrpd will do
with the converted file, instance by instance.

The dump is text meant for people; this reads only the lines the comparison needs, and
fails loudly on an instance it cannot read rather than comparing nothing. Running
Keepalived (a namespace, root) is the lab test's business (tests/lab/test_oracle.py);
everything here is pure, so the parser is unit-tested on a captured dump.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from ipaddress import ip_interface
from typing import Any

from vrrpd.adapters.scripts import argv
from vrrpd.convert import Conversion
from vrrpd.core.config import Config, InstanceConfig

Tracked = dict[str, tuple[int, bool]]
"""Tracker name -> (weight, reverse)."""


@dataclass
class Seen:
    """One instance as Keepalived's dump shows it, or as vrrpd's config means it."""

    vrid: int = 0
    version: int = 0
    priority: int = 0
    interval: float = 0.0
    preempt: bool = True
    preempt_delay: float = 0.0
    auth: tuple[str, str] | None = None
    vips: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Address -> (dev, label)."""
    excluded: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    unicast_source: str | None = None
    unicast_peers: frozenset[str] = frozenset()
    scripts: Tracked = field(default_factory=dict)
    script_timing: dict[str, tuple[float, float, int, int]] = field(default_factory=dict)
    """Check name -> (interval, timeout (0: the interval), rise, fall)."""
    interfaces: Tracked = field(default_factory=dict)
    files: Tracked = field(default_factory=dict)
    """By the file's path."""
    processes: dict[str, tuple[int, bool, int]] = field(default_factory=dict)
    """By process name: (weight, reverse, quorum)."""
    tracks_own_interface: bool = True
    vmac: str | None = None
    """The macvlan name with use_vmac (VIPs on it show as dev ``vmac``)."""
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """``check NAME`` / ``notify STATE`` -> the argv it runs (the program's real path)."""


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        title = re.match(r"^-+< (.+) >-+$", line)
        if title:
            current = title.group(1)
            out[current] = []
        elif current:
            out[current].append(line)
    return out


def _blocks(lines: list[str], head: str) -> dict[str, list[str]]:
    """``head = NAME`` at one space of indent opens a block of the lines below it."""
    out: dict[str, list[str]] = {}
    name = None
    for line in lines:
        match = re.match(rf"^ {re.escape(head)} = (\S+)", line)
        if match:
            name = match.group(1).rstrip(",")
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def _lists(lines: list[str]) -> dict[str, list[str]]:
    """Indented lists after a ``Title :`` / ``Title (n):`` line, by title."""
    out: dict[str, list[str]] = {}
    title = None
    depth = 0
    for line in lines:
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if title is not None and indent > depth:
            out[title].append(stripped)
            continue
        title = None
        match = re.match(r"^(.+?)\s*(\(\d+\))?\s*:$", stripped)
        if match:
            title, depth = match.group(1), indent
            out[title] = []
    return out


def _values(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition(" = ")
        if sep and key not in out:
            out[key] = value
    return out


def _weight(words: list[str]) -> tuple[int, bool]:
    index = words.index("weight")
    return int(words[index + 1]), words[index + 2 : index + 3] == ["reverse"]


def _address(line: str) -> tuple[str, tuple[str, str | None]]:
    words = line.split()
    option = dict(zip(words[1::2], words[2::2], strict=False))
    return str(ip_interface(words[0])), (option.get("dev", ""), option.get("label"))


def _interval(text: str) -> float:
    number, unit = text.split()[:2]
    return float(number) / (1000 if unit.startswith("milli") else 1)


_NOTIFY_LABELS = {"Master": "master", "Backup": "backup", "Fault": "fault", "Stop": "stop",
                  "Generic": "any"}  # fmt: skip


def _quoted_words(text: str) -> tuple[str, ...]:
    """Keepalived's ``'/usr/bin/x' 'a' 'b'`` (the words it execs) as a tuple."""
    return tuple(shlex.split(text))


def _real_argv(words: list[str]) -> tuple[str, ...]:
    """argv with its program as Keepalived shows it: found on PATH, its directory's
    symlinks resolved (/bin/sh as /usr/bin/sh, not as dash)."""
    if not words:
        return ()
    program = shutil.which(words[0]) or words[0]
    real = os.path.join(os.path.realpath(os.path.dirname(program)), os.path.basename(program))
    return (real, *words[1:])


def keepalived_view(dump: str) -> dict[str, Seen]:
    """Every VRRP instance of a /tmp/keepalived.data, with what its sync group adds."""
    sections = _sections(dump)
    scripts = {
        name: _values(lines)
        for name, lines in _blocks(sections.get("VRRP Scripts", []), "VRRP Script").items()
    }
    files = _blocks(sections.get("VRRP Track files", []), "Track file")
    processes = _blocks(sections.get("VRRP Track processes", []), "VRRP Track process")
    groups = _blocks(sections.get("VRRP Sync groups", []), "VRRP Sync Group")
    out: dict[str, Seen] = {}
    for name, lines in _blocks(sections.get("VRRP Topology", []), "VRRP Instance").items():
        values, lists = _values(lines), _lists(lines)
        seen = Seen(
            vrid=int(values["Virtual Router ID"]),
            version=int(values["VRRP Version"]),
            priority=int(values["Priority"]),
            interval=_interval(values["Advert interval"]),
            preempt=values["Preempt"] == "enabled",
            preempt_delay=float(values.get("Preempt delay", "0 secs").split()[0]),
        )
        auth = values.get("Authentication type", "none")
        if auth == "SIMPLE_PASSWORD":
            seen.auth = ("pass", values.get("Password", ""))
        elif auth == "IPSEC_AH":
            seen.auth = ("ah", "")
        seen.vips = dict(_address(a) for k, v in lists.items() if k == "Virtual IP" for a in v)
        seen.excluded = dict(_address(a) for a in lists.get("Virtual IP Excluded", []))
        source = values.get("Using src_ip", "")
        if source.endswith("(from configuration)"):
            seen.unicast_source = source.split()[0]
        seen.unicast_peers = frozenset(p.split()[0] for p in lists.get("Unicast Peer", []))
        seen.tracks_own_interface = not any(
            line.strip() == "VRRP interface tracking disabled" for line in lines
        )
        vmac = re.search(r"Use VMAC, i/f name ([^,\s]+)", "\n".join(lines))
        seen.vmac = vmac.group(1) if vmac else None
        if seen.vmac:
            seen.vips = {
                a: ("vmac" if dev.split("@")[0] == seen.vmac else dev, label)
                for a, (dev, label) in seen.vips.items()
            }
        for key, value in values.items():
            state = key.removesuffix(" state transition script")
            if state in _NOTIFY_LABELS and state != key:
                command = value.rsplit(", uid:gid", 1)[0]
                seen.commands[f"notify {_NOTIFY_LABELS[state]}"] = _quoted_words(command)
        for entry in lists.get("Tracked interfaces", []):
            seen.interfaces[entry.split()[0]] = _weight(entry.split())
        group = values.get("Sync group")
        group_lists = _lists(groups.get(group, [])) if group else {}
        for entry in lists.get("Tracked scripts", []) + group_lists.get("Tracked scripts", []):
            words = entry.split()
            seen.scripts[words[0]] = _weight(words)
            script = scripts[words[0]]
            seen.commands[f"check {words[0]}"] = _quoted_words(script["Command"])
            seen.script_timing[words[0]] = (
                float(script["Interval"].split()[0]),
                float(script["Timeout"].split()[0]),
                int(script["Rise"]),
                int(script["Fall"]),
            )
        for entry in group_lists.get("Tracked interfaces", []):
            seen.interfaces[entry.split()[0]] = _weight(entry.split())
        for entry in lists.get("Tracked files", []) + group_lists.get("Tracked files", []):
            words = entry.replace(",", " ").split()
            path = _values(files[words[0]])["File"]
            seen.files[path] = _weight(words)
        for entry in lists.get("Tracked processes", []) + group_lists.get("Tracked processes", []):
            words = entry.replace(",", " ").split()
            process = _values(processes[words[0]])
            weight, reverse = _weight(words)
            seen.processes[process["Process"]] = (weight, reverse, int(process["Min processes"]))
        out[name] = seen
    return out


def vrrpd_view(config: Config) -> dict[str, Seen]:
    """The same facts about a loaded vrrpd configuration."""
    checks = {c.name: c for c in config.scripts}
    return {inst.name: _instance_view(inst, checks) for inst in config.instances}


def _instance_view(inst: InstanceConfig, checks: dict[str, Any]) -> Seen:
    def held(vips: tuple[Any, ...]) -> dict[str, tuple[str, str | None]]:
        def dev(v: Any) -> str:
            name = v.dev or inst.device
            return "vmac" if name == inst.vmac_device else name

        return {str(v.address): (dev(v), v.label) for v in vips}

    seen = Seen(
        vrid=inst.vrid,
        version=inst.version,
        priority=inst.priority,
        interval=inst.advert_interval,
        preempt=inst.preempt,
        preempt_delay=inst.preempt_delay,
        auth=(inst.authentication.type, inst.authentication.password)
        if inst.authentication
        else None,
        vips=held(inst.virtual_addresses),
        excluded=held(inst.excluded_addresses),
        unicast_source=str(inst.unicast_source) if inst.unicast_source else None,
        unicast_peers=frozenset(str(p) for p in inst.unicast_peers),
    )
    seen.vmac = inst.vmac_device
    if inst.notify:
        for state in ("master", "backup", "fault", "stop", "any"):
            command = getattr(inst.notify, state)
            if command:
                seen.commands[f"notify {state}"] = _real_argv(argv(command))
    for track in inst.track_scripts:
        check = checks[track.name]
        seen.commands[f"check {track.name}"] = _real_argv(argv(check.command))
        weight = check.weight if track.weight is None else track.weight
        seen.scripts[track.name] = (weight, track.reverse)
        timeout = 0.0 if check.timeout is None else check.timeout
        seen.script_timing[track.name] = (check.interval, timeout, check.rise, check.fall)
    for iface in inst.track_interfaces:
        seen.interfaces[iface.name] = (iface.weight or 0, iface.reverse)
    for file in inst.track_files:
        # Keepalived shows the file's real path (/var/run/x as /run/x): the same file
        seen.files[os.path.realpath(file.path)] = (file.weight, file.reverse)
    for process in inst.track_processes:
        seen.processes[process.name] = (process.weight or 0, process.reverse, process.quorum)
    return seen


_EXCUSES: dict[str, tuple[str, ...]] = {
    "tracks_own_interface": ("dont_track_primary",),
    "scripts": ("outside -253..253",),
    "vmac": ("names the macvlan itself",),
    "unicast_peers": ("own unicast_src_ip",),
    # Keepalived tracks a VIP's other interface on that interface's side (TRACK_ADDR), not
    # in the instance's "Tracked interfaces" the dump shows; vrrpd lists it (review h15r3)
    "interfaces": ("tracks the interface of its address",),
}
"""Differences a converter warning may explain, and the words that warning uses."""


def _excused(key: str, theirs: Any, mine: Any, warnings: list[str]) -> bool:
    """A warning explains the difference: it names each differing item and says why."""
    words = _EXCUSES.get(key, ())
    if isinstance(theirs, dict):
        items = [k for k in {*theirs, *mine} if theirs.get(k) != mine.get(k)]
    else:
        items = [""]
    return bool(words) and all(
        any(
            (item.split("/")[0] if item[:1].isalnum() else item) in w
            and any(word in w for word in words)
            for w in warnings
        )
        for item in items
    )


def compare(
    keepalived: dict[str, Seen], conversion: Conversion, config: Config | None
) -> list[str]:
    """Every difference not carried over, not warned about and not refused; empty is a pass."""
    if conversion.errors:
        ah = [n for n, s in keepalived.items() if s.auth == ("ah", "")]
        if ah and all("auth_type AH" in e for e in conversion.errors):
            return []  # refused, and rightly: no file to compare
        return [f"refused: {e}" for e in conversion.errors]
    assert config is not None
    ours = vrrpd_view(config)
    problems = []
    for name, theirs in keepalived.items():
        if name not in ours:
            problems.append(f"{name}: Keepalived runs it, the converted file has none")
            continue
        mine = ours[name]
        for key in theirs.__dataclass_fields__:
            a, b = getattr(theirs, key), getattr(mine, key)
            if a == b:
                continue
            if _excused(key, a, b, conversion.warnings):
                continue
            problems.append(f"{name}.{key}: Keepalived {a!r}, vrrpd {b!r}")
    for name in ours:
        if name not in keepalived:
            problems.append(f"{name}: in the converted file, not run by Keepalived")
    return problems
