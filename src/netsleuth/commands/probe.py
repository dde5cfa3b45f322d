"""`netsleuth probe mtu|udp|tcp|http|dns|dhcp|arp`: the checks engineers ran by hand, run safely,
with the same report (text/json) and exit codes as diagnose."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from netsleuth.messages import LANGS, default_lang

FORMATS = click.Choice(["text", "json", "markdown"])


def _opts(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)(fn)
    return click.option(
        "--lang", type=click.Choice(LANGS), default=None, help="Language (default from the locale)."
    )(fn)


def finish(
    kind: str,
    results: list[tuple[str, Any, float]],
    skipped: list[tuple[str, str]],
    fmt: str,
    lang: str | None,
) -> None:
    """Evidence (with the passive evidence the related rules read) -> bundle -> those rules ->
    report; exit like diagnose."""
    from netsleuth.analysis import probe_context, probe_report
    from netsleuth.probes import run
    from netsleuth.report.render import render

    kinds = {kind} | {k for k, _r, _d in results}
    items = [run.evidence(k, r, f"netsleuth probe {k}", d) for k, r, d in results]
    items += [run.skipped(kind, key, why, f"netsleuth probe {kind}") for key, why in skipped]
    items += run.passive(probe_context(kinds))
    bundle = run.new_bundle(items)
    report = probe_report(bundle, kinds, lang or default_lang())
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    click.echo(render(report, fmt, color=color), nl=False)
    sys.exit(report.exit_code())


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.monotonic()
    return fn(), time.monotonic() - t0


def _hostport(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.UsageError(f"expected HOST:PORT, not {target!r}")
    return host.strip("[]"), int(port)


@click.group("probe")
def command() -> None:
    """Active checks toward a target you name (or this host's own resolvers/peers): bounded in
    time, rate-limited; results are evidence analysed by the same rules as diagnose."""


@command.command("mtu")
@click.argument("host")
@click.option(
    "--max",
    "upper",
    type=click.IntRange(68, 65535),
    help="Largest size to try (default: the outgoing interface's MTU).",
)
@click.option(
    "--wait",
    type=click.FloatRange(0.05, 5),
    default=1.0,
    show_default=True,
    help="Seconds to wait for each reply.",
)
@click.option("--retries", type=click.IntRange(1, 5), default=2, show_default=True)
@_opts
def probe_mtu_cmd(
    host: str, upper: int | None, wait: float, retries: int, fmt: str, lang: str | None
) -> None:
    """Path MTU toward HOST by binary search with DF set (ping -M do -s)."""
    import socket

    from netsleuth.probes.mtu import probe_mtu

    try:
        socket.getaddrinfo(host, None, socket.AF_INET)
    except (socket.gaierror, UnicodeError):
        raise click.UsageError(f"cannot resolve {host!r} to an IPv4 address") from None
    try:
        result, dur = _timed(lambda: probe_mtu(host, upper, wait, retries))
    except PermissionError:
        finish(
            "mtu",
            [],
            [(host, "needs root (raw ICMP socket; ping sockets not allowed for this group)")],
            fmt,
            lang,
        )
        return
    finish("mtu", [("mtu", result, dur)], [], fmt, lang)


def _token(token: str | None) -> bytes:
    token = token or os.environ.get("NETSLEUTH_TOKEN")
    if not token or len(token) < 8:
        raise click.UsageError(
            "--token (or NETSLEUTH_TOKEN) of at least 8 characters is required, the same on both hosts"
        )
    return token.encode()


@command.command("udp")
@click.argument("target")
@click.option("--token", help="Shared secret, the same as the listener's (or NETSLEUTH_TOKEN).")
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--interval", type=click.FloatRange(0.05, 10), default=0.2, show_default=True)
@click.option("--wait", type=click.FloatRange(0.05, 10), default=1.0, show_default=True)
@_opts
def probe_udp(
    target: str, token: str | None, count: int, interval: float, wait: float, fmt: str, lang: str | None
) -> None:
    """Token-checked UDP echo toward `netsleuth listen udp PORT` on HOST (seed 003's nc -u 4789)."""
    from netsleuth.probes.echo import probe_echo

    host, port = _hostport(target)
    result, dur = _timed(
        lambda: probe_echo("udp", host, port, _token(token), count, interval, wait, icmp=os.geteuid() == 0)
    )
    finish("udp", [("udp", result, dur)], [], fmt, lang)


@command.command("tcp")
@click.argument("target")
@click.option("--token", help="Echo mode: shared secret of `netsleuth listen tcp PORT`.")
@click.option("--count", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--interval", type=click.FloatRange(0.05, 60), default=1.0, show_default=True)
@click.option("--timeout", type=click.FloatRange(0.1, 30), default=3.0, show_default=True)
@_opts
def probe_tcp(
    target: str, token: str | None, count: int, interval: float, timeout: float, fmt: str, lang: str | None
) -> None:
    """Repeated TCP connects to HOST:PORT (latency percentiles, loss, error kinds, own health);
    with --token, an authenticated echo toward `netsleuth listen tcp`."""
    host, port = _hostport(target)
    if token:
        from netsleuth.probes.echo import probe_echo

        result, dur = _timed(
            lambda: probe_echo("tcp", host, port, _token(token), min(count, 100), interval, timeout)
        )
    else:
        from netsleuth.probes.latency import probe_latency

        result, dur = _timed(lambda: probe_latency("tcp", target, count, interval, timeout))
    finish("tcp", [("tcp", result, dur)], [], fmt, lang)


@command.command("http")
@click.argument("url")
@click.option("--count", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--interval", type=click.FloatRange(0.05, 60), default=1.0, show_default=True)
@click.option("--timeout", type=click.FloatRange(0.1, 30), default=3.0, show_default=True)
@_opts
def probe_http(url: str, count: int, interval: float, timeout: float, fmt: str, lang: str | None) -> None:
    """Repeated HTTP GETs of URL: network or application? (seed 003, tlog and hbase)."""
    from netsleuth.probes.latency import probe_latency

    result, dur = _timed(lambda: probe_latency("http", url, count, interval, timeout))
    finish("http", [("http", result, dur)], [], fmt, lang)


@command.command("dns")
@click.argument("name", required=False)
@click.option(
    "--server", "servers", multiple=True, help="Ask this server instead of resolv.conf's (repeatable)."
)
@click.option("--timeout", type=click.FloatRange(0.1, 10), default=2.0, show_default=True)
@_opts
def probe_dns_cmd(
    name: str | None, servers: tuple[str, ...], timeout: float, fmt: str, lang: str | None
) -> None:
    """Each resolver of resolv.conf on its own over UDP and TCP, and the system path (getaddrinfo)."""
    from netsleuth.probes.dns import probe_dns

    result, dur = _timed(lambda: probe_dns(name, list(servers) or None, timeout, use_ping=os.geteuid() == 0))
    finish("dns", [("dns", result, dur)], [], fmt, lang)


@command.command("dhcp")
@click.argument("iface")
@click.option(
    "--wait", type=click.FloatRange(1, 30), default=4.0, show_default=True, help="Seconds to collect OFFERs."
)
@_opts
def probe_dhcp_cmd(iface: str, wait: float, fmt: str, lang: str | None) -> None:
    """Send DHCPDISCOVER on IFACE and list the OFFERs (never REQUEST: no lease is taken). Needs root."""
    from pathlib import Path

    from netsleuth.probes.frames import NeedsRoot, probe_dhcp

    if not Path("/sys/class/net", iface).exists():
        raise click.UsageError(f"no interface {iface!r} here (see `ip link`)")
    try:
        result, dur = _timed(lambda: probe_dhcp(iface, wait))
    except NeedsRoot as exc:
        finish("dhcp", [], [(iface, f"needs root: {exc}")], fmt, lang)
        return
    except OSError as exc:
        raise click.UsageError(f"cannot send on {iface}: {exc.strerror or exc}") from None
    finish("dhcp", [("dhcp", result, dur)], [], fmt, lang)


@command.command("arp")
@click.argument("ip")
@click.option("--iface", help="Interface to ask on (default: the route toward IP).")
@click.option("--vlan", type=click.IntRange(1, 4094), help="Tag the requests with this VLAN.")
@click.option("--count", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--wait", type=click.FloatRange(0.2, 10), default=1.5, show_default=True)
@_opts
def probe_arp_cmd(
    ip: str, iface: str | None, vlan: int | None, count: int, wait: float, fmt: str, lang: str | None
) -> None:
    """Duplicate address detection: every MAC that answers ARP for IP. Needs root."""
    from netsleuth.probes.default import own_addresses
    from netsleuth.probes.frames import NeedsRoot, probe_arp

    try:
        result, dur = _timed(lambda: probe_arp(ip, iface, count, wait, vlan=vlan, own=ip in own_addresses()))
    except NeedsRoot as exc:
        finish("arp", [], [(ip, f"needs root: {exc}")], fmt, lang)
        return
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finish("arp", [("arp", result, dur)], [], fmt, lang)
