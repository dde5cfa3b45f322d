"""`netsleuth doctor`: what this machine gives netsleuth to work with: the Python, the system tools
present or missing and what each one feeds, and what needs root here.

Nothing here is a hand-kept list: the tools come from the evidence catalogue (each entry's program),
the namespace batch and the lab scenarios; what each feeds from the evidence the rules' facts
declare they read (`analysis.evidence_read`); what needs root from the commands' help.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import click

SCHEMA = "netsleuth.doctor/v1"
ROOT_MARK = "needs root"


@dataclass
class Tool:
    name: str
    path: str | None
    evidence: list[str] = field(default_factory=list)  # catalogue entries read with it
    rules: list[str] = field(default_factory=list)  # rules that need, or may use, that evidence
    also: list[str] = field(default_factory=list)  # other uses: namespaces, lab scenarios
    service: bool = False  # the program is the service it reads (a container engine): absent, nothing is lost


def tools() -> list[Tool]:
    """Every program netsleuth runs, where it is (or None), and what it feeds."""
    from netsleuth.analysis import evidence_read
    from netsleuth.collector import batch
    from netsleuth.evidence.catalogue import catalogue
    from netsleuth.lab.scenario import all_scenarios
    from netsleuth.rules.base import all_rules

    found: dict[str, Tool] = {}

    def tool(name: str) -> Tool:
        return found.setdefault(name, Tool(name, shutil.which(name)))

    specs = catalogue()
    for spec in specs.values():
        for prog in spec.programs():
            tool(prog).evidence.append(spec.name)
    for t in found.values():  # a program that reads no evidence (ssh, dot) is no service
        t.service = bool(t.evidence) and all(specs[e].service for e in t.evidence)
    for rule in all_rules():
        read = evidence_read(rule)
        for t in found.values():
            if read & set(t.evidence):
                t.rules.append(rule.id)
    for prog in batch.TOOLS:
        tool(prog).also.append("--netns/--all-netns (one shell per namespace)")
    tool("dot").also.append(
        "the topology picture (diagnose --format html, --graph); without it a simpler layout"
    )
    for name, sc in sorted(all_scenarios().items()):
        for prog in sc.tools:
            tool(prog).also.append(f"lab {name}")
    return sorted(found.values(), key=lambda t: (t.path is not None, t.name))


def root_only(group: click.Group, prefix: str = "netsleuth") -> list[str]:
    """The commands and options whose help says they need root."""
    out: list[str] = []
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        path = f"{prefix} {name}"
        if ROOT_MARK in (cmd.help or "").lower():
            out.append(path)
        out += [
            f"{path} {p.opts[-1]}"
            for p in cmd.params
            if isinstance(p, click.Option) and ROOT_MARK in (p.help or "").lower()
        ]
        if isinstance(cmd, click.Group):
            out += root_only(cmd, path)
    return out


def denied_here() -> list[dict[str, str]]:
    """This host's evidence that this user may not read (a quick live collection, no sampling)."""
    from netsleuth.evidence.live import CollectOptions, collect
    from netsleuth.evidence.model import Status

    bundle = collect(CollectOptions(timeout=2.0, interval=0.0))
    return [{"evidence": ev.ident(), "why": ev.error} for ev in bundle.items if ev.status is Status.DENIED]


def _requires_python() -> str:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        return metadata("netsleuth")["Requires-Python"] or ">=3.11"
    except PackageNotFoundError:
        return ">=3.11"


def doctor_report(group: click.Group) -> dict[str, Any]:
    from netsleuth import __version__
    from netsleuth.evidence.linescan import available as available_engines

    need = _requires_python()
    floor = tuple(int(x) for x in need.lstrip(">=").split(".")[:2])
    root = os.geteuid() == 0
    return {
        "schema": SCHEMA,
        "tool": {"name": "netsleuth", "version": __version__},
        "host": {"hostname": platform.node(), "kernel": platform.release()},
        "python": {
            "version": platform.python_version(),
            "executable": sys.executable,
            "requires": need,
            "ok": sys.version_info[:2] >= floor,
        },
        "root": root,
        "log_scan": available_engines(),
        "tools": [asdict(t) for t in tools()],
        "needs_root": root_only(group),
        "denied": [] if root else denied_here(),
    }


SLOW_SCAN = (
    "a big log (1 GB) is scanned ~10x slower in Python: pip install 'netsleuth[fast]' (hyperscan) or ripgrep"
)


def _wrap(label: str, items: list[str], width: int = 100) -> list[str]:
    """`label` and the items, comma-separated, an item never cut across two lines."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 2 <= width - 22:
            lines[-1] += f", {item}"
        else:
            lines.append(item)
    last = len(lines) - 1
    return [f"{'':9}{label if i == 0 else '':12} {line}{',' * (i < last)}" for i, line in enumerate(lines)]


def render_text(r: dict[str, Any], verbose: bool) -> str:
    py = r["python"]
    out = [
        f"netsleuth {r['tool']['version']} doctor — {r['host']['hostname']}, Linux {r['host']['kernel']}",
        "",
        f"Python   {py['version']} ({py['executable']}; needs {py['requires']}): {'ok' if py['ok'] else 'TOO OLD'}",
        f"Root     {'yes' if r['root'] else 'no'} (uid {os.geteuid()})",
        f"Log scan {', '.join(r['log_scan'])} (fastest first: the first usable one scans the logs)",
        "",
    ]
    if r["log_scan"] == ["python"]:
        out.insert(-1, f"{'':9}{SLOW_SCAN}")
    absent = [t for t in r["tools"] if t["path"] is None and t["service"]]
    missing = [t for t in r["tools"] if t["path"] is None and not t["service"]]
    out.append(
        f"System tools: {len(r['tools']) - len(missing) - len(absent)} present, {len(missing)} missing"
        + (f", {len(absent)} not on this host (nothing of theirs to read)" if absent else "")
    )
    for t in r["tools"]:
        uses = f"{len(t['evidence'])} evidence, {len(t['rules'])} rules" + (
            f", {len(t['also'])} other uses" if t["also"] else ""
        )
        state = "ok" if t["path"] else "absent" if t["service"] else "MISSING"
        out.append(f"  {state:7}  {t['name']:14} {t['path'] or '':24} {uses}")
        if verbose or state == "MISSING":
            out += _wrap("evidence:", t["evidence"]) + _wrap("rules:", t["rules"]) + _wrap("also:", t["also"])
    if missing:
        out.append("  install what is missing: scripts/install-system-deps.sh (apt or dnf), as root")
    out += ["", "Needs root"]
    out += _wrap("commands:", r["needs_root"])
    if r["root"]:
        out.append(f"{'':9}{'here:':12} running as root: every command, and all live evidence, is available")
    elif r["denied"]:
        why = [d["why"] if len(d["why"]) <= 70 else d["why"][:69] + "…" for d in r["denied"]]
        out += _wrap(
            "denied here:", [f"{d['evidence']} ({w})" for d, w in zip(r["denied"], why, strict=True)]
        )
    else:
        out.append(f"{'':9}{'here:':12} every piece of live evidence of this host was readable")
    return "\n".join(out) + "\n"


@click.command("doctor")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="What every tool feeds, not only the missing ones.")
@click.pass_context
def command(ctx: click.Context, fmt: str, verbose: bool) -> None:
    """What this machine gives netsleuth: Python, the system tools present or missing and the
    evidence and rules each one feeds, what only root may do, and whether we are root."""
    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    report = doctor_report(root)
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(report, verbose), nl=False)
