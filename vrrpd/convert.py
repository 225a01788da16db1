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
import re
import shlex
import socket
import sys
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_interface
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
    columns: list[int] = field(default_factory=list)
    """Where the keyword and each argument start on the line (1-based, as read)."""

    def at(self, index: int = 0) -> str:
        """``FILE:LINE:COL`` of argument ``index`` (-1: the keyword)."""
        column = (self.columns[index + 1 : index + 2] or self.columns[:1] or [1])[0]
        return f"{self.file}:{self.line}:{column}"

    def first(self, keyword: str) -> Node | None:
        return next((c for c in self.children if c.keyword == keyword), None)

    def value(self, keyword: str) -> str | None:
        node = self.first(keyword)
        return node.args[0] if node is not None and node.args else None


@dataclass
class Conversion:
    document: dict[str, Any]
    warnings: list[str]
    errors: list[str] = field(default_factory=list)
    """What cannot be converted without breaking the cluster (AH): no file is written."""
    origins: dict[str, str] = field(default_factory=dict)
    """Converted key path (``instances.VI_1.vrid``, as the loader names it) -> the
    keepalived.conf's FILE:LINE:COL it came from: check-config reports there."""

    def origin(self, path: str) -> str | None:
        """The keepalived.conf position of ``path`` or of the nearest key above it."""
        while path:
            if path in self.origins:
                return self.origins[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    @property
    def instances(self) -> int:
        return len(self.document.get("instances", {}))

    def yaml(self) -> str:
        head = "# Converted from keepalived.conf by `vrrpd convert`; check it with `vrrpd check-config`.\n"
        text = yaml.safe_dump(self.document, sort_keys=False, default_flow_style=False)
        return head + _FAST_PREEMPT_OFF.sub(
            lambda m: f"{m[1]}{_FAST_PREEMPT_WHY}\n{m[1]}fast_preempt: false\n", text
        )


_FAST_PREEMPT_OFF = re.compile(r"^( *)fast_preempt: false\n", re.MULTILINE)
_FAST_PREEMPT_WHY = (
    "# Off while Keepalived or FRR peers may rank above this node (they wait out the "
    "RFC's timer); turn it on when the cluster is vrrpd only (docs/architecture.md)."
)


# ---------------------------------------------------------------- parsing


_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)(?=[ \t,)\n]|\Z)")
"""``${NAME}`` anywhere, ``$NAME`` only before a space, tab, ',', ')' or the line's end:
lib/parser.c (find_definition) leaves ``$NAME/24`` or ``"$NAME"`` as written."""
_LEFT = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def _names(word: str) -> list[str]:
    """The variable names still written in ``word`` (``$NAME`` or ``${NAME}``)."""
    return [m[1] or m[2] for m in _LEFT.finditer(word)]


_DEFINITION = re.compile(r"^\$(\w+)\s*=(.*)$", re.DOTALL)
_STDIN = "<stdin>"


