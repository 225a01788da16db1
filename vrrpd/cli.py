"""The ``vrrpd`` command line (click over plain functions, as uvicorn does).

Exit codes are named so scripts and the systemd unit can rely on them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from vrrpd import __version__
from vrrpd.core.config import Config, GlobalConfig

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vrrpd")
def main() -> None:
    """vrrpd: a VRRP (v2/v3, IPv4/IPv6) failover agent that interoperates with Keepalived."""


def _load_or_exit(file: str, code: int) -> Config:
    """The config, after printing its warnings; or every error and exit ``code``."""
    from vrrpd.config.loader import ConfigInvalid, load_checked  # noqa: PLC0415 - keep `vrrpd --help` fast

    try:
        config, warned = load_checked(file)
    except ConfigInvalid as invalid:
        for error in invalid.errors:
            click.echo(str(error), err=True)
        raise SystemExit(code) from None
    for warning in warned:
        click.echo(str(warning), err=True)
    return config


@main.command()
@click.option(
    "-c",
    "--config",
    "file",
    required=True,
    type=click.Path(dir_okay=False),
    help="configuration file",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="also log dropped packets' details and debug lines"
)
def run(file: str, verbose: bool) -> None:
    """Run the agent in the foreground (the systemd unit uses this).

    Logs to stderr, one event per line. Exits 0 after SIGTERM/SIGINT once every
    VIP is removed and priority 0 was sent; exits 2 on an invalid config, before
    touching the network.
    """
    import logging  # noqa: PLC0415

    config = _load_or_exit(file, EXIT_CONFIG)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    from vrrpd.driver import agent  # noqa: PLC0415

    raise SystemExit(agent.run(config, file))


def _ask(socket_path: str | None, command: str) -> dict[str, Any]:
    from vrrpd.control.client import request  # noqa: PLC0415

    path = socket_path or GlobalConfig().control_socket
    try:
        return request(path, command)
    except OSError as error:
        click.echo(f"cannot reach vrrpd at {path}: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None


@main.command()
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(),
    help="control socket (default: global.control_socket)",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object instead of a table")
def status(socket_path: str | None, as_json: bool) -> None:
    """Ask a running agent for every instance's state, priority and master."""
    document = _ask(socket_path, "status")
    if as_json:
        click.echo(json.dumps(document, sort_keys=True))
    else:
        from vrrpd.status import status_table  # noqa: PLC0415

        click.echo(status_table(document))


@main.command()
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(),
    help="control socket (default: global.control_socket)",
)
def reload(socket_path: str | None) -> None:
    """Same as SIGHUP: re-read the config; an invalid one is refused and the old one stays."""
    reply = _ask(socket_path, "reload")
    message = str(reply.get("result") or reply.get("error"))
    click.echo(message)
    if "refused" in message or "error" in reply:
        raise SystemExit(EXIT_FAILURE)


@main.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
def check_config(file: str) -> None:
    """Validate FILE without touching the network.

    Exit 0 with a one-line summary, or exit 1 with every error as FILE:LINE:COL: message.
    """
    config = _load_or_exit(file, EXIT_FAILURE)
    click.echo(f"{file}: OK: {summary(config)}")


def summary(config: Config) -> str:
    """One line an operator can check at a glance."""
    parts = [
        f"{i.name} (VRID {i.vrid} on {i.interface}, IP{i.family} VRRPv{i.version}, priority {i.priority})"
        for i in config.instances
    ]
    counts = f"{len(config.scripts)} script(s), {len(config.sync_groups)} sync group(s)"
    return f"{len(config.instances)} instance(s): {', '.join(parts)}; {counts}"


@main.command()
def simulate() -> None:
    """Run the failover drill on the simulated LAN and print its timeline.

    Two real vrrpd cores on a virtual clock: election, master crash, return with
    preemption, a failing health check, and a graceful handover. Needs no network
    and no root; every figure is exact protocol time.
    """
    from vrrpd import drill  # noqa: PLC0415 - keep `vrrpd --help` fast

    for line in drill.run():
        click.echo(line)
