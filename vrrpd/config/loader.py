"""Load the YAML configuration into ``schema`` dataclasses, with exact error positions.

Why not ``yaml.safe_load``: it forgets where values came from, silently keeps the
last of two duplicate keys, and reads ``vrid: 010`` as 8 and ``preempt: on`` as
True. Here the document is *composed* (a node tree with line and column marks),
and each scalar is parsed from its source text according to the schema field's
type. Every problem is collected, then all are reported at once as
``FILE:LINE:COL: path: message``.

The converter walks the schema's type hints, so adding a key to ``schema.py`` is
all it takes to accept it here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import enum
import os
import re
import types
import typing
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv6Address,
    IPv6Interface,
    ip_address,
    ip_interface,
)
from pathlib import Path
from typing import Any

import yaml

from vrrpd.config.security import process_warnings, script_problems
from vrrpd.core import config as schema
from vrrpd.core.config import Config

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?\s*$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0}
_NAMED = (schema.CheckConfig, schema.InstanceConfig, schema.SyncGroupConfig)
"""Dataclasses whose ``name`` is the mapping key they are listed under."""
_YAML_KEYS = {"global_": "global"}


@dataclass(frozen=True)
class Mark:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class ConfigError:
    mark: Mark
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.mark}: {where}{self.message}"


class ConfigInvalid(Exception):
    """Raised with every error of a configuration file."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(map(str, errors)))


