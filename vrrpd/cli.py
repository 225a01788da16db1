"""The ``vrrpd`` command line (click over plain functions, as uvicorn does).

Exit codes are named so scripts and the systemd unit can rely on them.
"""

from __future__ import annotations

import click

from vrrpd import __version__
from vrrpd.config.schema import Config

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vrrpd")
def main() -> None:
    """vrrpd: a VRRP (v2/v3, IPv4/IPv6) failover agent that interoperates with Keepalived."""


@main.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
def check_config(file: str) -> None:
    """Validate FILE without touching the network.

    Exit 0 with a one-line summary, or exit 1 with every error as FILE:LINE:COL: message.
    """
    from vrrpd.config.loader import ConfigInvalid, load  # noqa: PLC0415 - keep `vrrpd --help` fast

    try:
        config = load(file)
    except ConfigInvalid as invalid:
        for error in invalid.errors:
            click.echo(str(error), err=True)
        raise SystemExit(EXIT_FAILURE) from None
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