@dataclass
class _Reading:
    """What reading a keepalived.conf and its includes gathers besides the lines."""

    config_id: str
    variables: dict[str, str] = field(default_factory=dict)
    seen: set[Path] = field(default_factory=set)
    skipped: dict[str, tuple[str, int]] = field(default_factory=dict)
    kept: dict[str, tuple[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _host_id() -> str:
    """Keepalived's config id without ``-i``: this host's name up to the first dot."""
    return socket.gethostname().split(".")[0]


def _expand(text: str, variables: dict[str, str], pwd: str) -> str:
    """``${NAME}`` and ``$NAME`` replaced as Keepalived does (``_PWD``: the directory of
    the file being read); an undefined name stays as written."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "_PWD":
            return pwd
        return variables.get(name, match.group(0))

    for _ in range(10):  # definitions may use definitions
        expanded = _VARIABLE.sub(value, text)
        if expanded == text:
            break
        text = expanded
    return text


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with Keepalived's backslash continuations joined (kept apart by newlines, so
    a multi-line variable expands to several lines), numbered by their first line."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            first = number
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        out.append((first, "\n".join(pending)))
        pending = []
    if pending:
        out.append((first, "\n".join(pending)))
    return out


def _strip_comment(line: str) -> str:
    """The line up to a ``#`` or ``!`` outside double quotes, as lib/parser.c's decomment
    cuts it: single quotes protect nothing, and an escaped ``\\#`` outside quotes ends
    the line too (the config is read twice, and the escape is gone on the second pass:
    Keepalived 2.2.7's dump shows ``auth_pass ab\\#cd`` as ``ab``)."""
    quote = False
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and index + 1 < len(line):
            if not quote and line[index + 1] in "#!":
                return line[:index]
            index += 2
            continue
        if char == '"':
            quote = not quote
        elif char in "#!" and not quote:
            return line[:index]
        index += 1
    return line


def _keepalived_words(text: str) -> list[str]:
    """Words as lib/parser.c (alloc_strvec_r) splits a value: a double-quoted string is
    one word without its quotes; single quotes and backslashes are plain characters."""
    return [quoted or plain for quoted, plain in re.findall(r'"([^"]*)"?|([^\s"]+)', text)]


def _words(line: str) -> list[str]:
    """Tokens, quotes kept together, braces apart (never those of a ``${...}`` left as
    written, ``${NAME:-default}`` for envsubst included: a check command is not to be
    mangled, nor a value split into a block)."""
    spaced = re.sub(r"\$\{([^{}\s]+)\}", "\0\\1\1", line)
    spaced = spaced.replace("{", " { ").replace("}", " } ")
    spaced = spaced.replace("\0", "${").replace("\1", "}")
    try:
        return shlex.split(spaced)
    except ValueError:
        return spaced.split()


def _columns(raw: str, words: list[str]) -> list[int]:
    """Each word's 1-based column in the line as written (a word that came from a
    variable: where the next ``$`` is, else where the previous word ended)."""
    first = raw.split("\n", 1)[0]
    columns, cursor = [], len(first) - len(first.lstrip())
    for word in words:
        found = first.find(word, cursor) if word else -1
        if found >= 0:
            columns.append(found + 1)
            cursor = found + len(word)
        else:
            dollar = first.find("$", cursor)
            at = dollar if dollar >= 0 else cursor
            columns.append(at + 1)
            cursor = at + 1
    return columns


_Token = tuple[list[str], str, int, list[int]]


def _words_plain(text: str) -> list[str]:
    """The first word of ``text``, its quotes removed, its braces kept."""
    try:
        return shlex.split(text)[:1]
    except ValueError:
        return text.split()[:1]


def _brace_alternatives(pattern: str) -> list[str]:
    """``a/{b,c}.conf`` -> ``a/b.conf``, ``a/c.conf`` (nested too), as glob(3) with
    GLOB_BRACE expands them; a brace without a comma inside is kept as written."""
    depth, start = 0, -1
    for index, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                inner, parts, level, last = pattern[start + 1 : index], [], 0, 0
                for at, c in enumerate(inner):
                    level += (c == "{") - (c == "}")
                    if c == "," and level == 0:
                        parts.append(inner[last:at])
                        last = at + 1
                if not parts:
                    continue
                parts.append(inner[last:])
                head, tail = pattern[:start], pattern[index + 1 :]
                return [x for part in parts for x in _brace_alternatives(head + part + tail)]
    return [pattern]


def _tokens(path: Path, text: str, reading: _Reading) -> list[_Token]:
    """Lines as token lists (comments dropped), variables defined and expanded, includes
    resolved as Keepalived resolves them, and conditional lines (``@ID`` / ``@^ID``) kept
    only for ``reading.config_id``."""
    out: list[_Token] = []
    name = str(path)
    pwd = str(Path.cwd()) if name == _STDIN else str(path.parent)
    for number, joined in _logical_lines(text):
        line = joined.strip()
        if line.startswith("@"):
            condition, _, line = line[1:].replace("\t", " ").partition(" ")
            negated = condition.startswith("^")
            ident = condition.removeprefix("^")
            if (ident == reading.config_id) == negated:
                reading.skipped.setdefault(condition, (name, number))
                continue
            reading.kept.setdefault(condition, (name, number))
            line = line.strip()
        definition = _DEFINITION.match(line)
        if definition:
            reading.variables[definition.group(1)] = definition.group(2).strip()
            continue
        if line.startswith(("~SEQ", "~LST")):
            reading.warnings.append(
                f"{name}:{number}:1: {line.split('(')[0]}: Keepalived's generated lines are "
                "not expanded by this conversion (what they generate is missing here): write "
                "them out, one block each, and convert again"
            )
            continue
        for part in _expand(line, reading.variables, pwd).split("\n"):
            out += _statement(_strip_comment(part).strip(), path, number, reading, joined)
    return out


def _statement(
    line: str, path: Path, number: int, reading: _Reading, raw: str = ""
) -> list[_Token]:
    if not line:
        return []
    words = _words(line)
    if words[:1] == ["include"] and len(words) > 1:
        # the path as written: its braces are csh alternatives, not a block
        words = ["include", *_words_plain(line.split(None, 1)[1])]
        base = Path.cwd() if str(path) == _STDIN else path.parent
        pattern = words[1] if words[1].startswith("/") else str(base / words[1])
        matches = []
        for alternative in _brace_alternatives(pattern):  # GLOB_BRACE, in written order
            matches += [m for m in sorted(glob.glob(alternative)) if m not in matches]
        if not matches:
            reading.warnings.append(
                f"{path}:{number}: include {words[1]}: no file matches; Keepalived goes on "
                "without it, and so does this conversion: check that nothing is missing"
            )
        out: list[_Token] = []
        for included in matches:
            target = Path(included).resolve()
            if target not in reading.seen and target.is_file():
                reading.seen.add(target)
                out += _tokens(Path(included), target.read_text(errors="replace"), reading)
        return out
    if words[0] == "auth_pass":
        # a secret, not a command: read as Keepalived reads it, not as a shell would
        words = _keepalived_words(line)
    if any(w.endswith(";") for w in words[1:]):
        reading.warnings.append(
            f"{path}:{number}: {line}: Keepalived has no ';' ending a value: it is read as "
            "part of the value, here as there"
        )
    # what is left of `$NAME` / `${NAME}` after expansion: glued to what follows (defined,
    # but Keepalived does not replace it there) or never defined
    left = [(m[1] or m[2], m[0]) for w in words for m in _LEFT.finditer(w)]
    glued = next((n for n, _ in left if n in reading.variables), None)
    if glued is not None and words[0] != "auth_pass":
        reading.warnings.append(
            f"{path}:{number}: ${glued}: Keepalived replaces an unbraced variable only before "
            "a space, tab, ',', ')' or the line's end, so it leaves this one as written, and so "
            f"does this conversion: write ${{{glued}}} if the value was meant"
        )
    undefined = next((w for w in words if any(n not in reading.variables for n in _names(w))), None)
    if undefined is not None or (glued is not None and words[0] == "auth_pass"):
        # a password with a '$' is no variable to the operator: never repeat any of it
        what = "auth_pass: a '$' in it" if words[0] == "auth_pass" else undefined
        reading.warnings.append(
            f"{path}:{number}: {what}: no such variable defined before this line; "
            "Keepalived leaves it as written, and so does this conversion"
        )
    return [(words, str(path), number, _columns(raw or line, words))]


def parse(
    path: str | Path,
    config_id: str | None = None,
    skipped: dict[str, tuple[str, int]] | None = None,
    reading: _Reading | None = None,
) -> list[Node]:
    """The keepalived.conf at ``path`` (``-``: standard input) as a tree of keyword nodes,
    read as ``keepalived -i config_id`` would (without it, as Keepalived does: this
    host's name); ``skipped`` collects the ids of conditional lines left out."""
    reading = reading or _Reading(config_id or _host_id())
    stdin = str(path) == "-"
    name = _STDIN if stdin else str(path)
    text = sys.stdin.read() if stdin else Path(path).read_text(errors="replace")
    if not stdin:
        reading.seen.add(Path(path).resolve())
    root = Node("", [], name, 0)
    stack = [root]
    pending: Node | None = None
    for words, file, line, columns in _tokens(Path(name), text, reading):
        for word, where in _split_braces(words, columns):
            if word == "{":
                parent = pending or (stack[-1].children[-1] if stack[-1].children else stack[-1])
                stack.append(parent)
                pending = None
            elif word == "}":
                if len(stack) > 1:
                    stack.pop()
                else:
                    reading.warnings.append(
                        f"{file}:{line}:{where[0]}: a '}}' that closes nothing: Keepalived "
                        "says so (extra '}') and goes on; check where the block before it ends"
                    )
                pending = None
            elif isinstance(word, list):
                pending = Node(word[0], word[1:], file, line, columns=where)
                stack[-1].children.append(pending)
    for block in stack[1:]:
        reading.warnings.append(
            f"{block.at(-1)}: {block.keyword} {' '.join(block.args)}: its '{{' is never "
            "closed (Keepalived: missing '}'s or extra '{'s); everything after it up to the "
            "end was read inside it, by Keepalived as by this conversion: add the '}'"
        )
    if skipped is not None:
        skipped.update(reading.skipped)
    return root.children


def _split_braces(words: list[str], columns: list[int]) -> list[tuple[Any, list[int]]]:
    """A line's statements: keyword runs (with their columns) and the braces between."""
    out: list[tuple[Any, list[int]]] = []
    run: list[str] = []
    where: list[int] = []
    for word, column in zip(words, columns, strict=True):
        if word in ("{", "}"):
            if run:
                out.append((run, where))
                run, where = [], []
            out.append((word, [column]))
        else:
            run.append(word)
            where.append(column)
    if run:
        out.append((run, where))
    return out


# ---------------------------------------------------------------- converting


_NOTIFY_KEYS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
_TRACKERS = ("track_script", "track_interface", "track_file", "track_process")
_VIP_PAIRS = {"dev", "label", "scope", "brd", "broadcast", "peer", "track_group",
              "preferred_lft", "metric", "table", "proto"}  # fmt: skip
"""VIP options that take a value (the rest are one-word flags such as ``no_track``)."""
_UNIT_FOR_SCRIPTS = (
    "vrrpd's unit (etc/vrrpd.service) runs them with ProtectSystem=strict (the file system "
    "read-only but for /var/lib/vrrpd, /var/log/vrrpd and /run/vrrpd), ProtectHome=yes "
    "(/root and /home unreadable: no ~/.my.cnf or ~/.aws), PrivateTmp=yes, NoNewPrivileges "
    "(no sudo or setuid helpers) and only the capabilities CAP_NET_ADMIN CAP_NET_RAW "
    "CAP_SETUID CAP_SETGID CAP_KILL (root without CAP_DAC_OVERRIDE cannot read others' "
    "private files)"
)


_MAIL_SNMP_DBUS = ("notification_email", "smtp_", "enable_snmp", "snmp_", "enable_dbus",
                   "dbus_", "enable_traps", "email_")  # fmt: skip
"""global_defs keys whose work vrrpd leaves to its metrics and notify hooks."""


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.version = 2
        self.strict = False
        self.check_unicast_src = False
        """global_defs vrrp_check_unicast_src: the peers' min_ttl counts (vrrp.c)."""
        """global_defs vrrp_strict: each instance's strict_mode unless it sets its own."""
        self.garp: dict[str, Any] = {}
        self.track_files: dict[str, Node] = {}
        self.track_processes: dict[str, Node] = {}
        self.scripts: dict[str, Any] = {}
        self._script_nodes: dict[str, Node] = {}
        self._script_weights: dict[str, tuple[int, bool]] = {}
        self.services: list[str] = []
        self.commandless: set[str] = set()
        """vrrp_script blocks without a command: Keepalived drops them and their users."""
        self.grouped: dict[str, Node] = {}
        self.members: dict[str, list[str]] = {}
        self.global_groups: dict[int, Node] = {}
        """vrrp_mcast_group4/6 by family: Keepalived gives them to multicast instances."""
        self.multicast_families: set[int] = set()
        """Sync group name -> the members Keepalived keeps (vrrp_sync_set_group)."""
        """Instance name -> the vrrp_sync_group it belongs to."""
        self.origins: dict[str, str] = {}
        self.defined: dict[tuple[str, str], int] = {}
        """(track keyword, name) -> where its definition is among the top-level blocks:
        Keepalived looks a tracked name up while it reads, among those above it."""
        self.here = 0
        """The top-level block being converted (its index)."""

    def warn(self, node: Node, message: str) -> None:
        self.warnings.append(f"{node.file}:{node.line}: {message}")

    def refuse(self, node: Node, message: str) -> None:
        self.errors.append(f"{node.file}:{node.line}: {message}")

    def number(self, node: Node, kind: type[Any] = int, index: int = 0) -> Any:
        """Argument ``index`` of ``node`` as a number; a value that is none (``51;``, an
        undefined ``$VAR``, a shell default left for envsubst) is refused at its
        FILE:LINE:COL: Keepalived would log "invalid number" and run with something
        else, which no converted file can promise to match."""
        text = node.args[index] if len(node.args) > index else ""
        try:
            value = kind(text)
        except ValueError:
            hint = (
                " (Keepalived does not end values with ';')"
                if text.endswith(";")
                else " (an undefined variable or a shell default: Keepalived expands only its "
                "own $NAME definitions)"
                if "$" in text
                else ""
            )
            self.errors.append(
                f"{node.at(index)}: {node.keyword} {text!r}: not a number{hint}; Keepalived "
                "says 'invalid number' and goes on with a value of its own choosing, which no "
                "converted file can promise to match: correct the line and convert again"
            )
            return None
        return value

    def run(self, nodes: list[Node]) -> dict[str, Any]:
        document: dict[str, Any] = {"global": {}}
        security_set = user_set = False
        for node in nodes:
            if node.keyword == "global_defs":
                security_set, user_set = self.global_defs(node, document["global"])
        names = {n.args[0] for n in nodes if n.keyword == "vrrp_instance" and n.args}
        placed: set[str] = set()
        for index, node in enumerate(nodes):
            kind = _DEFINES.get(node.keyword)
            if kind is not None and node.args:
                self.defined.setdefault((kind, node.args[0]), index)
            if node.keyword in ("vrrp_track_file", "track_file"):
                # `track_file NAME {...}`: the current spelling (vrrp_track_file: deprecated)
                self.track_files[node.args[0] if node.args else ""] = node
                self.definition_extras(node, ("file", "weight"), node.keyword)
            elif node.keyword == "vrrp_track_process":
                self.track_processes[node.args[0] if node.args else ""] = node
                self.definition_extras(node, ("process", "weight", "quorum"), "vrrp_track_process")
            elif node.keyword == "vrrp_script" and node.args:
                script = self.script(node)
                if "command" in script:
                    self.scripts[node.args[0]] = script
                    self._script_nodes[node.args[0]] = node
                else:
                    self.commandless.add(node.args[0])
                    self.warn(node, f"vrrp_script {node.args[0]} has no script line (left out "
                              "by @ID conditions?): Keepalived ignores the check and every "
                              "track_script of it, and so does this file")  # fmt: skip
            elif node.keyword == "vrrp_sync_group" and node.args:
                members = self.members[node.args[0]] = self.group_members(node, names, placed)
                if _TRACKING_WEIGHT & {c.keyword for c in node.children}:
                    continue  # Keepalived keeps its members' weights, and so does vrrpd
                for member in members:
                    self.grouped[member] = node
        instances: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        tracked: set[str] = set()
        self.services = [n.args[0] for n in nodes if n.keyword == "virtual_server" and n.args]
        for index, node in enumerate(nodes):
            self.here = index
            if node.keyword == "vrrp_instance" and node.args:
                instances[node.args[0]] = self.instance(node, tracked)
        for family, group_node in sorted(self.global_groups.items()):
            if family in self.multicast_families:
                self.multicast_group(group_node, family)
            elif group_node.args[0] not in ("224.0.0.18", "ff02::12"):
                self.warn(group_node, f"{group_node.keyword} {group_node.args[0]}: no "
                          f"multicast IPv{family} instance here (Keepalived gives the group "
                          "to multicast instances only): ignored, as by Keepalived")  # fmt: skip
        for index, node in enumerate(nodes):
            self.here = index
            if node.keyword == "vrrp_sync_group" and node.args:
                group_out = self.sync_group(node, instances, tracked)
                if group_out is not None:
                    groups[node.args[0]] = group_out
            elif node.keyword in _NOT_CARRIED:
                self.warn(node, f"{node.keyword} not carried over: {_NOT_CARRIED[node.keyword]}")
            elif node.keyword not in (
                "global_defs", "vrrp_script", "vrrp_track_file", "track_file",
                "vrrp_track_process", "vrrp_instance",
            ):  # fmt: skip
                self.warn(node, f"{node.keyword} not carried over: vrrpd has no equivalent")
        glob_ = document["global"]
        if not user_set:
            glob_["script_user"] = "root"
            if self.scripts or any(i.get("notify") for i in instances.values()):
                self.warnings.append(
                    f"{self.source}:1: no script_user: Keepalived ran checks and notify scripts "
                    "as root with every capability; this file keeps root, but "
                    f"{_UNIT_FOR_SCRIPTS}. Try each script under the unit "
                    "(systemd-run -p ProtectHome=yes -p ProtectSystem=strict ...) before the "
                    "swap; vrrpd's own default is nobody (set it once the checks work as nobody)"
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

    def definition_extras(self, node: Node, known: tuple[str, ...], what: str) -> None:
        for child in node.children:
            if child.keyword not in known:
                self.warn(child, f"{what} {child.keyword} not carried over: vrrpd has no "
                          "equivalent (its tracker reads the file or counts processes by name "
                          "as it is now)")  # fmt: skip

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
                self.version = self.number(child) or self.version
            elif key == "vrrp_garp_master_delay" and args:
                self.garp["delay"] = self.number(child, float)
            elif key == "vrrp_garp_master_repeat" and args:
                self.garp["repeat"] = self.number(child)
            elif key == "vrrp_garp_master_refresh" and args:
                self.garp["refresh"] = self.number(child, float)
            elif key == "vrrp_check_unicast_src":
                # vrrpd always accepts unicast adverts only from the listed peers; Keepalived
                # then also applies the peers' min_ttl (unicast_hops)
                self.check_unicast_src = True
            elif key in ("vrrp_mcast_group4", "vrrp_mcast_group6") and args:
                # given to multicast instances only (vrrp.c): checked once they are known
                self.global_groups[6 if key.endswith("6") else 4] = child
            elif key == "vrrp_strict":
                self.strict = True
                self.warn(child, "vrrp_strict not carried over: vrrpd checks what the RFC "
                          "requires without it; filter traffic to the VIPs with nftables")  # fmt: skip
            elif key == "max_auto_priority":
                self.warn(child, "max_auto_priority not carried over: it raises Keepalived's "
                          "scheduling priority (realtime); vrrpd is one asyncio process, give it "
                          "CPUSchedulingPolicy= in a systemd drop-in if the host is that busy")  # fmt: skip
            elif key == "default_interface":
                self.warn(child, "default_interface not carried over: Keepalived uses it "
                          "only for static_ipaddress lines without dev (an instance without "
                          "interface gets none from it: 'Unknown interface!'); every converted "
                          "instance names its interface")  # fmt: skip
            elif key.startswith(("vrrp_garp_", "vrrp_gna_", "vrrp_min_garp", "vrrp_lower_prio")):
                self.warn(child, f"global_defs {key} not carried over: gratuitous ARP / "
                          "unsolicited NA timing beyond what vrrpd sends (garp: delay, repeat "
                          "and refresh on each instance); vrrpd announces each address `repeat` "
                          "times on becoming MASTER, again after `delay`, and every `refresh` "
                          "seconds if set")  # fmt: skip
            elif key.startswith(_MAIL_SNMP_DBUS):
                self.warn(child, f"global_defs {key} not carried over (mail, SNMP and DBus are "
                          "not vrrpd's; its metrics and notify hooks are)")  # fmt: skip
            else:
                self.warn(child, f"global_defs {key} not carried over: vrrpd has no "
                          "equivalent")  # fmt: skip
        return security, user

    def script(self, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        weight, reverse = 0, False
        init_fail: Node | None = None
        here = f"scripts.{node.args[0]}"
        self.origins[here] = node.at(-1)
        for child in node.children:
            key, args = child.keyword, child.args
            self.origins[f"{here}.{'command' if key == 'script' else key}"] = child.at(0)
            if key == "script" and args and (words := _command_words(args[0])):
                command = shlex.join(words)
                out["command"] = command
                if len(args) > 1:
                    self.warn(child, f"script {args[0]} {' '.join(args[1:])}: Keepalived runs "
                              f"{words[0]} without the words after it (only a quoted command "
                              "keeps its arguments), and so does this file: quote the command "
                              "if they were meant")  # fmt: skip
                if not words[0].startswith("/"):
                    self.warn(child, f"script {command!r} is not an absolute path: vrrpd finds "
                              "it through the service's PATH (systemd's, not your shell's), "
                              "where Keepalived resolved it when it started; give the full path "
                              "so check-config can check the file")  # fmt: skip
            elif key in ("interval", "timeout") and args:
                out[key] = self.whole_seconds(child, self.number(child, float), node.args[0])
            elif key == "weight" and args:
                weight = self.clamped(child, self.number(child), node.args[0]) or 0
                reverse = args[1:2] == ["reverse"]
                out["weight"] = weight
            elif key in ("rise", "fall") and args:
                out[key] = self.number(child)
            elif key == "user" and args:
                out["user"] = args[0]
            elif key == "init_fail":
                init_fail = child
            else:
                self.warn(child, f"vrrp_script {key} not carried over")
        out = {k: v for k, v in out.items() if v is not None}  # refused: not a number
        if init_fail is not None:
            rise, interval = out.get("rise", 1), out.get("interval", 1.0)
            self.warn(init_fail, f"vrrp_script {node.args[0]} init_fail not carried over: "
                      "Keepalived starts the check as failed, so a node tracking it (weight 0) "
                      f"stays in FAULT until {rise} successes (about {(rise - 1) * interval:g} "
                      "s), and a weighted one starts with its penalty; vrrpd starts an "
                      "instance only once each check it tracks has answered, and the first "
                      "answer decides (one success is up): the node never takes the VIPs "
                      "before the check has run, but one success, not rise, brings it up")  # fmt: skip
        if reverse:
            # vrrpd's checks have no reverse: it goes on each track_scripts entry instead
            out["weight"] = 0
        self._script_weights[node.args[0]] = (weight, reverse)
        return out

    def whole_seconds(self, node: Node, value: float | None, name: str) -> float | None:
        """A vrrp_script interval or timeout as Keepalived 2.2.7 reads it (vrrp_parser.c,
        read_unsigned_strvec): whole seconds, the fraction cut off with a warning of its
        own ("invalid number"), and 0 made 1: ``interval 0.5`` checks every second,
        ``interval 2.5`` every 2."""
        if value is None or (value == int(value) and value >= 1):
            return value
        whole = max(1, int(value))
        self.warn(node, f"vrrp_script {name} {node.keyword} {node.args[0]}: Keepalived reads "
                  f"whole seconds only (it cuts the fraction off, and makes 0 1) and uses "
                  f"{whole}, and so does this file")  # fmt: skip
        return float(whole)

    def instance(self, node: Node, tracked: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        name = node.args[0]
        version: int | None = None
        vips: list[Any] = []
        vip_nodes: list[Node] = []
        excluded: list[Any] = []
        excluded_nodes: list[Node] = []
        notify: dict[str, str] = {}
        garp = dict(self.garp)
        native6 = False
        group = self.grouped.get(name)
        master: Node | None = None
        auth_node: Node | None = None
        strict: bool | None = None
        peer_block: Node | None = None
        mcast_node: Node | None = None
        old_checksum: Node | None = None
        check_source: bool | None = None
        here = f"instances.{name}"
        self.origins[here] = node.at(-1)
        for child in node.children:
            key, args = child.keyword, child.args
            arg = args[0] if args else ""
            yaml_key = _YAML_KEYS.get(key, key.replace("notify_", "notify."))
            self.origins.setdefault(f"{here}.{yaml_key}", child.at(0 if args else -1))
            if key in ("unicast_peer", "virtual_ipaddress_excluded"):
                for index, item in enumerate(child.children):
                    self.origins[f"{here}.{yaml_key}[{index}]"] = item.at(-1)
            if key == "interface":
                out["interface"] = arg
            elif key == "virtual_router_id":
                out["vrid"] = self.number(child)
            elif key == "priority":
                out["priority"] = self.number(child)
                if out["priority"] is not None and not 1 <= out["priority"] <= 255:
                    # vrrp_prio_handler: 'Priority not valid! ... Using default 100'
                    self.warn(child, f"priority {arg}: outside 1..255, which Keepalived says "
                              "and runs the instance at its default 100 (even with state "
                              "MASTER), and so does this file")  # fmt: skip
                    out["priority"] = 100
            elif key == "advert_int":
                out["advert_interval"] = self.number(child, float if "." in arg else int)
            elif key == "nopreempt":
                out["preempt"] = False
            elif key == "preempt":
                out.pop("preempt", None)  # vrrp_preempt_handler clears an earlier nopreempt
            elif key == "preempt_delay":
                out["preempt_delay"] = self.number(child, float)
            elif key in ("version", "vrrp_version"):
                version = self.number(child)
            elif key == "state":
                if arg == "MASTER":  # Keepalived compares case-sensitively
                    master = child
                    self.warn(child, "state MASTER not carried over: vrrpd starts every instance as "
                              "BACKUP and elects; the highest priority becomes MASTER")  # fmt: skip
            elif key == "authentication":
                auth_node = child  # read once the version and strict mode are known
            elif key == "strict_mode":
                strict = _true_false(args[0]) if args else True
                if strict is None:
                    self.warn(child, f"strict_mode {arg}: Keepalived says it is invalid and "
                              "keeps vrrp_strict's setting, and so does this file")  # fmt: skip
            elif key == "mcast_dst_ip" and args:
                mcast_node = child  # ignored by a unicast instance: checked below
            elif key == "virtual_ipaddress":
                for c in child.children:
                    vip = self.vip(c)
                    if vip is not None:
                        vips.append(vip)
                        vip_nodes.append(c)
            elif key == "virtual_ipaddress_excluded":
                for c in child.children:
                    if (v := self.vip(c)) is not None:
                        excluded.append(v)
                        excluded_nodes.append(c)
            elif key in ("unicast_src_ip", "mcast_src_ip"):
                # one handler in Keepalived (vrrp_srcip_handler): the adverts' source,
                # multicast or unicast, which also breaks ties between equal priorities
                out["unicast_source"] = self.host_address(child, arg)
            elif key == "unicast_peer":
                out["unicast_peers"] = [self.host_address(c, c.keyword) for c in child.children]
                peer_block = child
            elif key == "check_unicast_src":
                check_source = _true_false(arg) if args else True
            elif key in _TRACKERS:
                self.trackers(child, out, tracked, group)
            elif key in _NOTIFY_KEYS:
                command = self.notify_command(child)
                if command is not None:
                    notify[key.removeprefix("notify_") if key != "notify" else "any"] = command
            elif key in ("garp_master_delay", "garp_master_refresh"):
                garp[key.removeprefix("garp_master_")] = self.number(child, float)
            elif key == "garp_master_repeat":
                garp["repeat"] = self.number(child)
            elif key == "use_vmac":
                out["use_vmac"] = True
                if args:
                    self.warn(child, f"use_vmac {arg}: vrrpd names the macvlan itself (vrrp.VRID)")
            elif key == "native_ipv6":
                native6 = True
            elif key == "dont_track_primary":
                self.warn(child, f"dont_track_primary not carried over: Keepalived keeps {name} "
                          "out of FAULT when its interface goes down; vrrpd always goes to FAULT "
                          "then (the VIPs move to a node whose link works)")  # fmt: skip
            elif key == "old_unicast_checksum":
                old_checksum = child  # its effect depends on the version and unicast
            elif key == "no_accept":
                self.warn(child, f"no_accept not carried over: Keepalived drops traffic to "
                          f"{name}'s VIPs while master (its nftables/iptables rules; the "
                          "owner, priority 255, excepted); vrrpd does not filter (accept: "
                          "true): add an nftables rule that drops it if that was meant")  # fmt: skip
            elif key == "down_timer_adverts":
                self.warn(child, f"down_timer_adverts {arg} not carried over: a Keepalived "
                          f"backup of {name} waits {arg} missed adverts before taking over, a "
                          "vrrpd backup 3 (RFC 5798), which is sooner when more were "
                          "set")  # fmt: skip
            elif key in ("virtual_routes", "virtual_rules"):
                what = key.removeprefix("virtual_")
                self.warn(child, f"{key} not carried over: Keepalived adds these {what} on "
                          f"{name}'s master and removes them when it leaves MASTER; vrrpd "
                          f"moves addresses, not {what}: add them in a notify hook (master: "
                          f"`ip {what[:-1]} replace ...`, backup, fault and stop: `ip "
                          f"{what[:-1]} del ...`)")  # fmt: skip
            else:
                self.warn(child, f"vrrp_instance {key} not carried over")
        out = {k: v for k, v in out.items() if v is not None}  # refused: not a number
        garp = {k: v for k, v in garp.items() if v is not None}
        own = out.get("unicast_source")
        if own is not None and own in out.get("unicast_peers", ()):
            # one peer list for every node (OpenShift's, kolla's templates): Keepalived
            # sends itself an advert it ignores; vrrpd would count each as another router
            # using its address (own_address_packets) and say so
            out["unicast_peers"] = [p for p in out["unicast_peers"] if p != own]
            self.warn(node, f"unicast_peer {own} is {name}'s own unicast_src_ip (one list for "
                      "every node): left out of unicast_peers, where vrrpd would report its "
                      "own adverts as another router using its address")  # fmt: skip
        if out.get("unicast_peers") and peer_block is not None:
            self.unicast_hops(peer_block, out, name, bool(check_source or self.check_unicast_src))
        if mcast_node is not None and out.get("unicast_peers"):
            self.warn(mcast_node, f"mcast_dst_ip {mcast_node.args[0]}: {name} is unicast; "
                      "Keepalived ignores it ('multicast destination specified with "
                      "unicast'), and so does this file")  # fmt: skip
        elif mcast_node is not None:
            self.multicast_group(mcast_node, 6 if ":" in mcast_node.args[0] else 4)
        all_vips = list(vips)
        vips = self.one_family(vips, vip_nodes, native6, name)
        kept = [n for n, v in zip(vip_nodes, all_vips, strict=True) if any(v is w for w in vips)]
        if len(vips) > 255 and not (native6 or ":" in _address_of(vips[0])):
            # vrrp.c: 'exceeds maximum/space available in packet - excess moved to eVIPs'
            # (255 fit an IPv4 advert on any link of MTU 1064 or more)
            self.warn(node, f"{name}: {len(vips)} VIPs, more than an advert holds (255): "
                      "Keepalived advertises the first 255 and holds the rest without "
                      "advertising them (excess moved to eVIPs), and so does this file "
                      "(excluded_addresses)")  # fmt: skip
            excluded_nodes += kept[255:]
            excluded += vips[255:]
            kept, vips = kept[:255], vips[:255]
        for index, vip_node in enumerate(kept):
            self.origins[f"{here}.virtual_addresses[{index}]"] = vip_node.at(-1)
        if not vips:
            hint = (
                f" (virtual_server {' '.join(self.services)} is likely it)" if self.services else ""
            )
            self.warn(node, f"vrrp_instance {name} has no virtual_ipaddress: it moves "
                      f"nothing; add the service's address to virtual_addresses{hint}")  # fmt: skip
        family6 = native6 or any(":" in _address_of(v) for v in vips[:1])
        if not out.get("unicast_peers"):
            self.multicast_families.add(6 if family6 else 4)
        out["version"] = 3 if family6 else (version or self.version)
        strict = self.strict if strict is None else strict
        if family6 and version == 2:
            # vrrp.c: an IPv6 instance becomes VRRPv3 only without a version of its own,
            # or in strict mode; `version 2` read before anything gives the instance its
            # family keeps it on VRRPv2 over IPv6 (read after, it is ignored)
            if strict or not _version_before_family(node):
                why = (
                    "strict mode makes it"
                    if strict
                    else "it comes after the instance's "
                    "family is known: Keepalived ignores it ('conflicts'), the instance is"
                )
                self.warn(node, f"version 2 in IPv6 instance {name}: {why} VRRPv3, and so is "
                          "this file's")  # fmt: skip
            else:
                self.refuse(node, f"version 2 in IPv6 instance {name}: Keepalived speaks "
                            "VRRPv2 over IPv6 there, which vrrpd does not (IPv6 is VRRPv3 "
                            "only): a vrrpd node and the Keepalived nodes would not hear each "
                            "other and both would be MASTER. Move every Keepalived node of "
                            "this instance to version 3 first, then migrate")  # fmt: skip
        if old_checksum is not None:
            self.old_checksum(old_checksum, out, family6)
        if auth_node is not None:
            auth = self.authentication(auth_node, name, out["version"], strict, family6)
            if auth is not None:
                out["authentication"] = auth
        self.version_limits(node, out)
        self.initial_state(node, out, master, bool(strict))
        if out["priority"] == 255:
            self.owner_files(node, out)
        if strict:
            self.strict_limits(node, out)
        out.setdefault("advert_interval", 1)
        if out["priority"] < 255:
            # The node joins Keepalived peers during a migration, and a backup cannot
            # know whether an RFC-strict router of higher priority waits behind it
            # (docs/architecture.md, fast preemption): the RFC's timer, one handover.
            out["fast_preempt"] = False
        out["virtual_addresses"] = vips
        self.own_interface(node, out)
        held = [*zip(kept, vips, strict=True), *zip(excluded_nodes, excluded, strict=True)]
        self.address_interfaces(out, held)
        if excluded:
            out["excluded_addresses"] = excluded
        if garp:
            out["garp"] = garp
        if notify:
            out["notify"] = notify
        return _ordered(out)

    def notify_command(self, node: Node) -> str | None:
        """A notify line as Keepalived 2.2.7 reads it (lib/notify.c): its first word (a
        quoted string or not) split into the program and its arguments, run without a
        shell, so ``&&`` or ``>`` are arguments; the words after it are the user and
        group to run it as. Written with each word quoted as needed, which vrrpd also
        runs without a shell (shell characters only inside quotes)."""
        words = _command_words(node.args[0]) if node.args else []
        if not words:
            return None
        if len(node.args) > 1:
            who = " ".join(node.args[1:3])
            self.warn(node, f"{node.keyword} {words[0]}: {who!r} after the command is the user "
                      "[and group] Keepalived runs it as, not its arguments; vrrpd runs every "
                      "hook as global.script_user: set that, or quote the command with its "
                      "arguments if they were meant")  # fmt: skip
        return shlex.join(words)

    def unicast_hops(self, block: Node, out: dict[str, Any], name: str, checked: bool) -> None:
        """How far a unicast peer's adverts may have travelled, as Keepalived 2.2.7 checks
        it (vrrp.c): never for unicast ('MUST verify that the IPv4 TTL/IPv6 HL is 255 (but
        not if unicast)'), so peers in other subnets work; with check_unicast_src, each
        peer's ``min_ttl`` (vrrp_data.c, default 0). vrrpd takes TTL 255 only unless
        ``unicast_max_hops`` says otherwise: the converted node would drop a routed
        master's adverts and be MASTER beside it."""
        lowest = 0
        if checked:
            bounds = []
            for peer in block.children:
                args = peer.args
                at = args.index("min_ttl") if "min_ttl" in args else -1
                value = args[at + 1] if 0 <= at < len(args) - 1 else "0"
                bounds.append(int(value) if value.isdigit() else 0)
            lowest = min(bounds, default=0)
        hops = min(254, 255 - min(255, lowest))
        out["unicast_max_hops"] = hops
        self.origins[f"instances.{name}.unicast_max_hops"] = block.at(-1)
        why = (
            f"its unicast peers' min_ttl ({lowest})"
            if lowest
            else "whatever their TTL (it checks TTL 255 only for multicast), so peers in "
            "other subnets work"
        )
        self.warn(block, f"unicast_peer: Keepalived accepts {name}'s unicast adverts {why}; "
                  f"vrrpd takes TTL 255 only unless unicast_max_hops says otherwise: written "
                  f"as unicast_max_hops: {hops} (TTL >= {255 - hops}), as Keepalived; set it "
                  "to 0 if every peer is on this link (no off-link sender can then forge an "
                  "advert)")  # fmt: skip

    def host_address(self, node: Node, text: str) -> str:
        """A unicast address as Keepalived reads it (utils.c, inet_stosockaddr): what
        follows a ``/`` (a prefix) or a ``-`` (a range) is dropped."""
        cut = re.split(r"[/-]", text, maxsplit=1)[0]
        if cut != text:
            self.warn(node, f"{text}: Keepalived uses {cut} (a unicast address has no "
                      "prefix or range), and so does this file")  # fmt: skip
        return cut

    def version_limits(self, node: Node, out: dict[str, Any]) -> None:
        """What Keepalived 2.2.7 makes of an instance's interval: vrrp_parser.c takes
        0.01..255 s and ignores anything else ('not valid ... ignoring': the default,
        1 s); vrrp.c then rounds a VRRPv2 interval half up to whole seconds (0.5 s is 1 s)
        and a VRRPv3 one to 10 ms (at least 10 ms), capped at 40.95 s."""
        name = node.args[0]
        interval = out.get("advert_interval")
        if not isinstance(interval, int | float):
            return
        micro = round(interval * 1_000_000)
        if not 10_000 <= micro <= 255_000_000:
            del out["advert_interval"]  # the default, 1 s, written out below
            self.warn(node, f"advert_int {interval:g} in {name}: outside 0.01..255 s, which "
                      "Keepalived ignores ('not valid') and uses the default 1 s, and so does "
                      "this file")  # fmt: skip
            return
        if out["version"] == 2:
            whole = max(1, (micro + 500_000) // 1_000_000)
            if whole != interval:
                out["advert_interval"] = whole
                self.warn(node, f"advert_int {interval:g} in VRRPv2 instance {name}: Keepalived "
                          f"sends whole seconds, {whole}, and so does this file")  # fmt: skip
            return
        centi = min(4095, max(1, (micro + 5_000) // 10_000))
        if centi * 10_000 != micro:
            out["advert_interval"] = centi / 100
            self.warn(node, f"advert_int {interval:g} in VRRPv3 instance {name}: Keepalived "
                      f"sends {centi / 100:g} s (10 ms steps, at most 40.95), and so does this "
                      "file")  # fmt: skip

    def strict_limits(self, node: Node, out: dict[str, Any]) -> None:
        """What Keepalived 2.2.7's strict mode (vrrp_strict, or the instance's
        strict_mode) clears once the instance is read (vrrp.c): its preempt_delay.

        Unicast peers it does not refuse, whatever its message says: from 2.2.5 (the
        instance's "unicast" flag) to 2.3, vrrp_complete_instance tests "strict and unicast"
        before it sets that flag, so the test never holds and the instance runs in unicast,
        strict otherwise (2.2.7's SIGUSR1 dump: "Using unicast", "Enforcing strict VRRP
        compliance"; corpus file 54). Before 2.2.5, and from 2.4.0 (Keepalived's issue
        2645), the test holds on an interface with multicast and Keepalived refuses the
        file. The converted file does what the live 2.2.7 node does, and says what the
        others would."""
        name = node.args[0]
        if out.get("preempt_delay"):
            del out["preempt_delay"]
            self.warn(node, f"preempt_delay in strict mode (vrrp_strict): Keepalived resets it "
                      f"for {name} (incompatible with strict mode), and so does this file")  # fmt: skip
        if out.get("unicast_peers"):
            where = node.first("unicast_peer") or node
            self.warn(where, f"unicast_peer in strict mode (vrrp_strict): Keepalived 2.2.5 to "
                      f"2.3.x (Debian 12's 2.2.7 among them) runs {name} in unicast all the "
                      "same (its strict-mode test comes before it knows the instance is "
                      "unicast), and so does this file; Keepalived before 2.2.5 and from "
                      "2.4.0 refuses this file on an interface with multicast ('Unicast peers "
                      "are not supported in strict mode') and runs no VRRP at all: there, set "
                      "strict_mode off in the instance or drop vrrp_strict")  # fmt: skip

    def multicast_group(self, node: Node, family: int) -> None:
        """Another VRRP multicast group than the RFC's (vrrp_mcast_group4/6, mcast_dst_ip):
        Keepalived sends there and listens there, vrrpd always uses 224.0.0.18 and
        ff02::12; neither side would hear the other, both MASTER: refused as AH is. A
        value that is no multicast address of the family Keepalived skips (the RFC's)."""
        default = "224.0.0.18" if family == 4 else "ff02::12"
        text = node.args[0]
        try:
            group = ip_address(text)
        except ValueError:
            group = None
        if group is None or group.version != family or not group.is_multicast:
            self.warn(node, f"{node.keyword} {text}: not an IPv{family} multicast address; "
                      f"Keepalived skips it and uses {default}, and so does vrrpd")  # fmt: skip
            return
        if group != ip_address(default):
            self.refuse(node, f"{node.keyword} {text}: Keepalived sends and listens on that "
                        f"group, vrrpd only on the RFC's {default}: a vrrpd node and this "
                        "cluster's Keepalived nodes would not hear each other and both would be "
                        f"MASTER. Move every Keepalived node to {default} (remove the line) "
                        "first, then migrate")  # fmt: skip

    def clamped(
        self, node: Node, weight: int | None, name: str = "", limit: int = 253
    ) -> int | None:
        """A weight beyond Keepalived's documented -253..253: Keepalived says so and still
        adds it (its dump shows 300); vrrpd takes at most 253. The priority stops at 1
        or 254 either way, so alone it acts the same; summed with other trackers it can
        differ, which the warning says."""
        if weight is None or -limit <= weight <= limit:
            return weight
        bound = limit if weight > 0 else -limit
        what = f"{name} " if name else ""
        self.warn(node, f"{what}weight {weight}: outside -{limit}..{limit}, which Keepalived says but "
                  f"still adds {weight}; written as {bound} (the priority stops at 1 or 254 "
                  "either way, but summed with other trackers' weights the result can differ: "
                  f"check the sums)")  # fmt: skip
        return bound

    def initial_state(
        self, node: Node, out: dict[str, Any], master: Node | None, strict: bool = False
    ) -> None:
        """What Keepalived 2.2.7 derives from ``state MASTER`` when it checks an instance
        (vrrp.c): without ``priority`` the instance is the address owner (255), not 100;
        the owner and an initial MASTER both lose ``nopreempt``, an initial MASTER loses
        ``preempt_delay``, and so does a ``nopreempt`` instance. The converted file does
        what Keepalived does, and says so."""
        name = node.args[0]
        if "priority" not in out:
            out["priority"] = 255 if master is not None else 100  # written out
            if master is not None:
                self.warn(master, f"state MASTER without priority: Keepalived makes {name} the "
                          "address owner (priority 255), and so does this file")  # fmt: skip
        where = master or node
        if strict and master is not None and out["priority"] != 255:
            # vrrp.c turns it into BACKUP before it looks at nopreempt and preempt_delay
            self.warn(master, f"state MASTER in strict mode: Keepalived says 'State MASTER "
                      f"must match being address owner' and starts {name} as BACKUP, so it "
                      "keeps a nopreempt, and so does this file")  # fmt: skip
            master = None
        if out.get("preempt") is False and (out["priority"] == 255 or master is not None):
            why = "priority 255 (the owner)" if out["priority"] == 255 else "state MASTER"
            self.warn(where, f"nopreempt with {why}: Keepalived clears nopreempt for {name} "
                      "(it preempts), and so does this file")  # fmt: skip
            del out["preempt"]
        if out.get("preempt_delay") and (master is not None or out.get("preempt") is False):
            why = "state MASTER" if master is not None else "nopreempt"
            self.warn(where, f"preempt_delay with {why}: Keepalived clears the delay for "
                      f"{name}, and so does this file")  # fmt: skip
            del out["preempt_delay"]

    def one_family(self, vips: list[Any], nodes: list[Node], native6: bool, name: str) -> list[Any]:
        """Keepalived takes the instance's family from its first VIP (or native_ipv6) and
        ignores addresses of the other family, with a warning; so does the conversion."""
        if not vips:
            return vips
        six = native6 or ":" in _address_of(vips[0])
        kept = []
        for vip, node in zip(vips, nodes, strict=True):
            if (":" in _address_of(vip)) == six:
                kept.append(vip)
            else:
                self.warn(node, f"{_address_of(vip)}: not the family of {name} (IPv"
                          f"{6 if six else 4}); Keepalived ignores it, and so does this file "
                          "(the version stays as it was); an address to hold without "
                          "advertising it goes in excluded_addresses")  # fmt: skip
        return kept

    def authentication(
        self, node: Node, name: str, version: int, strict: bool, family6: bool
    ) -> dict[str, str] | None:
        """The authentication Keepalived 2.2.7 really sends (vrrp_parser.c, vrrp.c):
        auth_type compared case-sensitively (``pass`` is an unknown type: none), none in
        strict mode nor in VRRPv3 nor without a password, AH ignored over IPv6."""
        kind = node.value("auth_type") or ""
        password = node.value("auth_pass") or ""
        if kind and kind not in ("PASS", "AH"):
            self.warn(node, f"auth_type {kind}: Keepalived knows PASS and AH, in capitals only; "
                          "it says 'unknown authentication type' and sends no authentication, "
                          "and so does this file")  # fmt: skip
            return None
        if kind and strict:
            self.warn(node, f"authentication in strict mode (vrrp_strict) instance {name}: "
                      "Keepalived ignores it ('Strict mode does not support authentication') "
                      "and sends none, and so does this file")  # fmt: skip
            return None
        if kind and version == 3:
            self.warn(node, f"authentication in VRRPv3 instance {name}: Keepalived "
                      "ignores it (VRRPv3 has none), and so does this file")  # fmt: skip
            return None
        if kind == "AH" and password and family6:
            self.warn(node, f"auth_type AH in IPv6 instance {name}: Keepalived ignores it "
                      "(AH is IPv4 only here) and sends none, and so does this file")  # fmt: skip
            return None
        if kind == "AH" and password:
            self.refuse(node, "auth_type AH: Keepalived sends these adverts as IPsec AH (IP "
                        "protocol 51) wrapping VRRPv2, which vrrpd can neither read nor send: "
                        "a vrrpd node and this cluster's Keepalived nodes would not see each "
                        "other and both would be MASTER. Node-by-node migration of this cluster "
                        "is impossible: first move every Keepalived node to auth_type PASS (or "
                        "no authentication), then migrate")  # fmt: skip
            return None
        if kind != "PASS" or not password:
            if kind or password:
                self.warn(node, "authentication without auth_type PASS and an auth_pass: "
                          "Keepalived ignores it, and so does this file")  # fmt: skip
            return None
        if len(password.encode()) > 8:
            self.warn(node, "auth_pass is longer than 8 bytes: Keepalived sends only the first "
                      "8, and so will vrrpd (the file holds those 8 bytes; the secret is not "
                      "repeated here)")  # fmt: skip
            password = password.encode()[:8].decode(errors="ignore")
        return {"type": "pass", "password": password}

    def vip(self, node: Node) -> Any:
        words = [node.keyword, *node.args]
        address = words[0]
        host, _, prefix = address.partition("/")
        full = 128 if ":" in host else 32
        if prefix and not (prefix.isdigit() and int(prefix) <= full):
            # vrrp_ipaddress.c: 'Invalid address prefix len ... - using 32' (a netmask too)
            self.warn(node, f"{address}: Keepalived reads only a prefix length after '/' "
                      f"and adds the address as /{full}, and so does this file")  # fmt: skip
            prefix = ""
        address = f"{host}/{int(prefix) if prefix else full}"
        try:
            address = str(ip_interface(address))
        except ValueError:
            self.warn(node, f"{words[0]}: not an address; Keepalived ignores the line, and so "
                      "does this file")  # fmt: skip
            return None
        out: dict[str, str] = {"address": address}
        dropped: list[str] = []
        rest = words[1:]
        while rest:
            option = rest.pop(0)
            value = rest.pop(0) if option in _VIP_PAIRS and rest else None
            if option in ("dev", "label") and value is not None:
                out[option] = value
            else:
                dropped.append(option if value is None else f"{option} {value}")
        if dropped:
            self.warn(node, f"{words[0]}: {', '.join(dropped)} not carried over (vrrpd adds "
                      "the address with the default scope and broadcast, and always restores "
                      "it if something removes it)")  # fmt: skip
        return out if len(out) > 1 else address

    def trackers(
        self, node: Node, out: dict[str, Any], tracked: set[str], group: Node | None
    ) -> None:
        """One track_* block, as Keepalived 2.2.7 applies it: inside a sync group it
        ignores weighted track_script and track_file entries and makes a weighted
        track_interface a plain one (FAULT when down); the converted file does the same."""
        key = node.keyword
        for child in node.children:
            at = self.defined.get((key, child.keyword), -1)
            if key != "track_interface" and not 0 <= at < self.here:
                later = " (it is defined further down)" if at > self.here else ""
                self.warn(child, f"{key} {child.keyword}: nothing of that name is defined "
                          f"above this line{later}; Keepalived looks it up as it reads, says "
                          "'not found, ignoring...' and runs without it, and so does this "
                          "file")  # fmt: skip
                continue
            if key == "track_script" and child.keyword in self.commandless:
                continue  # warned at the vrrp_script
            entry = self.tracker(key, child)
            if key == "track_script":
                tracked.add(child.keyword)
            weighted = (
                bool(entry.get("weight"))
                if isinstance(entry, dict)
                else (
                    key == "track_script"
                    and self._script_weights.get(child.keyword, (0, False))[0] != 0
                )
            )
            if (
                group is not None
                and key == "track_file"
                and isinstance(entry, dict)
                and self.unweighted_file(child, entry, f"sync group {group.args[0]}")
            ):
                weighted = False
            if group is not None and weighted and key != "track_process":
                if key == "track_interface":
                    entry = child.keyword
                    self.warn(child, f"{key} {child.keyword}: its weight is ignored by "
                              f"Keepalived inside sync group {group.args[0]} (the interface going "
                              "down means FAULT); so in this file")  # fmt: skip
                else:
                    what = (
                        f" ({entry['path']})" if isinstance(entry, dict) and "path" in entry else ""
                    )
                    self.warn(child, f"{key} {child.keyword}{what}: Keepalived ignores weighted "
                              f"trackers of an instance in sync group {group.args[0]}; left out "
                              "of this file to match (track it in the sync group, or without "
                              "a weight, to have an effect)")  # fmt: skip
                    continue
            out.setdefault(_TRACK_KEYS[key], []).append(entry)

    def old_checksum(self, node: Node, out: dict[str, Any], family6: bool) -> None:
        """vrrp.c (OLD_CHKSUM_COMPAT, built into Debian's 2.2.7): ``old_unicast_checksum``
        makes a VRRPv3 IPv4 unicast instance checksum with 224.0.0.18 as the pseudo-header
        destination, and expect that; vrrpd uses the real destination, so each side drops
        the other's adverts. Refused as AH is; ``never``, or another kind of instance,
        changes nothing on the wire."""
        never = node.args[:1] == ["never"]
        if never or out["version"] != 3 or family6 or not out.get("unicast_peers"):
            self.warn(node, f"old_unicast_checksum{' never' if never else ''}: changes "
                      "nothing on the wire here (it concerns VRRPv3 IPv4 unicast adverts "
                      "only, and `never` keeps the RFC's checksum): dropped")  # fmt: skip
            return
        self.refuse(node, "old_unicast_checksum: Keepalived checksums this VRRPv3 unicast "
                    "instance's adverts with 224.0.0.18 in the pseudo-header and expects that "
                    "from its peers (the pre-1.3.6 form); vrrpd uses the real destination: each "
                    "side would drop the other's adverts and both would be MASTER. Remove the "
                    "line from every Keepalived node of this instance (all must run 1.3.6 or "
                    "later) first, then migrate")  # fmt: skip

    def own_interface(self, node: Node, out: dict[str, Any]) -> None:
        """vrrp.c: 'Ignoring track_interface ... since own interface': the instance tracks
        its interface anyway (FAULT while down, as vrrpd does), and the entry's weight
        never counts; kept, a positive one would raise the converted node's priority."""
        own = out.get("interface")
        entries = out.get("track_interfaces", [])
        kept = [t for t in entries if (t if isinstance(t, str) else t["name"]) != own]
        if len(kept) == len(entries):
            return
        self.warn(node, f"track_interface {own}: {node.args[0]}'s own interface; Keepalived "
                  "ignores the entry and its weight ('since own interface': FAULT while it "
                  "is down, as vrrpd always does), and so does this file")  # fmt: skip
        if kept:
            out["track_interfaces"] = kept
        else:
            del out["track_interfaces"]

    def address_interfaces(self, out: dict[str, Any], addresses: list[tuple[Node, Any]]) -> None:
        """vrrp.c (vrrp_complete_instance) tracks the interface of every VIP and excluded
        address held on another interface than the instance's, weight 0, unless the address
        says ``no_track``: that interface going down puts the instance in FAULT (the
        LVS-NAT router's inside gateway). vrrpd tracks only what track_interfaces lists, so
        the converted file lists them."""
        tracked = {t if isinstance(t, str) else t["name"] for t in out.get("track_interfaces", [])}
        for node, address in addresses:
            dev = address.get("dev") if isinstance(address, dict) else None
            if dev is None or dev == out.get("interface") or "no_track" in node.args:
                continue
            entries = out.get("track_interfaces", [])
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and entry["name"] == dev and entry.get("weight"):
                    # add_vrrp_to_interface: the address's weight 0 replaces the entry's
                    entries[index] = dev
                    self.warn(node, f"{_address_of(address)} dev {dev}: Keepalived tracks the "
                              f"interface of its address with weight 0, which replaces "
                              f"track_interface {dev} weight {entry['weight']} (FAULT while "
                              f"{dev} is down), and so does this file")  # fmt: skip
            if dev not in tracked:
                tracked.add(dev)
                out.setdefault("track_interfaces", []).append(dev)
                self.warn(node, f"{_address_of(address)} dev {dev}: Keepalived tracks the "
                          f"interface of its address (FAULT while {dev} is down, unless the "
                          "address says no_track), and so does this file: track_interfaces "
                          f"lists {dev}")  # fmt: skip

    def unweighted_file(self, node: Node, entry: dict[str, Any], where: str) -> bool:
        """vrrp.c, for a sync group member or the address owner: a track_file whose weight
        is the default 1 is made weight 0 ('specify weight 0'), so a non-zero value in the
        file means FAULT (the maintenance switch); the converted entry does the same."""
        if entry.get("weight") != 1:
            return False
        entry["weight"] = 0
        entry.pop("reverse", None)
        self.warn(node, f"track_file {node.keyword} ({entry['path']}): in {where} Keepalived "
                  "makes its default weight 1 weight 0 (a non-zero value in the file means "
                  "FAULT), and so does this file")  # fmt: skip
        return True

    def owner_files(self, node: Node, out: dict[str, Any]) -> None:
        """vrrp.c: the address owner's track_file with the default weight becomes weight 0
        (FAULT on a non-zero value); one with a weight of its own is ignored, as the owner's
        priority never moves. vrrpd ignores an owner's weights, so without this the file
        would do nothing at all."""
        kept = []
        for entry in out.get("track_files", []):
            if self.unweighted_file(node, entry, "the address owner (priority 255)"):
                kept.append(entry)
            elif entry.get("weight"):
                self.warn(node, f"track_file {entry['path']} weight {entry['weight']}: Keepalived "
                          "ignores a weighted track_file on the address owner (priority 255), "
                          "and so does this file")  # fmt: skip
            else:
                kept.append(entry)
        if kept:
            out["track_files"] = kept
        else:
            out.pop("track_files", None)

    def weight_of(self, node: Node | None, limit: int = 253) -> tuple[int | None, bool]:
        """``weight W [reverse]`` (in a track block) or ``W [reverse]`` (a definition's
        weight line) -> (W, reverse); ``limit``: Keepalived's bound for this tracker
        (253, or 254 for track_file and track_process, which take -254..254). A weight
        Keepalived ignores is None: the definition's, the default, or none (FAULT)."""
        if node is None:
            return None, False
        args = node.args
        if args[:1] == ["weight"] and len(args) >= 2:
            weight = self.tracker_weight(node, self.number(node, int, 1), node.keyword, limit)
            return weight, weight is not None and args[2:3] == ["reverse"]
        if node.keyword == "weight" and args:
            weight = self.tracker_weight(node, self.number(node), "", limit)
            return weight, weight is not None and args[1:2] == ["reverse"]
        if args and args[0].lstrip("-").isdigit():
            weight = self.tracker_weight(node, int(args[0]), node.keyword, limit)
            return weight, weight is not None and args[1:2] == ["reverse"]
        return None, False

    def tracker_weight(self, node: Node, weight: int | None, name: str, limit: int) -> int | None:
        """A tracker's weight as vrrp_track.c and track_file.c read it: outside -254..254
        it is ignored ('must be between ... Ignoring...': a track_interface is then
        plain, FAULT while down; a track_script, track_file or track_process entry takes
        its definition's weight; a definition's own, the default); +-254 is 253 where the
        bound is 253 (interfaces, scripts). Only a vrrp_script's own weight is kept out of
        range by Keepalived (``clamped``)."""
        if weight is None or -limit <= weight <= limit:
            return weight
        what = f"{name} " if name else ""
        if abs(weight) == 254:
            bound = 253 if weight > 0 else -253
            self.warn(node, f"{what}weight {weight}: Keepalived says it cannot be +/-254 and "
                      f"uses {bound}, and so does this file")  # fmt: skip
            return bound
        self.warn(node, f"{what}weight {weight}: outside -254..254, which Keepalived ignores "
                  "('Ignoring...'): the tracker keeps its definition's weight, or none (an "
                  "interface or process then means FAULT while down), and so does this "
                  "file")  # fmt: skip
        return None

    def tracker(self, key: str, node: Node) -> Any:
        # track_file.c and vrrp_track.c read file and process weights in -254..254 (a file
        # at -254 is FAULT); scripts and interfaces in -253..253
        limit = 254 if key in ("track_file", "track_process") else 253
        weight, reverse = self.weight_of(node, limit)
        if key == "track_script":
            base_weight, base_reverse = self._script_weights.get(node.keyword, (0, False))
            if weight is None and base_reverse:
                weight = base_weight
            if node.args[2:3] != ["noreverse"]:
                reverse = reverse or base_reverse
            if weight is None:
                return node.keyword
            entry: dict[str, Any] = {"name": node.keyword, "weight": weight}
        elif key == "track_interface":
            if weight is None:
                return node.keyword
            entry = {"name": node.keyword, "weight": weight}
        elif key == "track_file":
            definition = self.track_files.get(node.keyword)
            path = definition.value("file") if definition else node.keyword
            base = self.weight_of(definition.first("weight") if definition else None, limit)
            reverse = reverse or (base[1] and node.args[2:3] != ["noreverse"])
            weight = weight if weight is not None else base[0]
            entry = {"path": path, "weight": 1 if weight is None else weight}
        else:
            definition = self.track_processes.get(node.keyword)
            entry = {"name": (definition.value("process") if definition else None) or node.keyword}
            base = self.weight_of(definition.first("weight") if definition else None, limit)
            reverse = reverse or (base[1] and node.args[2:3] != ["noreverse"])
            weight = weight if weight is not None else base[0]
            if weight is not None:
                entry["weight"] = weight
            quorum = definition.first("quorum") if definition else None
            if quorum is not None:
                entry["quorum"] = self.number(quorum)
        if reverse and entry.get("weight"):
            entry["reverse"] = True
        return entry

    def unweighted(
        self, node: Node, extra: dict[str, Any], group: str, owner: str
    ) -> dict[str, Any]:
        """vrrp.c (sync_group_tracking_init): with an address owner among the members, the
        group's own trackers lose their weights ('Cannot have weighted track ... with
        member having priority 255 - clearing weight'): each means FAULT for the group."""
        out: dict[str, Any] = {}
        cleared = False
        for list_key, entries in extra.items():
            for entry in entries:
                name = entry if isinstance(entry, str) else entry.get("name", entry.get("path"))
                weight = (
                    self._script_weights.get(name, (0, False))[0]
                    if isinstance(entry, str) and list_key == "track_scripts"
                    else (entry.get("weight") if isinstance(entry, dict) else None)
                )
                kept: Any = entry
                if weight:
                    cleared = True
                    if list_key == "track_interfaces":
                        kept = name
                    elif isinstance(entry, dict):
                        kept = {k: v for k, v in entry.items() if k != "reverse"} | {"weight": 0}
                    else:
                        kept = {"name": name, "weight": 0}
                out.setdefault(list_key, []).append(kept)
        if cleared:
            self.warn(node, f"vrrp_sync_group {group} {node.keyword}: {owner} has priority 255, "
                      "so Keepalived gives the group's trackers weight 0 (each means FAULT for "
                      "the group), and so does this file")  # fmt: skip
        return out

    def group_members(self, node: Node, names: set[str], placed: set[str]) -> list[str]:
        """A sync group's members as vrrp_sync.c (vrrp_sync_set_group) keeps them, groups
        in file order: a name that is no instance is ignored ('doesn't exist'), and so is
        an instance an earlier group holds ('cannot exist in more than one sync group');
        Keepalived runs the rest, and so does the converted file."""
        group = node.first("group")
        members = []
        for child in group.children if group else []:
            name = child.keyword
            if name not in names:
                self.warn(child, f"sync group {node.args[0]}: {name} is no vrrp_instance of "
                          "this file; Keepalived ignores it ('doesn't exist - ignoring'), and "
                          "so does this file")  # fmt: skip
            elif name in placed:
                self.warn(child, f"sync group {node.args[0]}: {name} is in an earlier sync "
                          "group; an instance cannot exist in more than one sync group, so "
                          "Keepalived ignores it here, and so does this file")  # fmt: skip
            else:
                placed.add(name)
                members.append(name)
        return members

    def sync_group(
        self, node: Node, instances: dict[str, Any], tracked: set[str]
    ) -> dict[str, Any] | None:
        members = self.members.get(node.args[0], [])
        if not members:
            self.warn(node, f"vrrp_sync_group {node.args[0]}: no member left; Keepalived "
                      "removes the group ('no matching virtual router found'), and so does "
                      "this file")  # fmt: skip
            return None
        out: dict[str, Any] = {"instances": members}
        owner = next((m for m in members if instances.get(m, {}).get("priority") == 255), None)
        self.origins[f"sync_groups.{node.args[0]}"] = node.at(-1)
        notify = {
            key.removeprefix("notify_") if key != "notify" else "any": command
            for c in node.children
            if (key := c.keyword) in _NOTIFY_KEYS and (command := self.notify_command(c))
        }
        if notify:
            out["notify"] = notify
        for child in node.children:
            if child.keyword in _TRACKERS:
                self.warn(child, f"vrrp_sync_group {child.keyword}: vrrpd's sync groups "
                          "track nothing themselves; carried over onto each member instance, "
                          "which is what Keepalived does with them")  # fmt: skip
                for member in members:
                    if member in instances:
                        extra: dict[str, Any] = {}
                        self.trackers(child, extra, tracked, None)
                        if owner:
                            extra = self.unweighted(child, extra, node.args[0], owner)
                        for list_key, entries in extra.items():
                            instances[member].setdefault(list_key, []).extend(entries)
            elif child.keyword not in ("group", *_NOTIFY_KEYS, *_TRACKING_WEIGHT):
                self.warn(child, f"vrrp_sync_group {child.keyword} not carried over")
        return out


def _version_before_family(node: Node) -> bool:
    """Whether the instance's ``version`` line comes before the first line that gives
    it an address family (a VIP, native_ipv6, a source address), as Keepalived reads."""
    for child in node.children:
        if child.keyword in ("version", "vrrp_version"):
            return True
        if child.keyword in ("native_ipv6", "unicast_src_ip", "mcast_src_ip", "mcast_dst_ip"):
            return False
        if child.keyword == "virtual_ipaddress" and child.children:
            return False
    return False


def _true_false(text: str) -> bool | None:
    """Keepalived's check_true_false: on/true/yes, off/false/no; anything else: None."""
    return {"on": True, "true": True, "yes": True, "off": False, "false": False,
            "no": False}.get(text.lower())  # fmt: skip


def _command_words(text: str) -> list[str]:
    """A command string split into words as Keepalived splits it to exec it without a
    shell (quotes and backslashes honoured)."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


_YAML_KEYS = {
    "virtual_router_id": "vrid", "advert_int": "advert_interval", "nopreempt": "preempt",
    "vrrp_version": "version", "virtual_ipaddress": "virtual_addresses",
    "virtual_ipaddress_excluded": "excluded_addresses", "unicast_src_ip": "unicast_source",
    "unicast_peer": "unicast_peers", "track_script": "track_scripts",
    "track_interface": "track_interfaces", "track_file": "track_files",
    "track_process": "track_processes", "notify": "notify.any",
    "garp_master_delay": "garp.delay", "garp_master_refresh": "garp.refresh",
    "garp_master_repeat": "garp.repeat",
}  # fmt: skip
"""Keepalived's instance keywords -> the converted keys (for check-config's positions)."""

_DEFINES = {
    "vrrp_script": "track_script",
    "vrrp_track_file": "track_file",
    "track_file": "track_file",
    "vrrp_track_process": "track_process",
}
"""Top-level definitions and the instance block that tracks them by name."""

_TRACKING_WEIGHT = {"sync_group_tracking_weight", "global_tracking"}
"""A sync group's keywords that make Keepalived apply its members' weighted trackers
(vrrp.c): vrrpd always applies them, so the members keep them."""

_TRACK_KEYS = {
    "track_script": "track_scripts",
    "track_interface": "track_interfaces",
    "track_file": "track_files",
    "track_process": "track_processes",
}


def _address_of(vip: Any) -> str:
    return str(vip if isinstance(vip, str) else vip["address"])


_ORDER = ("interface", "vrid", "priority", "version", "advert_interval", "preempt", "preempt_delay",
          "fast_preempt")  # fmt: skip


def _ordered(out: dict[str, Any]) -> dict[str, Any]:
    """The keys an operator looks for first, then the rest as read."""
    return {
        **{k: out[k] for k in _ORDER if k in out},
        **{k: v for k, v in out.items() if k not in _ORDER},
    }


def convert(path: str | Path, config_id: str | None = None) -> Conversion:
    """The VRRP side of the keepalived.conf at ``path`` (``-``: standard input), read as
    ``keepalived -i config_id`` reads it (without it, as Keepalived does: for this host's
    name), and what was not carried over, and what cannot be."""
    reading = _Reading(config_id or _host_id())
    nodes = parse(path, config_id, reading=reading)
    converter = _Converter(_STDIN if str(path) == "-" else str(path))
    document = converter.run(nodes)
    notes = []
    if config_id is None and (reading.skipped or reading.kept):
        kept = ", ".join(f"@{i}" for i in sorted(reading.kept)) or "none"
        dropped = ", ".join(f"@{i}" for i in sorted(reading.skipped))
        file, line = min([*reading.kept.values(), *reading.skipped.values()])
        notes.append(
            f"{file}:{line}: conditional lines: without --config-id Keepalived reads them for "
            f"this host's name ({reading.config_id!r}), and so did this conversion: kept "
            f"{kept}; dropped {dropped or 'none'}. Convert with --config-id ID for another node"
        )
    else:
        notes += [
            f"{file}:{line}: lines for @{ident} skipped (keepalived -i {reading.config_id}): "
            f"convert with --config-id {ident} for that node"
            for ident, (file, line) in sorted(reading.skipped.items())
            if not ident.startswith("^")
        ]
    return Conversion(
        document, notes + reading.warnings + converter.warnings, converter.errors, converter.origins
    )
