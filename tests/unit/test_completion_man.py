"""Shell completion completes rule ids, lab scenarios and namespaces (click's protocol, as bash
calls it), and the man page generated from the commands names every one of them and their options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.shell_completion import ShellComplete

from netsleuth import completion
from netsleuth.cli import app
from netsleuth.commands.man import manpage, walk
from netsleuth.lab.scenario import all_scenarios
from netsleuth.rules.base import all_rules

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def _bash(words: str) -> list[str]:
    """What bash gets back for the command line `words` (the last word being completed)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {
        **os.environ,
        "_NETSLEUTH_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    out = subprocess.run(NETSLEUTH, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line.split(",", 1)[1] for line in out.stdout.splitlines()]


def test_bash_completes_rule_ids_for_rules_show_and_only() -> None:
    mtu = sorted(r.id for r in all_rules() if r.id.startswith("mtu."))
    assert len(mtu) >= 2
    assert _bash("netsleuth rules show mtu.") == mtu
    assert _bash("netsleuth diagnose --only mtu.") == mtu
    assert _bash("netsleuth pcap x.pcap --only mtu.") == mtu


def test_bash_completes_lab_scenarios() -> None:
    names = sorted(n for n in all_scenarios() if n.startswith("mtu-"))
    assert names and _bash("netsleuth lab run mtu-") == names and _bash("netsleuth lab up mtu-") == names


def test_namespaces_complete_from_the_named_namespaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("qdhcp-5f1c", "qrouter-8b2d", "ctr1"):
        (tmp_path / name).touch()
    monkeypatch.setattr(completion, "NETNS_DIR", str(tmp_path))
    comp = ShellComplete(app, {}, "netsleuth", "_NETSLEUTH_COMPLETE")
    assert [c.value for c in comp.get_completions(["diagnose", "--netns"], "q")] == [
        "qdhcp-5f1c",
        "qrouter-8b2d",
    ]
    assert [c.value for c in comp.get_completions(["trace", "10.0.0.1", "--from-netns"], "c")] == ["ctr1"]
    monkeypatch.setattr(completion, "NETNS_DIR", str(tmp_path / "none"))
    assert comp.get_completions(["collect", "--netns"], "") == []


def test_bash_source_is_the_script_to_eval() -> None:
    env = {**os.environ, "_NETSLEUTH_COMPLETE": "bash_source"}
    out = subprocess.run(NETSLEUTH, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "_netsleuth_completion" in out and "complete " in out


def test_man_page_names_every_command_and_option() -> None:
    page = manpage(app, "netsleuth", "0")
    root = app.make_context("netsleuth", [], resilient_parsing=True)
    paths = [p for p, cmd, _ in walk(app, "netsleuth", root) if cmd is not app]
    assert {"netsleuth diagnose", "netsleuth rules show", "netsleuth lab run", "netsleuth doctor"} <= set(
        paths
    )
    for path, cmd, ctx in walk(app, "netsleuth", root):
        if cmd is not app:
            assert f".SS {path.removeprefix('netsleuth ').replace('-', chr(92) + '-')}\n" in page
        for param in cmd.get_params(ctx):
            if isinstance(param, click.Option) and not param.hidden:
                assert param.opts[-1].replace("-", "\\-") in page, (path, param.opts)
    assert ".SS man\n" not in page  # the hidden generator itself


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed")
def test_man_page_is_valid_roff(tmp_path: Path) -> None:
    page = tmp_path / "netsleuth.1"
    out = subprocess.run([*NETSLEUTH, "man", "-o", str(page)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and page.stat().st_size > 5000
    check = subprocess.run(
        ["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0 and not check.stderr.strip(), check.stderr
    listed = subprocess.run([*NETSLEUTH, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "doctor" in listed and not [ln for ln in listed.splitlines() if ln.split()[:1] == ["man"]]


def test_man_page_is_dated_from_source_date_epoch_for_a_reproducible_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    first = manpage(app, "netsleuth", "0")
    assert first.startswith('.TH NETSLEUTH 1 "2023-11-14" ')
    assert manpage(app, "netsleuth", "0") == first
