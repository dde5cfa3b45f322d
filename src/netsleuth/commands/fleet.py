"""`netsleuth fleet`: many hosts at once."""

from __future__ import annotations

import click

from netsleuth.commands.fleet_remote import collect, probe


@click.group("fleet")
def command() -> None:
    """Many hosts at once: each host's faults, and the faults between hosts."""


command.add_command(collect)
command.add_command(probe)
