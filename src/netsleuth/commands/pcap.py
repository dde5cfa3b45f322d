"""`netsleuth pcap FILE`: stream a capture into evidence `pcap.summary` and run the rules over it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from netsleuth import completion
from netsleuth.messages import LANGS, Msg, default_lang


@click.command("pcap")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True, allow_dash=True))
@click.option(
    "--mtu",
    type=click.IntRange(68, 65535),
    default=1500,
    show_default=True,
    help="MTU of the link the capture was taken on (frames longer than MTU + header are flagged).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html"]),
    default="text",
    show_default=True,
    help="The report; every format shows what the capture measured, even when no rule fires.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE."
)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language (default from the locale).")
@completion.only_option()
@click.option(
    "--summary",
    "summary_out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the capture summary (the `pcap.summary` evidence, JSON) to FILE ('-' = stderr); "
    "the JSON report holds it too, as `capture`.",
)
@click.option("-v", "--verbose", is_flag=True, help="List every piece of evidence that is not ok.")
def command(
    file: Path,
    mtu: int,
    fmt: str,
    output: Path | None,
    lang: str | None,
    only: tuple[str, ...],
    summary_out: Path | None,
    verbose: bool,
) -> None:
    """Analyse a capture file (pcap or pcapng, any size, streamed; `-` reads standard input, e.g.
    `tcpdump -w - | netsleuth pcap -`): oversize and trailer frames, TCP retransmissions/resets/zero
    windows per flow, ICMP fragmentation-needed, DHCP, DNS, ARP and VLAN. A capture cut short
    (still being written) is read up to the cut, and the report says so. Same report and exit
    status as `diagnose`."""
    from netsleuth.analysis import analyse
    from netsleuth.capture.analyse import analyse_capture
    from netsleuth.capture.evidence import pcap_evidence
    from netsleuth.errors import BadSource, ParseError
    from netsleuth.evidence.model import Bundle
    from netsleuth.report.render import render
    from netsleuth.rules.base import all_rules

    lang = lang or default_lang()
    known = {r.id for r in all_rules()}
    unknown = [r for r in only if r not in known]
    if unknown:
        raise click.UsageError(f"unknown rule id(s): {', '.join(unknown)} (see `netsleuth rules list`)")
    try:
        summary, cut_short = analyse_capture(file, mtu)
    except ParseError as exc:
        raise BadSource(str(exc)) from None
    except OSError as exc:
        raise BadSource(f"cannot read {file}: {exc.strerror}") from None
    if summary_out is not None:
        text = json.dumps(summary.to_json(), ensure_ascii=False, indent=1) + "\n"
        if str(summary_out) == "-":
            click.echo(text, err=True, nl=False)
        else:
            summary_out.write_text(text, encoding="utf-8")
    bundle = Bundle(source=f"pcap:{file}", hostname="", kernel="")
    ev = pcap_evidence(summary)
    if cut_short:
        ev.error = "; ".join(cut_short)
        bundle.notes += [Msg("capture_cut", {"why": why}) for why in cut_short]
    bundle.add(ev)
    report = analyse(bundle, lang, set(only) or None)
    color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    out = render(report, fmt, color=color, verbose=verbose)
    if output is None:
        click.echo(out, nl=False)
    else:
        output.write_text(out, encoding="utf-8")
    sys.exit(report.exit_code())