class _Invalid(Exception):
    """One value could not be converted (collected, never escapes the loader)."""


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []
        self.marks: dict[str, Mark] = {}
        self.broken: set[str] = set()
        """Blocks not built because of an error already reported."""

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node, path: str, message: str) -> None:
        self.errors.append(ConfigError(self.mark(node), path, message))

    # ---------------------------------------------------------------- structure

    def mapping(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) of a mapping, refusing duplicates."""
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, "must be a mapping")
            return []
        seen: dict[str, yaml.Node] = {}
        items = []
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                first = self.mark(seen[key])
                self.error(
                    key_node, _join(path, key), f"duplicate key (first at line {first.line})"
                )
                continue
            seen[key] = key_node
            items.append((key, key_node, value_node))
        return items

    def build(self, cls: type[Any], node: yaml.Node, path: str, name: str | None = None) -> Any:
        """A dataclass from a mapping (or, for one-field shorthands, from a scalar)."""
        self.marks[path] = self.mark(node)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls, vars(schema))
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            first = next(iter(fields))
            values[first] = self.convert(hints[first], node, path)
            return cls(**values)
        by_yaml = {
            _YAML_KEYS.get(n, n): n for n in fields if not (name is not None and n == "name")
        }
        present = set(values)
        for key, key_node, value_node in self.mapping(node, path):
            sub = _join(path, key)
            field_name = by_yaml.get(key)
            if field_name is None:
                close = difflib.get_close_matches(key, list(by_yaml), n=1)
                hint = (
                    f"; that is Keepalived's word: in vrrpd this is {KEEPALIVED_WORDS[key]}"
                    if key in KEEPALIVED_WORDS
                    else f"; did you mean {close[0]!r}?"
                    if close
                    else f"; known keys: {', '.join(sorted(by_yaml))}"
                )
                self.error(key_node, sub, f"unknown key{hint}")
                continue
            self.marks[sub] = self.mark(value_node)
            present.add(field_name)
            try:
                values[field_name] = self.convert(hints[field_name], value_node, sub)
            except _Invalid as problem:
                self.error(value_node, sub, str(problem))
            except _Skip:
                continue
        missing = [
            _YAML_KEYS.get(n, n)
            for n, f in fields.items()
            if n not in present
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            self.error(
                node,
                path,
                f"missing required key{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            )
        if missing or present - set(values):
            self.broken.add(path)
            raise _Skip  # already reported; build nothing from a broken block
        return cls(**values)

    # ---------------------------------------------------------------- values

    def convert(self, tp: Any, node: yaml.Node, path: str) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if type(None) in args and _is_null(node):
                return None
            rest = [a for a in args if a is not type(None)]
            if set(rest) == {IPv4Address, IPv6Address}:
                return _address(node)
            if set(rest) == {IPv4Interface, IPv6Interface}:
                return _interface(node)
            return self.convert(rest[0], node, path)
        if origin is tuple:
            return self.sequence(args[0], node, path)
        if dataclasses.is_dataclass(tp):
            return self.build(typing.cast(type[Any], tp), node, path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            text = _scalar(node)
            choices = [str(m.value) for m in tp]
            if text not in choices:
                raise _Invalid(f"must be one of {', '.join(choices)} (got {text!r})")
            return tp(text)
        if tp is bool:
            return _boolean(node)
        if tp is int:
            return _integer(node)
        if tp is float:
            return _duration(node)
        if tp is str:
            return _scalar(node)
        raise AssertionError(f"no converter for {tp!r} at {path}")

    def sequence(self, item: Any, node: yaml.Node, path: str) -> tuple[Any, ...]:
        if _is_null(node):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise _Invalid("must be a list")
        out = []
        for index, child in enumerate(node.value):
            sub = f"{path}[{index}]"
            try:
                out.append(self.convert(item, child, sub))
            except _Invalid as problem:
                self.error(child, sub, str(problem))
                self.broken.add(path)
            except _Skip:
                self.broken.add(path)
        return tuple(out)

    def named(self, cls: type[Any], node: yaml.Node, path: str) -> tuple[Any, ...]:
        """``scripts:``, ``instances:``, ``sync_groups:``: mappings of name -> settings."""
        out = []
        for key, _, value in self.mapping(node, path):
            sub = _join(path, key)
            try:
                out.append(self.build(cls, value, sub, name=key))
            except _Skip:
                continue
        return tuple(out)


KEEPALIVED_WORDS = {
    "virtual_router_id": "`vrid`",
    "advert_int": "`advert_interval`",
    "virtual_ipaddress": "`virtual_addresses`",
    "nopreempt": "`preempt: false`",
    "unicast_peer": "`unicast_peers`",
    "unicast_src_ip": "`unicast_source`",
    "mcast_src_ip": "`unicast_source` (the advert source, multicast too)",
    "track_script": "`track_scripts`",
    "track_interface": "`track_interfaces`",
    "track_file": "`track_files`",
    "track_process": "`track_processes`",
    "notify_master": "`notify: {master: ...}`",
    "notify_backup": "`notify: {backup: ...}`",
    "notify_fault": "`notify: {fault: ...}`",
    "notify_stop": "`notify: {stop: ...}`",
    "auth_type": "`authentication: {type: pass, password: ...}`",
    "auth_pass": "`authentication: {type: pass, password: ...}`",
    "garp_master_delay": "`garp: {delay: ...}`",
    "garp_master_repeat": "`garp: {repeat: ...}`",
    "garp_master_refresh": "`garp: {refresh: ...}`",
    "vrrp_version": "`version`",
    "state": "nothing: vrrpd elects, and the highest priority becomes MASTER",
    "script": "`command`",
    "enable_script_security": "`script_security`",
    "vrrp_instance": "`instances:`",
    "vrrp_script": "`scripts:`",
    "vrrp_sync_group": "`sync_groups:`",
    "group": "`instances` (in a sync group)",
}
"""Keepalived keywords an operator may carry over, and what vrrpd calls them."""


class _Skip(Exception):
    """A section too broken to build; its errors are already recorded."""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_null(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and node.style is None
    )


def _scalar(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _Invalid("must be a single value")
    return str(node.value)


def _plain(node: yaml.Node) -> bool:
    """Unquoted: only unquoted scalars may be numbers or booleans."""
    return isinstance(node, yaml.ScalarNode) and node.style is None


def _boolean(node: yaml.Node) -> bool:
    text = _scalar(node)
    if text.lower() in ("true", "false") and _plain(node):
        return text.lower() == "true"
    if text.lower() in ("true", "false"):
        raise _Invalid(f"must be true or false, and {text!r} is quoted: write it without quotes")
    raise _Invalid(f"must be true or false (got {text!r})")


def _integer(node: yaml.Node) -> int:
    text = _scalar(node)
    if _plain(node) and _INTEGER.match(text):
        return int(text, 10)  # decimal always: `vrid: 010` is 10, never octal 8
    if _INTEGER.match(text):
        raise _Invalid(
            f"must be a whole number, and {text!r} is quoted: write {text} without quotes"
        )
    raise _Invalid(f"must be a whole number (got {text!r})")


def _duration(node: yaml.Node) -> float:
    text = _scalar(node)
    match = _DURATION.match(text)
    if not match:
        raise _Invalid(
            f"must be a duration in seconds, like 1, 0.1, '100ms' or '2s' (got {text!r})"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def _address(node: yaml.Node) -> IPv4Address | IPv6Address:
    text = _scalar(node)
    try:
        address = ip_address(text)
    except ValueError:
        raise _Invalid(f"must be an IP address (got {text!r})") from None
    if isinstance(address, IPv6Address) and address.scope_id:
        # fe80::2%eth0 never equals the unscoped source a socket reports: every advert
        # of such a unicast peer was dropped as not a peer, both nodes MASTER.
        raise _Invalid(
            f"write {text.split('%')[0]} without %{address.scope_id}: the instance's "
            "interface is the scope of its link-local addresses"
        )
    return address


def _interface(node: yaml.Node) -> IPv4Interface | IPv6Interface:
    text = _scalar(node)
    try:
        return ip_interface(text)
    except ValueError:
        raise _Invalid(
            f"must be an address with an optional prefix, like 192.0.2.10/24 (got {text!r})"
        ) from None


def loads(text: str, file: str = "<config>") -> Config:
    """Parse and validate a configuration document; raise ConfigInvalid with every error."""
    return loads_checked(text, file)[0]


def loads_checked(text: str, file: str = "<config>") -> tuple[Config, list[ConfigError]]:
    """Like ``loads``, and the warnings (legal, but not doing what it seems), with positions."""
    reader = _Reader(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Mark(file, mark.line + 1, mark.column + 1) if mark else Mark(file, 1, 1)
        raise ConfigInvalid(
            [ConfigError(where, "", f"YAML syntax: {error.problem or error.context}")]
        ) from None
    if root is None:
        raise ConfigInvalid(
            [ConfigError(Mark(file, 1, 1), "", "empty configuration: nothing to run")]
        )
    sections: dict[str, Any] = {}
    known = {
        "global": None,
        "scripts": schema.CheckConfig,
        "instances": schema.InstanceConfig,
        "sync_groups": schema.SyncGroupConfig,
    }
    for key, key_node, value in reader.mapping(root, ""):
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            reader.error(key_node, key, f"unknown section{hint}")
        elif key == "global":
            with contextlib.suppress(_Skip):  # reported already
                sections["global_"] = reader.build(schema.GlobalConfig, value, "global")
        else:
            cls = known[key]
            assert cls is not None
            sections[key] = reader.named(cls, value, key)
    config = Config(**sections)
    # `instances: {}` written out is a choice (the package's initial file: the agent runs
    # idle until a reload adds one); a file without the section is a mistake.
    idle = _explicitly_empty(root, "instances")
    if (
        not config.instances
        and idle is None
        and not any(b.startswith("instances.") for b in reader.broken)
    ):
        reader.error(root, "instances", "no instance configured: nothing to run")
    for problem in schema.validate(config) + (script_problems(config) if not reader.errors else []):
        if problem.refers in reader.broken or any(_within(problem.path, b) for b in reader.broken):
            continue  # a consequence of an error already reported
        reader.errors.append(
            ConfigError(_mark_for(reader, problem.path), problem.path, problem.message)
        )
    if reader.errors:
        raise ConfigInvalid(sorted(reader.errors, key=lambda e: (e.mark.line, e.mark.column)))
    warned = [
        ConfigError(_mark_for(reader, w.path), w.path, f"warning: {w.message}")
        for w in schema.warnings(config) + process_warnings(config)
    ]
    if idle is not None:
        warned.insert(
            0,
            ConfigError(
                reader.mark(idle),
                "instances",
                "warning: no instance: an idle agent, holding no VIP and answering no "
                "election until a reload adds one; a node meant to be master or backup "
                "needs its instances here",
            ),
        )
    return config, warned


def _explicitly_empty(root: yaml.Node, key: str) -> yaml.Node | None:
    """The key node of ``key: {}`` (or ``key:`` with nothing) at the top of the document."""
    if not isinstance(root, yaml.MappingNode):
        return None
    for key_node, value in root.value:
        if key_node.value == key:
            empty_map = isinstance(value, yaml.MappingNode) and not value.value
            null = isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")
            return key_node if empty_map or null else None
    return None


def _within(path: str, block: str) -> bool:
    return path == block or path.startswith(f"{block}.") or path.startswith(f"{block}[")


def _mark_for(reader: _Reader, path: str) -> Mark:
    """The closest marked ancestor of ``path`` (validation paths can be finer than the YAML)."""
    while path:
        if path in reader.marks:
            return reader.marks[path]
        path = path.rpartition(".")[0]
    return Mark(reader.file, 1, 1)


def load(path: str | Path, *, to_run: bool = False) -> Config:
    """Read and validate a configuration file."""
    return load_checked(path, to_run=to_run)[0]


def load_checked(path: str | Path, *, to_run: bool = False) -> tuple[Config, list[ConfigError]]:
    """Read and validate a configuration file; also its warnings.

    Read by root, a file (or a directory above it) another user can change is that
    user's way to root: it names ``script_user`` and the commands, or turns
    script_security off (a file cannot vouch for itself). The agent (``to_run``)
    refuses it; ``check-config`` says so as a warning (the file may be checked where
    it was written, before it is installed)."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as error:
        raise ConfigInvalid(
            [ConfigError(Mark(str(file), 1, 1), "", f"cannot read: {error.strerror}")]
        ) from None
    config, warnings = loads_checked(text, str(file))
    if os.geteuid() == 0:
        from vrrpd.config.security import writable_by_others  # noqa: PLC0415

        why = writable_by_others(file)
        if why is not None:
            problem = ConfigError(
                Mark(str(file), 1, 1),
                "",
                f"{why}: whoever can change it can run commands as root through it "
                "(script_user, the checks); the agent refuses it (install it root-owned, "
                "0640, in a root-owned directory)",
            )
            if to_run:
                raise ConfigInvalid([problem])
            warnings = [*warnings, problem]
    return config, warnings
