"""`netsleuth listen udp|tcp PORT --token T`: the far side of `netsleuth probe udp|tcp`.

Answers only requests whose HMAC checks with the token (never a reflector: anything else gets no
reply), at most --rate replies a second, and stops by itself after --lifetime seconds."""

from __future__ import annotations

import json
import os
import sys

import click

from netsleuth.exitcode import ExitCode


@click.command("listen")
@click.argument("proto", type=click.Choice(["udp", "tcp"]))
@click.argument("port", type=click.IntRange(1, 65535))
@click.option("--token", help="Shared secret, at least 8 characters (or NETSLEUTH_TOKEN).")
@click.option("--bind", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--lifetime",
    type=click.FloatRange(1, 3600),
    default=300,
    show_default=True,
    help="Seconds before it stops by itself.",
)
@click.option("--max-replies", type=click.IntRange(1, 100000), default=1000, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(1, 1000),
    default=20,
    show_default=True,
    help="Replies per second at most.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(
    proto: str,
    port: int,
    token: str | None,
    bind: str,
    lifetime: float,
    max_replies: int,
    rate: float,
    fmt: str,
) -> None:
    """Answer authenticated echo requests on PORT until the lifetime ends (seed 003: nc -l -u 4789)."""
    from netsleuth.probes.echo import listen

    secret = token or os.environ.get("NETSLEUTH_TOKEN")
    if not secret or len(secret) < 8:
        raise click.UsageError("--token (or NETSLEUTH_TOKEN) of at least 8 characters is required")

    def event(kind: str, peer: str) -> None:
        if fmt == "text":
            click.echo(f"{kind} {peer}", err=True)

    def ready() -> None:
        click.echo(f"netsleuth: listening on {proto} {bind}:{port} for {lifetime:g} s", err=True)

    try:
        stats = listen(proto, port, secret.encode(), lifetime, max_replies, bind, rate, event, ready)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {proto} {bind}:{port}: {exc.strerror or exc}") from None
    out = {
        "proto": proto,
        "port": port,
        "accepted": stats.accepted,
        "rejected": stats.rejected,
        "rate_limited": stats.limited,
    }
    if fmt == "json":
        click.echo(json.dumps(out))
    else:
        click.echo(f"answered {stats.accepted}, rejected {stats.rejected}, rate-limited {stats.limited}")
    sys.exit(ExitCode.OK)
