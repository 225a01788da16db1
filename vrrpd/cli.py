"""The ``vrrpd`` command line (click over plain functions, as uvicorn does).

Exit codes are named so scripts and the systemd unit can rely on them.
"""

from __future__ import annotations

import click

from vrrpd import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vrrpd")
def main() -> None:
    """vrrpd: a VRRP (v2/v3, IPv4/IPv6) failover agent that interoperates with Keepalived."""


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
