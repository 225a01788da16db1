"""The ``vrrpd`` command line (click over plain functions, as uvicorn does).

Exit codes are named so scripts and the systemd unit can rely on them.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from vrrpd import __version__
from vrrpd.core.config import Config, GlobalConfig

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
_F = TypeVar("_F", bound=Callable[..., Any])
DEFAULT_CONFIG = "/etc/vrrpd/vrrpd.yaml"
"""Where the package installs the configuration; every command's default."""


def _versions() -> str:
    """vrrpd's version, and what it runs on: the first thing a bug report needs."""
    from importlib import metadata  # noqa: PLC0415
    from platform import python_version  # noqa: PLC0415

    parts = [f"vrrpd {__version__}", f"Python {python_version()}"]
    for name in ("pyroute2", "click", "PyYAML", "psutil"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} missing")
    return ", ".join(parts)


def _say_versions(ctx: click.Context, _: click.Parameter, wanted: bool) -> None:
    """``--version``: its package lookups (importlib.metadata, ~2 MB) only when asked,
    not at every start of the agent as a ``version_option`` message computed at import."""
    if wanted and not ctx.resilient_parsing:
        click.echo(_versions())
        ctx.exit()


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 success; 1 failure (refused reload, invalid file for check-config, "
    "agent unreachable); 2 invalid configuration at `vrrpd run` (nothing touched).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    help="Show the versions and exit.",
    callback=_say_versions,
)
def main() -> None:
    """vrrpd: a VRRP (v2/v3, IPv4/IPv6) failover agent that interoperates with Keepalived."""


def _config_option(help_text: str = "configuration file") -> Callable[[_F], _F]:
    return click.option(
        "-c",
        "--config",
        "file",
        default=DEFAULT_CONFIG,
        show_default=True,
        type=click.Path(dir_okay=False, allow_dash=True),
        help=help_text,
    )


_SOCKET = click.option(
    "--socket",
    "socket_path",
    type=click.Path(),
    help="control socket (default: global.control_socket)",
)
"""Every command that talks to a running agent takes it (or finds it with -c)."""


def _load_or_exit(file: str, code: int, *, to_run: bool = False) -> Config:
    """The config, after printing its warnings; or every error and exit ``code``.
    ``-`` reads standard input."""
    from vrrpd.config.loader import (  # noqa: PLC0415 - keep `vrrpd --help` fast
        ConfigInvalid,
        load_checked,
        loads_checked,
    )
    from vrrpd.logsetup import to_journal  # noqa: PLC0415

    # Under systemd (ExecStartPre, ExecStart) stderr is the journal: the syslog priority
    # prefix files errors and warnings where `journalctl -p warning` looks.
    error_mark, warning_mark = ("<3>", "<4>") if to_journal(sys.stderr) else ("", "")
    try:
        config, warned = (
            loads_checked(sys.stdin.read(), "<stdin>")
            if file == "-"
            else load_checked(file, to_run=to_run)
        )
    except ConfigInvalid as invalid:
        for error in invalid.errors:
            click.echo(f"{error_mark}{error}", err=True)
        raise SystemExit(code) from None
    for warning in warned:
        click.echo(f"{warning_mark}{warning}", err=True)
    return config


@main.command()
@_config_option()
@click.option("-v", "--verbose", is_flag=True, help="the same as --log-level debug")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="overrides global.log_level (default info)",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line (time, level, message, instance, event, fields)",
)
def run(file: str, verbose: bool, log_level: str | None, log_format: str) -> None:
    """Run the agent in the foreground (the systemd unit uses this).

    Logs to stderr, one event per line. SIGTERM/SIGINT: a master that has heard a
    backup hands over first (as `maintenance on`, at most Skew_Time + 2 adverts), so a
    stop or restart costs the clients nothing; then priority 0 where still master,
    every VIP removed, exit 0. Exits 2 on an invalid config, before touching the network.
    """
    from vrrpd import lazy, logsetup  # noqa: PLC0415

    lazy.asyncio_without_tls()  # 4.4 MB of OpenSSL the agent never uses
    config = _load_apart(file, EXIT_CONFIG)
    fixed = "debug" if verbose else log_level
    logsetup.configure(fixed or config.global_.log_level, log_format)
    from vrrpd.driver import agent  # noqa: PLC0415

    raise SystemExit(agent.run(config, file, log_level=fixed))


