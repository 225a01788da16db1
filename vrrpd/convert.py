"""``vrrpd convert``: a keepalived.conf's VRRP side as vrrpd YAML.

Keepalived's defaults become explicit, because they are where migrations go wrong:
Keepalived speaks VRRPv2 unless told otherwise (vrrpd defaults to v3: a node moved
config-by-config would join its cluster speaking another version, and both would be
MASTER), runs scripts as root without checking who can write them, and uses only the
first 8 bytes of a PASS password. Every keyword that is not carried over is a warning
``FILE:LINE: message``: load balancing (virtual_server, real_server) stays with
nginx, HAProxy or IPVS.
"""

from __future__ import annotations

import glob
import shlex
from dataclasses import dataclass, field
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

import yaml

_NOT_CARRIED = {
    "virtual_server": "load balancing (IPVS) is not vrrpd's: keep it in nginx, HAProxy or ipvsadm",
    "virtual_server_group": "load balancing (IPVS) is not vrrpd's: keep it in nginx, HAProxy or ipvsadm",
    "static_ipaddress": "static addresses belong to the host's network configuration",
    "static_routes": "static routes belong to the host's network configuration",
    "static_rules": "static rules belong to the host's network configuration",
    "virtual_routes": "vrrpd moves addresses, not routes: add routes in a notify hook",
    "virtual_rules": "vrrpd moves addresses, not rules: add rules in a notify hook",
    "linkbeat_use_polling": "vrrpd follows links through netlink events",
}


@dataclass
class Node:
    """One keyword line, its arguments, and the block that follows it."""

    keyword: str
    args: list[str]
    file: str
    line: int
    children: list[Node] = field(default_factory=list)

    def first(self, keyword: str) -> Node | None:
        return next((c for c in self.children if c.keyword == keyword), None)

    def value(self, keyword: str) -> str | None:
        node = self.first(keyword)
        return node.args[0] if node is not None and node.args else None


@dataclass
class Conversion:
    document: dict[str, Any]
    warnings: list[str]

    @property
    def instances(self) -> int:
        return len(self.document.get("instances", {}))

    def yaml(self) -> str:
        head = "# Converted from keepalived.conf by `vrrpd convert`; check it with `vrrpd check-config`.\n"
        return head + yaml.safe_dump(self.document, sort_keys=False, default_flow_style=False)


# ---------------------------------------------------------------- parsing


def _tokens(
    path: Path, seen: set[Path], config_id: str | None, skipped: dict[str, tuple[str, int]]
) -> list[tuple[list[str], str, int]]:
    """Lines as token lists (quotes kept together, comments dropped), includes resolved,
    and Keepalived's conditional lines (``@ID`` / ``@^ID``) kept only for ``config_id``."""
    out: list[tuple[list[str], str, int]] = []
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.split("#", 1)[0].split("!", 1)[0].strip()
        if line.startswith("@"):
            condition, _, line = line[1:].replace("\t", " ").partition(" ")
            negated = condition.startswith("^")
            ident = condition.removeprefix("^")
            if (ident == config_id) == negated:
                skipped.setdefault(ident, (str(path), number))
                continue
            line = line.strip()
        if not line:
            continue
        try:
            words = shlex.split(line.replace("{", " { ").replace("}", " } "))
        except ValueError:
            words = line.split()
        if words[:1] == ["include"] and len(words) > 1:
            pattern = words[1] if words[1].startswith("/") else str(path.parent / words[1])
            for included in sorted(glob.glob(pattern)):
                target = Path(included).resolve()
                if target not in seen:
                    seen.add(target)
                    out += _tokens(target, seen, config_id, skipped)
            continue
        out.append((words, str(path), number))
    return out


def parse(
    path: str | Path,
    config_id: str | None = None,
    skipped: dict[str, tuple[str, int]] | None = None,
) -> list[Node]:
    """The keepalived.conf at ``path`` as a tree of keyword nodes (for ``config_id``, as
    ``keepalived -i``); ``skipped`` collects the ids of conditional lines left out."""
    root = Node("", [], str(path), 0)
    stack = [root]
    pending: Node | None = None
    skipped = {} if skipped is None else skipped
    for words, file, line in _tokens(Path(path), {Path(path).resolve()}, config_id, skipped):
        for word in _split_braces(words):
            if word == "{":
                parent = pending or (stack[-1].children[-1] if stack[-1].children else stack[-1])
                stack.append(parent)
                pending = None
            elif word == "}":
                if len(stack) > 1:
                    stack.pop()
                pending = None
            elif isinstance(word, list):
                pending = Node(word[0], word[1:], file, line)
                stack[-1].children.append(pending)
    return root.children


