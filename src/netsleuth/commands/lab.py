"""`netsleuth lab list|up|down|run`: build a real fault on this machine, diagnose it, tear it down."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from netsleuth import completion
from netsleuth.exitcode import ExitCode

if TYPE_CHECKING:
    from netsleuth.lab import Lab
    from netsleuth.lab.scenario import Scenario, Vantage


def _get(name: str) -> type[Scenario]:
    from netsleuth.lab.scenario import all_scenarios

    found = all_scenarios().get(name)
    if found is None:
        raise click.UsageError(f"no lab scenario {name!r} (see `netsleuth lab list`)")
    return found


def _usable(sc: Scenario) -> None:
    from netsleuth.lab import LabUnavailable, require_root

    missing = sc.missing_tools()
    if missing:
        raise LabUnavailable(f"skipped: needs {', '.join(missing)}")
    require_root()


@click.group("lab")
def command() -> None:
    """The fault lab: small real networks (namespaces, veth, bridges, OVS, dnsmasq) with one fault."""


@command.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def lab_list(fmt: str) -> None:
    """Every scenario: name, the fault id it must yield (or `baseline`), what it builds."""
    import json

    from netsleuth.lab.scenario import all_scenarios

    rows = [
        {"name": n, "expect": c.expect or "baseline", "subject": list(c.expect_subject), "about": c.summary()}
        for n, c in sorted(all_scenarios().items())
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['name']:26} {r['expect']:28} {r['about']}")


def _build(name: str, keep: bool) -> tuple[Lab, Vantage]:
    from netsleuth.lab import LabError, LabUnavailable
    from netsleuth.lab.scenario import up

    sc = _get(name)()
    try:
        _usable(sc)
        return up(sc, keep=keep)
    except LabUnavailable as exc:
        click.echo(f"netsleuth lab: {name}: {exc}", err=True)
        sys.exit(ExitCode.COULD_NOT_RUN)
    except LabError as exc:
        click.echo(f"netsleuth lab: {name}: could not build: {exc}", err=True)
        sys.exit(ExitCode.COULD_NOT_RUN)


@command.command("up")
@click.argument("name", shell_complete=completion.scenarios)
def lab_up(name: str) -> None:
    """Build scenario NAME and leave it running; prints how to diagnose it and take it down. Needs root."""
    lab, vantage = _build(name, keep=True)
    lab.__exit__(None, None, None)
    click.echo(f"lab {name} is up (run id {lab.run_id}, namespaces {lab.prefix}-*)")
    click.echo(f"diagnose it:  {vantage.shell()}")
    click.echo(f"take it down: netsleuth lab down {name}")


@command.command("down")
@click.argument("name", required=False, shell_complete=completion.running_scenarios)
@click.option("--all", "everything", is_flag=True, help="Every lab on this machine, crashed runs too.")
def lab_down(name: str | None, everything: bool) -> None:
    """Tear down the running lab(s) of scenario NAME (idempotent), or --all leftovers. Needs root."""
    from netsleuth.lab import Lab, require_root

    if not name and not everything:
        raise click.UsageError("give a scenario NAME or --all")
    require_root()
    ids = Lab.leftover_run_ids() if everything else set()
    ids |= {str(r["run_id"]) for r in Lab.runs() if name and r.get("scenario") == name}
    problems: list[str] = []
    for rid in sorted(ids):
        problems += Lab.attach(rid).down()
    for p in problems:
        click.echo(f"netsleuth lab: {p}", err=True)
    click.echo(
        f"netsleuth lab: {len(ids)} lab(s) taken down" + (f", {len(problems)} problem(s)" if problems else "")
    )
    sys.exit(ExitCode.WARNING if problems else ExitCode.OK)


@command.command("run")
@click.argument("name", shell_complete=completion.scenarios)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None)
def lab_run(name: str, fmt: str, lang: str | None) -> None:
    """Build NAME, diagnose it from its vantage point, show the report, tear it down. Needs root.
    Exit status: 0 the expected result (fault found / baseline quiet), 1 not, 3 could not build."""
    import json

    lab, vantage = _build(name, keep=False)
    sc = _get(name)
    try:
        extra = ["--format", fmt] + (["--lang", lang] if lang else [])
        click.echo(f"# {sc.summary()}\n# diagnose: {vantage.shell(*extra)}", err=True)
        shown = vantage.run(*extra)
        click.echo(shown.stdout, nl=False)
        if shown.stderr.strip():
            click.echo(shown.stderr, err=True, nl=False)
        rep = vantage.run("--format", "json", "-q")
    finally:
        lab.__exit__(None, None, None)
    try:
        found = json.loads(rep.stdout)["findings"] if rep.returncode in (0, 1, 2) else None
    except (ValueError, KeyError):
        found = None
    if found is None:
        ok, verdict = False, f"diagnose could not run (exit {rep.returncode}): {rep.stderr.strip()[-200:]}"
    else:
        ok, verdict = judge(sc.expect, tuple(sc.expect_subject), found)
    click.echo(f"# lab {name}: {verdict}", err=True)
    sys.exit(ExitCode.OK if ok else ExitCode.WARNING)  # 1: not the expected result


def judge(
    expect: str | None, subjects: tuple[str, ...], findings: list[dict[str, object]]
) -> tuple[bool, str]:
    """Did the diagnosis meet the scenario? (The same judgement as the integration suite.)"""
    if expect is None:
        loud = [
            f"{f['id']} ({f['severity']})" for f in findings if f.get("severity") in ("warning", "critical")
        ]
        return (not loud, "baseline quiet" if not loud else "false alarm: " + ", ".join(loud))
    hits = [f for f in findings if f.get("id") == expect]
    if not hits:
        return False, f"{expect} NOT found (found: {', '.join(str(f['id']) for f in findings) or 'nothing'})"
    named = [f for f in hits if not subjects or any(s in str(f.get("subject", "")) for s in subjects)]
    if not named:
        return (
            False,
            f"{expect} found but names {[f.get('subject') for f in hits]}, expected {list(subjects)}",
        )
    return True, f"{expect} found, names {named[0].get('subject')}"