def _load_apart(file: str, code: int) -> Config:
    """``_load_or_exit`` in a forked child, the Config sent back pickled.

    The agent keeps whatever memory the parse touched: PyYAML's node tree and the
    loader's work for 200 instances leave ~3.7 MB of pymalloc arenas that a few
    long-lived objects pin (``malloc_trim`` returns nothing), for ~0.4 MB of Config.
    Parsed in a child, only the unpickled Config lands here (RSS +4.07 -> +0.40 MB for
    200 instances, measured in one process). The child prints the warnings and errors;
    its exit code is ours when the file is refused.
    """
    import io  # noqa: PLC0415
    import os  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    try:  # streams in memory (click's CliRunner): a child's writes would be lost
        for stream in (sys.stdout, sys.stderr, sys.stdin):
            stream.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return _load_or_exit(file, code, to_run=True)
    sys.stdout.flush()
    sys.stderr.flush()
    readable, writable = os.pipe()
    try:
        child = os.fork()
    except OSError:  # no process to spare: parse here, at the memory's cost
        os.close(readable)
        os.close(writable)
        return _load_or_exit(file, code, to_run=True)
    if child == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(readable)
        status = EXIT_FAILURE
        try:
            data = pickle.dumps(
                _load_or_exit(file, code, to_run=True), protocol=pickle.HIGHEST_PROTOCOL
            )
            with os.fdopen(writable, "wb") as out:
                out.write(data)
            status = EXIT_OK
        except SystemExit as leaving:
            status = leaving.code if isinstance(leaving.code, int) else EXIT_FAILURE
        except BaseException:
            import traceback  # noqa: PLC0415

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    os.close(writable)
    with os.fdopen(readable, "rb") as answer:
        data = answer.read()
    _, waited = os.waitpid(child, 0)
    status = os.waitstatus_to_exitcode(waited)
    if status != EXIT_OK or not data:
        raise SystemExit(status or EXIT_FAILURE)
    config = pickle.loads(data)  # noqa: S301 - our own child's answer, not outside input
    assert isinstance(config, Config)
    return config


def socket_of(config_file: str | None) -> str:
    """The control socket a config file names (read leniently: a broken file, the very
    one a refused reload is about, must not keep ``vrrpd reload`` from the agent)."""
    default = GlobalConfig().control_socket
    if not config_file:
        return default
    import yaml  # noqa: PLC0415

    try:
        with open(config_file) as text:
            document = yaml.safe_load(text)
    except (OSError, yaml.YAMLError):
        return default
    section = document.get("global") if isinstance(document, dict) else None
    path = section.get("control_socket") if isinstance(section, dict) else None
    return path if isinstance(path, str) and path else default