def _split_braces(words: list[str]) -> list[Any]:
    """A line's statements: keyword runs and the braces between them."""
    out: list[Any] = []
    run: list[str] = []
    for word in words:
        if word in ("{", "}"):
            if run:
                out.append(run)
                run = []
            out.append(word)
        else:
            run.append(word)
    if run:
        out.append(run)
    return out


# ---------------------------------------------------------------- converting


class _Converter:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.version = 2
        self.garp: dict[str, Any] = {}
        self.track_files: dict[str, Node] = {}
        self.track_processes: dict[str, Node] = {}
        self.scripts: dict[str, Any] = {}
        self._script_nodes: dict[str, Node] = {}
        self.services: list[str] = []

    def warn(self, node: Node, message: str) -> None:
        self.warnings.append(f"{node.file}:{node.line}: {message}")

    def run(self, nodes: list[Node]) -> dict[str, Any]:
        document: dict[str, Any] = {"global": {}}
        security_set = user_set = False
        for node in nodes:
            if node.keyword == "global_defs":
                security_set, user_set = self.global_defs(node, document["global"])
        for node in nodes:
            if node.keyword == "vrrp_track_file":
                self.track_files[node.args[0] if node.args else ""] = node
            elif node.keyword == "vrrp_track_process":
                self.track_processes[node.args[0] if node.args else ""] = node
            elif node.keyword == "vrrp_script" and node.args:
                self.scripts[node.args[0]] = self.script(node)
                self._script_nodes[node.args[0]] = node
        instances: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        tracked: set[str] = set()
        self.services = [n.args[0] for n in nodes if n.keyword == "virtual_server" and n.args]
        for node in nodes:
            if node.keyword == "vrrp_instance" and node.args:
                instances[node.args[0]] = self.instance(node, tracked)
            elif node.keyword == "vrrp_sync_group" and node.args:
                groups[node.args[0]] = self.sync_group(node)
            elif node.keyword in _NOT_CARRIED:
                self.warn(node, f"{node.keyword} not carried over: {_NOT_CARRIED[node.keyword]}")
            elif node.keyword not in (
                "global_defs", "vrrp_script", "vrrp_track_file", "vrrp_track_process",
            ):  # fmt: skip
                self.warn(node, f"{node.keyword} not carried over: vrrpd has no equivalent")
        glob_ = document["global"]
        if not user_set:
            glob_["script_user"] = "root"
            self.warnings.append(
                f"{nodes[0].file if nodes else '-'}:1: no script_user: Keepalived ran scripts as root, "
                "and so will this file; vrrpd's own default is nobody (set it once the checks work as nobody)"
            )
        if not security_set:
            glob_["script_security"] = False
        for name, script_node in self._script_nodes.items():
            if name not in tracked:
                self.warn(script_node, f"vrrp_script {name} is defined but no instance tracks it")
        if self.scripts:
            document["scripts"] = self.scripts
        document["instances"] = instances
        if groups:
            document["sync_groups"] = groups
        if not glob_:
            del document["global"]
        return document

    def global_defs(self, node: Node, out: dict[str, Any]) -> tuple[bool, bool]:
        security = user = False
        for child in node.children:
            key, args = child.keyword, child.args
            if key == "router_id" and args:
                out["router_id"] = args[0]
            elif key == "script_user" and args:
                out["script_user"] = args[0]
                user = True
            elif key == "enable_script_security":
                out["script_security"] = True
                security = True
            elif key == "vrrp_version" and args:
                self.version = int(args[0])
            elif key == "vrrp_garp_master_delay" and args:
                self.garp["delay"] = float(args[0])
            elif key == "vrrp_garp_master_repeat" and args:
                self.garp["repeat"] = int(args[0])
            elif key == "vrrp_garp_master_refresh" and args:
                self.garp["refresh"] = float(args[0])
            elif key == "vrrp_check_unicast_src":
                pass  # vrrpd always accepts unicast adverts only from the listed peers
            elif key == "vrrp_strict":
                self.warn(child, "vrrp_strict not carried over: vrrpd checks what the RFC "
                          "requires without it; filter traffic to the VIPs with nftables")  # fmt: skip
            else:
                self.warn(child, f"global_defs {key} not carried over (mail, SNMP and the like "
                          "are not vrrpd's; its metrics and notify hooks are)")  # fmt: skip
        return security, user

    def script(self, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in node.children:
            key, args = child.keyword, child.args
            if key == "script" and args:
                command = " ".join(args)
                out["command"] = command
                if not command.split()[0].startswith("/"):
                    self.warn(child, f"script {command!r} is not an absolute path: give the full "
                              "path, vrrpd does not search PATH for checks")  # fmt: skip
            elif key in ("interval", "timeout") and args:
                out[key] = float(args[0])
            elif key in ("weight", "rise", "fall") and args:
                out[key] = int(args[0])
            elif key == "user" and args:
                out["user"] = args[0]
            else:
                self.warn(child, f"vrrp_script {key} not carried over")
        return out

    def instance(self, node: Node, tracked: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        version: int | None = None
        vips: list[Any] = []
        notify: dict[str, str] = {}
        garp = dict(self.garp)
        for child in node.children:
            key, args = child.keyword, child.args
            arg = args[0] if args else ""
            if key == "interface":
                out["interface"] = arg
            elif key == "virtual_router_id":
                out["vrid"] = int(arg)
            elif key == "priority":
                out["priority"] = int(arg)
            elif key == "advert_int":
                out["advert_interval"] = float(arg) if "." in arg else int(arg)
            elif key == "nopreempt":
                out["preempt"] = False
            elif key == "preempt_delay":
                out["preempt_delay"] = float(arg)
            elif key in ("version", "vrrp_version"):
                version = int(arg)
            elif key == "state":
                if arg.upper() == "MASTER":
                    self.warn(child, "state MASTER not carried over: vrrpd starts every instance as "
                              "BACKUP and elects; the highest priority becomes MASTER")  # fmt: skip
            elif key == "authentication":
                out["authentication"] = self.authentication(child)
            elif key in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
                if key.endswith("excluded"):
                    self.warn(child, "virtual_ipaddress_excluded: carried over as ordinary VIPs "
                              "(vrrpd advertises every VIP it holds)")  # fmt: skip
                vips += [self.vip(c) for c in child.children]
            elif key == "unicast_src_ip":
                out["unicast_source"] = arg
            elif key == "unicast_peer":
                out["unicast_peers"] = [c.keyword for c in child.children]
            elif key == "track_script":
                out["track_scripts"] = [self.weighted(c, "name") for c in child.children]
                tracked.update(c.keyword for c in child.children)
            elif key == "track_interface":
                out["track_interfaces"] = [self.weighted(c, "name") for c in child.children]
            elif key == "track_file":
                out["track_files"] = [self.track_file(c) for c in child.children]
            elif key == "track_process":
                out["track_processes"] = [self.track_process(c) for c in child.children]
            elif key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
                notify[key.removeprefix("notify_") if key != "notify" else "any"] = " ".join(args)
            elif key in ("garp_master_delay", "garp_master_refresh"):
                garp[key.removeprefix("garp_master_")] = float(arg)
            elif key == "garp_master_repeat":
                garp["repeat"] = int(arg)
            elif key == "use_vmac":
                out["use_vmac"] = True
                if args:
                    self.warn(child, f"use_vmac {arg}: vrrpd names the macvlan itself (vrrp.VRID)")
            elif key in ("native_ipv6", "dont_track_primary"):
                pass  # the family comes from the VIPs; vrrpd tracks the interface it runs on
            else:
                self.warn(child, f"vrrp_instance {key} not carried over")
        if not vips:
            hint = (
                f" (virtual_server {' '.join(self.services)} is likely it)" if self.services else ""
            )
            self.warn(node, f"vrrp_instance {node.args[0]} has no virtual_ipaddress: it moves "
                      f"nothing; add the service's address to virtual_addresses{hint}")  # fmt: skip
        family6 = any(":" in (v if isinstance(v, str) else v["address"]) for v in vips)
        out["version"] = 3 if family6 else (version or self.version)
        out.setdefault("priority", 100)  # Keepalived's defaults, written out
        out.setdefault("advert_interval", 1)
        out["virtual_addresses"] = vips
        if garp:
            out["garp"] = garp
        if notify:
            out["notify"] = notify
        return _ordered(out)

    def authentication(self, node: Node) -> dict[str, str]:
        kind = (node.value("auth_type") or "PASS").upper()
        password = node.value("auth_pass") or ""
        if kind != "PASS":
            self.warn(node, f"auth_type {kind} not carried over: only PASS exists in vrrpd")
        if len(password.encode()) > 8:
            self.warn(node, f"auth_pass: Keepalived uses only its first 8 bytes; so does vrrpd "
                      f"({password.encode()[:8].decode(errors='replace')!r})")  # fmt: skip
            password = password.encode()[:8].decode(errors="ignore")
        return {"type": "pass", "password": password}

    def vip(self, node: Node) -> Any:
        words = [node.keyword, *node.args]
        address = words[0]
        if "/" not in address:
            address += "/128" if ":" in address else "/32"
        try:
            address = str(ip_interface(address))
        except ValueError:
            self.warn(node, f"{words[0]}: not an address")
        extra = dict(zip(words[1::2], words[2::2], strict=False))
        out: dict[str, str] = {"address": address}
        if "dev" in extra:
            out["dev"] = extra["dev"]
        if "label" in extra:
            out["label"] = extra["label"]
        dropped = sorted(set(extra) - {"dev", "label"})
        if dropped:
            self.warn(node, f"virtual_ipaddress {', '.join(dropped)} not carried over")
        return out if len(out) > 1 else address

    @staticmethod
    def weighted(node: Node, key: str) -> Any:
        if len(node.args) >= 2 and node.args[0] == "weight":
            return {key: node.keyword, "weight": int(node.args[1])}
        return node.keyword

    def track_file(self, node: Node) -> dict[str, Any]:
        definition = self.track_files.get(node.keyword)
        path = definition.value("file") if definition else node.keyword
        weight = definition.value("weight") if definition else None
        if len(node.args) >= 2 and node.args[0] == "weight":
            weight = node.args[1]
        return {"path": path, "weight": int(weight) if weight is not None else 1}

    def track_process(self, node: Node) -> dict[str, Any]:
        definition = self.track_processes.get(node.keyword)
        out: dict[str, Any] = {
            "name": (definition.value("process") if definition else None) or node.keyword
        }
        weight = definition.value("weight") if definition else None
        if len(node.args) >= 2 and node.args[0] == "weight":
            weight = node.args[1]
        if weight is not None:
            out["weight"] = int(weight)
        quorum = definition.value("quorum") if definition else None
        if quorum is not None:
            out["quorum"] = int(quorum)
        return out

    def sync_group(self, node: Node) -> dict[str, Any]:
        group = node.first("group")
        out: dict[str, Any] = {"instances": [c.keyword for c in group.children] if group else []}
        notify = {
            key.removeprefix("notify_") if key != "notify" else "any": " ".join(c.args)
            for c in node.children
            if (key := c.keyword)
            in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
        }
        if notify:
            out["notify"] = notify
        for child in node.children:
            if child.keyword not in ("group", "notify_master", "notify_backup", "notify_fault",
                                     "notify_stop", "notify"):  # fmt: skip
                self.warn(child, f"vrrp_sync_group {child.keyword} not carried over")
        return out


_ORDER = ("interface", "vrid", "priority", "version", "advert_interval", "preempt", "preempt_delay")


def _ordered(out: dict[str, Any]) -> dict[str, Any]:
    """The keys an operator looks for first, then the rest as read."""
    return {
        **{k: out[k] for k in _ORDER if k in out},
        **{k: v for k, v in out.items() if k not in _ORDER},
    }


def convert(path: str | Path, config_id: str | None = None) -> Conversion:
    """The VRRP side of the keepalived.conf at ``path`` (as ``keepalived -i config_id``
    reads it), and what was not carried over."""
    converter = _Converter()
    skipped: dict[str, tuple[str, int]] = {}
    document = converter.run(parse(path, config_id, skipped))
    notes = [
        f"{file}:{line}: lines for @{ident} skipped (keepalived -i {ident}): "
        f"convert with --config-id {ident} for that node"
        for ident, (file, line) in sorted(skipped.items())
    ]
    return Conversion(document, notes + converter.warnings)
