"""`netsleuth trace DEST`: where on this host is the packet lost? Evidence `trace.result` -> rules."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from netsleuth import completion
from netsleuth.messages import LANGS, Msg, default_lang, ui

if TYPE_CHECKING:
    from netsleuth.capture.hostview import Host
    from netsleuth.evidence.model import Bundle
    from netsleuth.report.picture import Picture
    from netsleuth.results.report import Report


@click.command("trace")
@click.argument("dest")
@click.option(
    "--from-netns",
    default="",
    metavar="NS",
    shell_complete=completion.namespaces,
    help="Send the probe from this network namespace.",
)
@click.option(
    "--points",
    default="",
    metavar="NS:IF,...",
    help="Capture points in path order (IF alone = this namespace); derived from routes and links when omitted.",
)
@click.option("--proto", default="icmp", show_default=True, help="icmp, tcp:PORT or udp:PORT.")
@click.option(
    "--timeout", type=click.FloatRange(0.2, 30), default=2.0, show_default=True, help="Seconds to wait."
)
@click.option(
    "--save",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Keep what each point saw in FILE.pcapng (one interface per point).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html"]),
    default="text",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--lang", type=click.Choice(LANGS), default=None)
def command(
    dest: str,
    from_netns: str,
    points: str,
    proto: str,
    timeout: float,
    save: Path | None,
    fmt: str,
    output: Path | None,
    lang: str | None,
) -> None:
    """Capture at every point of the path at once (AF_PACKET + BPF), send one marked probe (IPv4 or
    IPv6), and report where it was seen each way, with its VLAN tags and tunnel headers; the verdict
    names the hop and direction where it is lost. When the next hop does not resolve, its ARP
    request (IPv6: neighbour solicitation) is followed instead. Needs root."""
    import ipaddress
    import socket

    from netsleuth.analysis import analyse
    from netsleuth.capture.evidence import trace_evidence
    from netsleuth.capture.hostview import Host
    from netsleuth.capture.pcapng import write_pcapng
    from netsleuth.capture.trace import Point, canonical, derive_path, parse_proto, run_trace
    from netsleuth.errors import NetsleuthError
    from netsleuth.evidence.model import Bundle
    from netsleuth.report.render import render
    from netsleuth.rules.capture import trace_table as table

    lang = lang or default_lang()
    try:
        parse_proto(proto)
        dest = canonical(dest)
        if ipaddress.ip_address(dest).is_multicast or ipaddress.ip_address(dest).is_unspecified:
            raise ValueError(f"{dest} is not an address one host owns")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if os.geteuid() != 0:
        raise NetsleuthError("trace needs root (AF_PACKET capture and raw probes)")
    notes: list[str] = []
    host = None
    if points:
        chosen = []
        for spec in points.split(","):
            ns, _, iface = spec.strip().rpartition(":")
            if not iface:
                raise click.UsageError(f"bad capture point {spec!r} (NS:IF or IF)")
            chosen.append(Point(ns, iface, "point"))
        if chosen:
            chosen[0].role = "sender"
            route = Host().route(from_netns, dest)  # the neighbour the sender must resolve
            if route:
                chosen[0].next_hop = str(route.get("gateway") or dest)
    else:
        host = Host()
        notes = host.notes
        chosen = derive_path(dest, from_netns, host)
        if not [p for p in chosen if not p.error]:
            raise NetsleuthError(
                f"no path to {dest} found from namespace {from_netns or 'host'}"
                + (f" ({'; '.join(host.notes)})" if host.notes else "")
                + ": pass --points NS:IF,..."
            )
        for note in host.notes:
            click.echo(
                f"netsleuth trace: path not fully derived: {note}; pass --points to complete it", err=True
            )
    result, caps = run_trace(dest, from_netns, chosen, proto, timeout)
    if save is not None:
        frames = [(i, ts, f) for i, c in enumerate(caps) for ts, f, _ in c.frames]
        write_pcapng(save, [c.point.label for c in caps], frames)
    bundle = Bundle(source=f"trace:{dest}", hostname=socket.gethostname(), kernel=os.uname().release)
    bundle.add(trace_evidence(result))
    bundle.notes.extend(Msg("trace_partial", {"why": note}) for note in notes)
    report = analyse(bundle, lang, {"path.loss_localized", "vlan.no_reply"})
    picture = _picture(bundle, host, report) if fmt == "html" else None
    color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    out = render(report, fmt, color=color, picture=picture)
    if fmt == "text":
        out += (
            "\n"
            + table(result)
            + f"\n{ui(lang, 'tr_sender_reply_yes' if result.reply_received else 'tr_sender_reply_no')}\n"
        )
    if output is None:
        click.echo(out, nl=False)
    else:
        output.write_text(out, encoding="utf-8")
    sys.exit(report.exit_code())


def _picture(bundle: Bundle, host: Host | None, report: Report) -> Picture:
    """The picture of the namespaces the path crossed (their `ip -d link`, as the path was derived
    from them), the trace drawn on it; with --points, the points alone."""
    from netsleuth.evidence.model import Bundle, Evidence, Status
    from netsleuth.facts import FactStore, load_all
    from netsleuth.report.picture import report_picture

    load_all()
    seen = Bundle(
        source=bundle.source, hostname=bundle.hostname, kernel=bundle.kernel, items=list(bundle.items)
    )
    if host is not None:
        for ns, space in host.spaces.items():
            entry = host.log.get(" ".join(["ip", *(["-n", ns] if ns else []), "-j", "-d", "link", "show"]))
            if space is not None and entry is not None:
                seen.add(
                    Evidence("ip.link", Status.OK, text=str(entry["out"]), source="netsleuth trace", netns=ns)
                )
        seen.namespaces = [ns for ns, space in host.spaces.items() if space is not None] or seen.namespaces
    return report_picture(FactStore(seen, seen.scopes()[0]), report)