def _ask(
    socket_path: str | None, command: str, config_file: str | None = None, **arguments: Any
) -> dict[str, Any]:
    from vrrpd.control.client import request  # noqa: PLC0415

    path = socket_path or socket_of(config_file)
    try:
        return request(path, command, **arguments)
    except OSError as error:
        click.echo(f"cannot reach vrrpd at {path}: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None


@main.command()
@_SOCKET
@_config_option("find the control socket in this file (global.control_socket)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object instead of a table")
def status(socket_path: str | None, file: str, as_json: bool) -> None:
    """Ask a running agent for every instance's state, priority and master."""
    document = _ask(socket_path, "status", file)
    if as_json:
        click.echo(json.dumps(document, sort_keys=True))
    else:
        from vrrpd.status import status_table  # noqa: PLC0415

        click.echo(status_table(document))


@main.command()
@_SOCKET
@_config_option("find the control socket in this file (global.control_socket)")
def reload(socket_path: str | None, file: str) -> None:
    """Same as SIGHUP: re-read the config; an invalid one is refused and the old one stays.

    Exit 1 when refused, so `systemctl reload` (the unit's ExecReload) fails too.
    """
    reply = _ask(socket_path, "reload", file)
    message = str(reply.get("result") or reply.get("error"))
    click.echo(message)
    if "refused" in message or "failed" in message or "error" in reply:
        raise SystemExit(EXIT_FAILURE)


@main.command("check-config")
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@_config_option()
@click.option(
    "--config-id",
    help="read the keepalived.conf files' @ID lines as `keepalived -i ID` (the live node's "
    "id: without it, this host's name)",
)
def check_config(paths: tuple[str, ...], file: str, config_id: str | None) -> None:
    """Validate FILE (or -c FILE; - reads standard input) without touching the network.

    Warns of a check whose program is missing here or not executable (whatever
    script_security says). With several files (one per node), also checks them as one
    cluster: for every shared VRID the version, interval, VIPs, excluded addresses,
    authentication, checksum form and unicast mode agree, at most one owner, the checks
    can move mastership (positive weights count while their checks pass; equal
    priorities are legal and go to the higher primary address); then says who wins in
    each failure.

    A keepalived.conf among the files (known by its content) is converted as `vrrpd
    convert` would and checked as one node: the new node's YAML against the live
    Keepalived node before the swap. Only what the nodes disagree on is said, with the
    keepalived.conf's FILE:LINE; what the converter refuses fails the check. Its @ID
    lines are read for --config-id (else for this host's name, which is said).

    Exit 0 with a one-line summary, or exit 1 with every error as FILE:LINE:COL: message.
    """
    from vrrpd.cluster import check, missing_programs  # noqa: PLC0415

    files = list(paths) or [file]
    configs = []
    located: dict[tuple[str, str], str] = {}
    refused = False
    for one in files:
        shown = "<stdin>" if one == "-" else one
        if is_keepalived_conf(one):
            config, lines, refused_here = _converted(one, config_id)
            refused |= refused_here
            located.update({(one, name): where for name, where in lines.items()})
        else:
            config = _load_or_exit(one, EXIT_FAILURE)
            click.echo(f"{shown}: OK: {summary(config)}")
            for problem in missing_programs(config):
                click.echo(f"{shown}: warning: {problem}", err=True)
        configs.append((one, config))
    if len(configs) < 2:
        raise SystemExit(EXIT_FAILURE if refused else EXIT_OK)
    names = node_names(configs)
    locations = {
        (name, instance): where
        for (name, _), (one, _) in zip(names, configs, strict=True)
        for (path, instance), where in located.items()
        if path == one
    }
    configs = names

    findings = check(configs, locations)
    for finding in findings:
        click.echo(f"cluster: {'ERROR' if finding.error else 'note'}: {finding.message}")
    if refused or any(f.error for f in findings):
        raise SystemExit(EXIT_FAILURE)


_KEEPALIVED_KEYWORD = re.compile(
    r"^[ \t]*(global_defs|vrrp_instance|vrrp_script|vrrp_sync_group|virtual_server|"
    r"virtual_server_group|vrrp_track_process|vrrp_track_file|static_ipaddress|include)"
    r"(?=[ \t{]|$)(?![ \t]*:)",
    re.MULTILINE,
)
_VRRPD_SECTION = re.compile(r"^(global|instances|scripts|sync_groups)[ \t]*:", re.MULTILINE)


def is_keepalived_conf(path: str) -> bool:
    """Whether ``path`` is a keepalived.conf rather than vrrpd YAML: by its content (a
    Keepalived block keyword opening a line, which is no YAML key), else a ``.conf`` name
    without vrrpd's sections. ``.yaml``/``.yml`` and ``-`` are always YAML."""
    if path == "-" or Path(path).suffix.lower() in (".yaml", ".yml"):
        return False
    try:
        with open(path, errors="replace") as stream:
            text = stream.read(1 << 20)
    except OSError:
        return False  # the loader says why
    if _KEEPALIVED_KEYWORD.search(text):
        return True
    return Path(path).suffix.lower() == ".conf" and not _VRRPD_SECTION.search(text)


def _converted(path: str, config_id: str | None = None) -> tuple[Config, dict[str, str], bool]:
    """A live node's keepalived.conf as ``vrrpd convert`` reads it; what the converter
    refuses (it would break the cluster) is printed as it says it, with FILE:LINE, and
    fails the check. Its other notes (what is not carried over) are no disagreement
    between the nodes: only counted."""
    from vrrpd.config.loader import ConfigInvalid, loads_checked  # noqa: PLC0415
    from vrrpd.convert import convert  # noqa: PLC0415

    result = convert(path, config_id)
    # which @ID lines were read decides the live node's priority and more: say it, as
    # convert does (a copy of lb1's file checked on lb2 is read for lb2 otherwise)
    for note in result.warnings:
        if ": conditional lines:" in note or ": lines for @" in note:
            click.echo(note.replace("Convert with --config-id", "Check with --config-id")
                       .replace("convert with --config-id", "check with --config-id"),
                       err=True)  # fmt: skip
    refusals = [str(e) for e in getattr(result, "errors", ())]
    for refusal in refusals:
        click.echo(refusal, err=True)
    if not result.instances:
        click.echo(f"{path}: no vrrp_instance to convert", err=True)
        raise SystemExit(EXIT_FAILURE)
    try:
        config, _ = loads_checked(result.yaml(), f"{path} (as `vrrpd convert` writes it)")
    except ConfigInvalid as invalid:
        for error in invalid.errors:  # at the keepalived.conf's line the value came from
            where = result.origin(error.path) or str(error.mark)
            click.echo(
                f"{where}: {error.path + ': ' if error.path else ''}{error.message}", err=True
            )
        raise SystemExit(EXIT_FAILURE) from None
    notes = len(result.warnings)
    click.echo(f"{path}: keepalived.conf, converted: {summary(config)}"
               + (f" ({notes} conversion note(s): `vrrpd convert {path}` shows them)"
                  if notes else ""))  # fmt: skip
    return config, _instance_lines(path), bool(refusals)


def _instance_lines(path: str) -> dict[str, str]:
    """Where each ``vrrp_instance NAME`` opens in the file itself, as FILE:LINE (one in an
    included file is not looked for: its messages name the node only)."""
    opening = re.compile(r"^[ \t]*vrrp_instance[ \t]+(\S+)")
    found: dict[str, str] = {}
    try:
        with open(path, errors="replace") as stream:
            for number, line in enumerate(stream, 1):
                match = opening.match(line)
                if match:
                    found.setdefault(match.group(1).rstrip("{"), f"{path}:{number}")
    except OSError:
        pass
    return found


def node_names(files: list[tuple[str, Config]]) -> list[tuple[str, Config]]:
    """Each file's node named by its router_id, or by the file's stem when router_ids clash
    (Keepalived's sample gives every node LVS_DEVEL), or by its path when stems do too:
    two nodes with one name would be merged into one."""
    from collections import Counter  # noqa: PLC0415

    def named(by: Callable[[str, Config], str]) -> list[str] | None:
        names = [by(file, config) for file, config in files]
        return names if max(Counter(names).values()) == 1 else None

    names = (
        named(lambda file, config: config.global_.router_id or Path(file).stem)
        or named(lambda file, _: "<stdin>" if file == "-" else Path(file).stem)
        or [f"{file} ({index + 1})" for index, (file, _) in enumerate(files)]
    )
    return [(name, config) for name, (_, config) in zip(names, files, strict=True)]


def summary(config: Config) -> str:
    """One line an operator can check at a glance."""
    parts = [
        f"{i.name} (VRID {i.vrid} on {i.interface}, IP{i.family} VRRPv{i.version}, priority {i.priority})"
        for i in config.instances
    ]
    counts = f"{len(config.scripts)} script(s), {len(config.sync_groups)} sync group(s)"
    if not parts:
        return f"no instance (the agent runs idle); {counts}"
    return f"{len(config.instances)} instance(s): {', '.join(parts)}; {counts}"


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here, not stdout")
@click.option("--config-id", help="read @ID lines as `keepalived -i ID` would")
def convert(file: str, output: str | None, config_id: str | None) -> None:
    """A keepalived.conf (its includes resolved; `-`: standard input) as vrrpd YAML.

    Keepalived's defaults become explicit (VRRPv2, scripts as root); every keyword not
    carried over is a warning on stderr as FILE:LINE: message. Exit 0 when at least one
    instance was converted and nothing refused (AH); otherwise exit 1, and `-o` leaves
    FILE as it was.
    """
    from vrrpd.convert import convert as run_conversion  # noqa: PLC0415

    result = run_conversion(file, config_id)
    for warning in result.warnings:
        click.echo(warning, err=True)
    for error in result.errors:
        click.echo(f"{error} (refused)", err=True)
    name = "<stdin>" if file == "-" else file
    if not result.instances:
        click.echo(f"{name}: no vrrp_instance to convert", err=True)
    if not result.errors and result.instances:
        # a file vrrpd would not load is no conversion: the documented sequence
        # (convert -o, check-config, reload) must stop here, not at the reload
        # (its shape only: whether its scripts exist and are safe is the target node's
        # question, which check-config answers there)
        import copy  # noqa: PLC0415

        import yaml  # noqa: PLC0415

        from vrrpd.config.loader import ConfigInvalid, loads_checked  # noqa: PLC0415

        shape = copy.deepcopy(result.document)
        shape.setdefault("global", {})["script_security"] = False
        try:
            loads_checked(yaml.safe_dump(shape, sort_keys=False), f"{name} (as converted)")
        except ConfigInvalid as invalid:
            for problem in invalid.errors:
                where = result.origin(problem.path) or str(problem.mark)
                path = f"{problem.path}: " if problem.path else ""
                click.echo(f"{where}: {path}{problem.message} (refused: vrrpd would not load "
                           "the converted file)", err=True)  # fmt: skip
            result.errors.append("the converted file does not load")
    if result.errors or not result.instances:
        if output:
            click.echo(f"{output}: not written", err=True)
        raise SystemExit(EXIT_FAILURE)
    if output:
        with open(output, "w") as out:
            out.write(result.yaml())
    else:
        click.echo(result.yaml(), nl=False)


@main.command()
@click.argument("state", type=click.Choice(["on", "off"]))
@click.argument("instances", nargs=-1)
@_SOCKET
@_config_option("find the control socket in this file (global.control_socket)")
def maintenance(state: str, instances: tuple[str, ...], socket_path: str | None, file: str) -> None:
    """Hand mastership over without an outage (on), or take part in elections again (off).

    `on`: a master releases (priority 0) so the best backup takes over after its
    Skew_Time, keeps answering on the VIPs until it hears the new master, then stays
    BACKUP until `off`. Returns once the handover is done; exit 1 when no backup took
    over (the node then keeps the VIPs and stays MASTER). `off`: the node takes part
    in elections again (and, being better, preempts back).
    """
    reply = _ask(socket_path, "maintenance", file, on=state == "on", instances=list(instances))
    click.echo(str(reply.get("result") or reply.get("error")))
    if "error" in reply:
        raise SystemExit(EXIT_FAILURE)


@main.command()
@click.argument("instances", nargs=-1)
@_SOCKET
@_config_option("find the control socket in this file (global.control_socket)")
def announce(instances: tuple[str, ...], socket_path: str | None, file: str) -> None:
    """Send gratuitous ARP / unsolicited NA again for the VIPs of the INSTANCES (all when
    none are named) this node is MASTER of: after a switch was replaced, or when a
    neighbour kept a stale entry. Exit 1 when none of them is MASTER here."""
    reply = _ask(socket_path, "announce", file, instances=list(instances))
    click.echo(str(reply.get("result") or reply.get("error")))
    if "error" in reply:
        raise SystemExit(EXIT_FAILURE)


def _state_file_of(config_file: str | None) -> str:
    """The ledger a config file names, read leniently like ``socket_of`` (``cleanup``
    runs after an agent died, perhaps over a file that no longer loads)."""
    default = GlobalConfig().state_file
    import yaml  # noqa: PLC0415

    try:
        with open(config_file or DEFAULT_CONFIG) as text:
            document = yaml.safe_load(text)
    except (OSError, yaml.YAMLError):
        return default
    section = document.get("global") if isinstance(document, dict) else None
    path = section.get("state_file") if isinstance(section, dict) else None
    return path if isinstance(path, str) and path else default


@main.command()
@_SOCKET
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    help="the VIP ledger (default: global.state_file of the file, read leniently)",
)
@_config_option("find the ledger and the control socket in this file")
def cleanup(socket_path: str | None, state_file: str | None, file: str) -> None:
    """Remove the VIPs (and grace routes) an agent that is not running left behind.

    The unit runs it after every stop (ExecStopPost). After a clean stop the ledger is
    empty and nothing happens; after kill -9, an OOM kill or the watchdog, the VIPs
    (with announce: bgp, their routes) go now, not at a next start that may never come
    (a file check-config refuses, the restart limit). Exit 1, touching nothing, while an
    agent answers on the control socket: the VIPs are its own.
    """
    import asyncio  # noqa: PLC0415
    import socket  # noqa: PLC0415

    path = socket_path or socket_of(file)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            pass
        else:
            click.echo(f"an agent is running (it answers on {path}): nothing removed", err=True)
            raise SystemExit(EXIT_FAILURE)
    from vrrpd.adapters.netlink import Ledger, Netlink  # noqa: PLC0415

    async def remove() -> list[str]:
        netlink = Netlink(Ledger(state_file or _state_file_of(file)))
        await netlink.open()
        try:
            return await netlink.remove_stale() + await netlink.remove_stale_lingers()
        finally:
            await netlink.close()

    try:
        removed = asyncio.run(remove())
    except OSError as error:
        click.echo(f"cannot remove what was left behind: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    for stale in removed:
        click.echo(f"removed {stale} left behind by an agent that is not running")


@main.command()
@_SOCKET
@_config_option("find the control socket in this file (global.control_socket)")
def watch(socket_path: str | None, file: str) -> None:
    """Stream state changes, priority changes, check flips and faults as JSON lines.

    For dashboards and automation; runs until the agent stops or Ctrl-C. A watcher that
    falls far behind is dropped (with a last line saying so) rather than slowing the agent.
    """
    from vrrpd.control.client import stream  # noqa: PLC0415

    path = socket_path or socket_of(file)
    try:
        for event in stream(path, "watch"):
            click.echo(json.dumps(event, sort_keys=True))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        click.echo(f"cannot reach vrrpd at {path}: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None


@main.command()
@click.argument("interface", required=False)
@click.option("--summary", "seconds", type=float, help="stop after SECONDS and summarise")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@click.option("--arp", is_flag=True, help="also gratuitous ARP and unsolicited NA frames")
def sniff(interface: str | None, seconds: float | None, as_json: bool, arp: bool) -> None:
    """Show the VRRP adverts on INTERFACE (all interfaces when omitted), decoded.

    One line per advert; a frame vrrpd would refuse is shown with the reason. After
    --summary SECONDS (or Ctrl-C): the master of each VRID, any VRID with two masters,
    and intervals, versions or checksum forms that disagree. Needs root (CAP_NET_RAW);
    works inside `ip netns exec`.
    """
    from vrrpd import sniff as wire  # noqa: PLC0415

    summary = wire.Summary()
    try:
        for frame, stamp in wire.capture(interface, seconds):
            record = wire.describe(frame, stamp, announcements=arp)
            if record is None:
                continue
            summary.add(record)
            click.echo(wire.as_json(record) if as_json else wire.line(record))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        click.echo(
            f"cannot capture on {interface or 'all interfaces'}: {error.strerror or error}",
            err=True,
        )
        raise SystemExit(EXIT_FAILURE) from None
    for text in summary.lines():
        click.echo(wire.as_json({"summary": text}) if as_json else f"summary: {text}")


@main.group()
def lab() -> None:
    """Network-namespace labs on this machine (root): real agents, nothing on the host's
    own interfaces, everything removed afterwards."""


@lab.command("demo")
@click.option("--bgp", is_flag=True, help="through a routed fabric: the VIP routed by FRR (BGP, "
              "BFD) to the MASTER, no shared L2 (needs Debian's frr package)")  # fmt: skip
def lab_demo(bgp: bool) -> None:
    """Our users' payment entry point, for real: a client at 200 HTTP requests/s -> the VIP
    on two vrrpd load balancers -> nginx -> three application servers, through five
    drills (a backend dies, nginx dies, the master crashes, a planned handover, a
    graceful stop); availability, throughput and response times per drill. About 30 s.
    With --bgp: the VIP a /32 that FRR routes to the MASTER through a router, four
    drills (a planned handover, a failed check, a graceful stop, a crash), what FRR
    advertises as `vrrpd status` shows it. About 40 s."""
    from vrrpd.lab import demo  # noqa: PLC0415

    raise SystemExit(demo.main(bgp=bgp))


@lab.command("drill")
@click.argument("files", nargs=2, required=True, type=click.Path(exists=True, dir_okay=False))
@click.argument("more", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def lab_drill(files: tuple[str, str], more: tuple[str, ...]) -> None:
    """The nodes' own FILES (two or more), as real agents in a lab, through the standard
    drills; the client-observed outage of each. What the lab replaces (interfaces,
    checks, hooks) is said in the output."""
    for file in (*files, *more):
        _load_or_exit(file, EXIT_FAILURE)
    from vrrpd.lab import drill  # noqa: PLC0415

    for line in drill.run([*files, *more]):
        click.echo(line)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def simulate(files: tuple[str, ...]) -> None:
    """Run failover drills on the simulated LAN and print the timeline and outages.

    Without FILES, the built-in drill (two nodes: election, crash, return with
    preemption, a failing check, a graceful handover). With the nodes' own files, the
    standard drills on them (a live node's keepalived.conf converted as check-config
    does): each node crashes, each of the master's checks fails,
    the master stops, a partition heals; each node named by its router_id (by its file's
    name when router_ids clash). Needs no
    network and no root; every figure is exact protocol time.
    """
    if not files:
        from vrrpd import drill  # noqa: PLC0415 - keep `vrrpd --help` fast

        for line in drill.run():
            click.echo(line)
        return
    from vrrpd import rehearse  # noqa: PLC0415

    nodes = []
    for file in files:
        if is_keepalived_conf(file):  # as check-config takes it: a live node, converted
            config, _, refused = _converted(file)
            if refused:
                raise SystemExit(EXIT_FAILURE)
        else:
            config = _load_or_exit(file, EXIT_FAILURE)
        nodes.append((file, config))
    for line in rehearse.run(node_names(nodes)):
        click.echo(line)
