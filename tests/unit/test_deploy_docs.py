"""The service examples in docs/deploy/ are real: the systemd unit passes `systemd-analyze verify`
and grants only the four capabilities; the DaemonSet adds only those and mounts what it names; the
node-problem-detector plugin configuration is one NPD accepts; and every command line in them is
one netsleuth parses."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from netsleuth.cli import app

DEPLOY = Path(__file__).parents[2] / "docs" / "deploy"
CAPS = {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SYSLOG"}


def parses(args: list[str]) -> None:
    """The command line is one netsleuth accepts (click parses it without running it)."""
    name, *rest = args
    cmd = app.commands[name]
    with click.Context(app) as parent:
        cmd.make_context(name, list(rest), parent=parent)


def unit_settings() -> dict[str, str]:
    text = (DEPLOY / "netsleuth-watch.service").read_text().replace("\\\n", " ")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def test_systemd_unit_grants_only_the_four_capabilities_and_runs_watch() -> None:
    s = unit_settings()
    assert set(s["CapabilityBoundingSet"].split()) == CAPS == set(s["AmbientCapabilities"].split())
    assert (
        s["ProtectSystem"] == "strict"
        and s["StateDirectory"] == "netsleuth"
        and s["NoNewPrivileges"] == "yes"
    )
    argv = shlex.split(s["ExecStart"])
    assert argv[0] == "/usr/local/bin/netsleuth"
    parses(argv[1:])
    assert "--state-dir" in argv and "/var/lib/netsleuth" in argv


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    netsleuth = shutil.which("netsleuth") or str(Path(__file__).parents[2] / ".venv" / "bin" / "netsleuth")
    unit = tmp_path / "netsleuth-watch.service"
    unit.write_text(
        (DEPLOY / "netsleuth-watch.service").read_text().replace("/usr/local/bin/netsleuth", netsleuth)
    )
    r = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 0 and "netsleuth-watch.service" not in r.stderr, r.stderr
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", sec.stdout)
    if level is not None:  # systemd >= 252
        assert float(level.group(1)) < 5.0, sec.stdout[-500:]


def test_daemonset_adds_only_the_four_capabilities_and_mounts_what_it_names() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes-daemonset.yaml").read_text()))
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostNetwork"] and spec["hostPID"]
    (c,) = spec["containers"]
    sc = c["securityContext"]
    assert {f"CAP_{x}" for x in sc["capabilities"]["add"]} == CAPS and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    volumes = {v["name"] for v in spec["volumes"]}
    assert {m["name"] for m in c["volumeMounts"]} <= volumes
    args = [a.replace("$(NODE_IP)", "10.0.0.5") for a in c["args"]]
    parses(args)
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    for a in args:
        if a.startswith(("--state-dir=", "--keep=", "--textfile=")):
            assert any(a.split("=", 1)[1].startswith(m) for m in mounts), a
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    from netsleuth.config import parse

    parse(cm["data"]["config.toml"], "ConfigMap")


def _duration(text: str) -> float:
    return float(text[:-1]) * {"s": 1, "m": 60}[text[-1]]


def test_npd_plugin_config_is_one_npd_accepts() -> None:
    doc = json.loads((DEPLOY / "npd-netsleuth-plugin.json").read_text())
    assert doc["plugin"] == "custom"
    conf = doc["pluginConfig"]
    conditions = {c["type"] for c in doc["conditions"]}
    for rule in doc["rules"]:
        # NPD's own checks: a rule's timeout within the global one, a permanent rule's condition preset
        assert _duration(rule["timeout"]) <= _duration(conf["timeout"]) < _duration(conf["invoke_interval"])
        assert rule["type"] in ("temporary", "permanent")
        if rule["type"] == "permanent":
            assert rule["condition"] in conditions
        assert rule["path"].endswith("/netsleuth")
        parses(rule["args"])
        assert rule["args"][rule["args"].index("--format") + 1] == "npd"
    assert conf["max_output_length"] >= 80
