"""The configuration file: suppressions (by id or id:subject, with a reason and an expiry),
thresholds, watch settings; a bad file is one line naming the key and exit 3."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from netsleuth.config import ConfigError, load, parse
from netsleuth.evidence.bundle import write_bundle
from tests.helpers import bundle, cli, ev, findings, fixture, run

SYSCTL_90 = "net.netfilter.nf_conntrack_count = 90\nnet.netfilter.nf_conntrack_max = 100\n"


@pytest.fixture(scope="module")
def critical_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mtu.mismatch (critical) on a namespace's links, as test_core_cli uses."""
    b = bundle(
        ev("ip.link", fixture("core/ns_host_fault.ip_link.json"), netns="nslfxh"),
        ev("ip.addr", fixture("core/ns_host_fault.ip_address.txt"), netns="nslfxh"),
        namespaces=["nslfxh"],
    )
    path = tmp_path_factory.mktemp("b") / "host.tar.gz"
    write_bundle(b, path)
    return path


def _subject(critical_bundle: Path) -> str:
    rep = json.loads(cli("diagnose", str(critical_bundle), "--format", "json").stdout)
    return str(next(f["subject"] for f in rep["findings"] if f["id"] == "mtu.mismatch"))


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_suppressed_finding_stays_in_json_marked_and_does_not_count(
    critical_bundle: Path, tmp_path: Path
) -> None:
    cfg = write(tmp_path, '[[suppress]]\nfinding = "mtu.mismatch"\nreason = "lab uplink, known"\n')
    assert cli("diagnose", str(critical_bundle), "--config", str(cfg)).returncode == 2  # nic.no_carrier
    both = cfg.read_text() + '[[suppress]]\nfinding = "nic.no_carrier:vethd"\nreason = "spare"\n'
    p = cli("diagnose", str(critical_bundle), "--format", "json", "--config", str(write(tmp_path, both)))
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    muted = [f for f in rep["findings"] if f["id"] == "mtu.mismatch"]
    assert muted and all(
        f["suppressed"] == {"match": "mtu.mismatch", "reason": "lab uplink, known", "expires": None}
        for f in muted
    )
    text = cli("diagnose", str(critical_bundle), "--config", str(cfg)).stdout
    assert "(suppressed: lab uplink, known)" in text


def test_suppression_by_id_and_subject_only_silences_that_subject(
    critical_bundle: Path, tmp_path: Path
) -> None:
    subject = _subject(critical_bundle)
    other = write(tmp_path, f'[[suppress]]\nfinding = "mtu.mismatch:not-{subject}"\nreason = "other port"\n')
    assert cli("diagnose", str(critical_bundle), "--config", str(other)).returncode == 2
    this = write(tmp_path, f'[[suppress]]\nfinding = "mtu.mismatch:{subject}"\nreason = "this port"\n')
    rep = json.loads(cli("diagnose", str(critical_bundle), "--format", "json", "--config", str(this)).stdout)
    assert [f["suppressed"]["match"] for f in rep["findings"] if f["subject"] == subject] == [
        f"mtu.mismatch:{subject}"
    ]


def test_an_expired_suppression_counts_again_and_the_report_says_so(
    critical_bundle: Path, tmp_path: Path
) -> None:
    cfg = write(
        tmp_path, '[[suppress]]\nfinding = "mtu.mismatch"\nreason = "until the fix"\nexpires = 2020-01-31\n'
    )
    p = cli("diagnose", str(critical_bundle), "--format", "json", "--config", str(cfg))
    assert p.returncode == 2
    rep = json.loads(p.stdout)
    assert all(f["suppressed"] is None for f in rep["findings"])
    assert any("expired on 2020-01-31" in n for n in rep["notes"])


def test_expiry_is_inclusive() -> None:
    s = parse('[[suppress]]\nfinding = "nic.no_carrier"\nreason = "r"\nexpires = 2027-03-31\n').suppressions[
        0
    ]
    assert s.active(date(2027, 3, 31)) and not s.active(date(2027, 4, 1))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[suppress]]\nfinding = "no.such_rule"\nreason = "x"\n', "suppress[1].finding"),
        ('[[suppress]]\nfinding = "nic.no_carrier"\n', "suppress[1].reason"),
        ('[[suppress]]\nfinding = "nic.no_carrier"\nreason = "x"\nexpires = "soon"\n', "suppress[1].expires"),
        ('[[suppress]]\nfinding = "nic.no_carrier"\nreason = "x"\nwhy = "y"\n', "suppress[1].why"),
        ("[watch]\ninterval = -5\n", "watch.interval"),
        ("[watch]\ninterval = 'fast'\n", "watch.interval"),
        ("[thresholds]\nconntrack_full = 1.5\n", "thresholds.conntrack_full"),
        ("[thresholds]\nconntrack_near = 0.9\nconntrack_full = 0.8\n", "thresholds.conntrack_near"),
        ("[thresholds]\nconntrak_full = 0.9\n", "thresholds.conntrak_full"),
        ("[alerts]\n", "alerts"),
        ("[watch\n", "not valid TOML"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_key_exit_3(
    critical_bundle: Path, tmp_path: Path, text: str, key: str
) -> None:
    p = cli("diagnose", str(critical_bundle), "--config", str(write(tmp_path, text)))
    assert p.returncode == 3, p.stderr
    assert p.stderr.count("\n") == 1 and key in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.startswith("netsleuth: config ")


def test_a_missing_config_named_on_the_command_line_is_an_error(
    critical_bundle: Path, tmp_path: Path
) -> None:
    p = cli("diagnose", str(critical_bundle), "--config", str(tmp_path / "nope.toml"))
    assert p.returncode == 3 and "no such file" in p.stderr


def test_no_default_config_file_means_nothing_silenced(tmp_path: Path) -> None:
    assert load(None).suppressions == () or Path("/etc/netsleuth/config.toml").exists()
    with pytest.raises(ConfigError, match="not UTF-8"):
        (tmp_path / "c.toml").write_bytes(b"\xff\xfe")
        load(tmp_path / "c.toml")


def test_thresholds_reach_the_rules_and_travel_in_the_bundle(tmp_path: Path) -> None:
    b = bundle(ev("sysctl.net", SYSCTL_90))
    assert [f.id for f in run(b).findings if f.id.startswith("conntrack")] == ["conntrack.near_limit"]
    cfg = parse("[thresholds]\nconntrack_full = 0.85\n")
    from netsleuth.facts.settings import add_settings

    add_settings(b, cfg)
    assert [f.severity for f in findings(run(b), "conntrack.table_full")] == ["critical"]
    assert not findings(run(b), "conntrack.near_limit")
    path = tmp_path / "b.tar.gz"
    write_bundle(b, path)  # diagnosed later, the bundle is judged with the thresholds it carries
    rep = json.loads(cli("diagnose", str(path), "--format", "json").stdout)
    assert "conntrack.table_full" in {f["id"] for f in rep["findings"]}
    looser = write(tmp_path, "[thresholds]\nconntrack_near = 0.95\nconntrack_full = 0.99\n")
    rep = json.loads(cli("diagnose", str(path), "--format", "json", "--config", str(looser)).stdout)
    assert not {"conntrack.table_full", "conntrack.near_limit"} & {f["id"] for f in rep["findings"]}
