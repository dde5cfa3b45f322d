"""`netsleuth collector build`: the collector zipapp that runs on production hosts as they are."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("collector")
def command() -> None:
    """The stdlib-only collector (netsleuth-collect.pyz) for hosts without netsleuth."""


@command.command("build")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("netsleuth-collect.pyz"),
    show_default=True,
)
def build(output: Path) -> None:
    """Build netsleuth-collect.pyz: runs on any python3 >= 3.6 with the standard library only.

    On a host: `python3 netsleuth-collect.pyz collect -o host.tar.gz` writes the same bundle as
    `netsleuth collect` (then `netsleuth diagnose host.tar.gz` anywhere)."""
    from netsleuth.errors import NetsleuthError
    from netsleuth.remote.zipapp import build_zipapp

    try:
        build_zipapp(output)
    except OSError as exc:
        raise NetsleuthError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"netsleuth: wrote {output} ({output.stat().st_size} bytes)", err=True)
