"""Real sosreports nobody here wrote (canonical/hotsos's test data, ../shared/external/hotsos-data):
every report runs clean, as stored and with its real manifest put back; the healthy ones are
quiet at warning and above; the faults their logs and outputs show are found — hotsos's own field
scenarios laid over the OpenStack compute node."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from netsleuth.analysis import analyse
from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from netsleuth.results.report import Report

DATA = Path(__file__).resolve().parents[3] / "shared" / "external" / "hotsos-data"
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"{DATA} is absent (real sosreports of canonical/hotsos)"
)

ROOTS = sorted(p.name for p in (DATA / "roots").iterdir()) if DATA.is_dir() else []
SCENARIOS = sorted(p.name for p in (DATA / "scenarios").iterdir()) if DATA.is_dir() else []
# what each root's own logs and outputs show, at warning and above
LOUD = {"openstack": {"ovs.poll_interval_long"}}  # ovs-vswitchd.log: 13189 ms poll intervals


def _copy(root: str, dest: Path, manifest: bool) -> Path:
    out = dest / f"sosreport-{root}"
    shutil.copytree(DATA / "roots" / root, out, symlinks=True)
    for p in [out, *out.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o200)
    packed = DATA / "manifests" / f"{root}.manifest.json.gz"
    if manifest:
        if not packed.exists():
            pytest.skip(f"{root} has no sos_reports/manifest.json (no sos_reports/ in that report)")
        (out / "sos_reports").mkdir(exist_ok=True)
        (out / "sos_reports" / "manifest.json").write_bytes(gzip.decompress(packed.read_bytes()))
    return out


def _loud(r: Report) -> set[str]:
    return {f.id for f in r.findings if f.severity in ("warning", "critical")}


@pytest.mark.parametrize("manifest", [False, True], ids=["as-stored", "with-manifest"])
@pytest.mark.parametrize("root", ROOTS)
def test_real_report_runs_clean_and_says_only_what_it_shows(
    tmp_path: Path, root: str, manifest: bool
) -> None:
    src = _copy(root, tmp_path, manifest) if manifest else DATA / "roots" / root
    with open_source(src, all_netns=True) as b:
        # uname read; the Sunbeam report has no kernel plugin: its `hostnamectl status` names it
        assert b.kernel == "6.8.0-59-generic" if root == "sunbeam" else b.kernel, b.notes
        assert b.collected_at, "the report's own clock (manifest start_time or `date`)"
        r = analyse(b)
    assert [c for c in r.checks if c.status == "error"] == []
    assert _loud(r) == LOUD.get(root, set()), [(f.id, f.subject, f.summary) for f in r.findings]


def test_sunbeam_snap_openvswitch_is_read_not_reported_down() -> None:
    """Issue 9: the false CRITICAL ovs.ovsdb_unreachable: OVS in the openstack-hypervisor snap."""
    with open_source(DATA / "roots" / "sunbeam") as b:
        show = b.get("ovs.vsctl_show")
        assert show is not None and show.ok and "Bridge br-int" in show.text
        r = analyse(b, "en", {"ovs.ovsdb_unreachable", "ovs.vswitchd_unresponsive", "ovs.datapath_lost"})
    assert [f.id for f in r.findings] == []
    assert {c.id: c.status for c in r.checks}["ovs.ovsdb_unreachable"] == "pass"


def test_openstack_namespaces_per_namespace_evidence() -> None:
    """The DVR compute node's three namespaces: conntrack (conntrack plugin) and iptables-save
    (networking plugin) per namespace, the host's rules from firewall_tables."""
    with open_source(DATA / "roots" / "openstack", all_netns=True) as b:
        assert len(b.namespaces) == 4
        for ns in b.namespaces[1:]:
            for name in ("conntrack.stats", "iptables.save", "ip.addr", "conntrack.states"):
                ev = b.get(name, netns=ns)
                assert ev is not None and ev.ok, (name, ns, ev)
            sock = b.get("sockets.listen", netns=ns)  # netstat is not installed there
            assert sock is not None and sock.status is Status.MISSING and "not installed" in sock.error
        ipt = b.get("iptables.list")
        assert ipt is not None and ipt.ok and ipt.source.startswith("sos_commands/firewall_tables/")
        logs = b.keyed("ovs.log_vswitchd")
        assert [ev.key for ev in logs if ev.ok] == ["ovs-vswitchd.log"]


# --- hotsos's field scenarios, laid over the OpenStack compute node ---------------------------


# scenario -> the fault id it shows
EXPECT = {
    "kernel__kernlog_calltrace_hungtasks": "kernel.cpu_stall",
    "kernel__network__misc_nf_conntrack_full": "conntrack.table_full",
    "kernel__network__misc_over_mtu_dropped_packets": "mtu.mismatch",
    "kernel__network__misc_over_mtu_dropped_packets_w_ovs_ports": "mtu.mismatch",
    "openstack__octavia__excessive_failovers_w_mtu_drops_dmesg": "mtu.mismatch",
    "openstack__octavia__excessive_failovers_w_mtu_drops_kernlog": "mtu.mismatch",
    "openvswitch__dpif_lost_packets_no_vswitchd": "ovs.datapath_lost",
    "openvswitch__dpif_lost_packets_w_vswitchd": "ovs.datapath_lost",
}  # fmt: skip


def _scenario(name: str, tmp_path: Path) -> Path:
    root = _copy("openstack", tmp_path, manifest=False)
    shutil.copytree(DATA / "scenarios" / name / "root", root, dirs_exist_ok=True)
    return root


def test_every_scenario_is_accounted_for() -> None:
    spec = {n: json.loads((DATA / "scenarios" / n / "spec.json").read_text()) for n in SCENARIOS}
    assert set(EXPECT) <= set(spec)
    assert all("hotsos_raises" in s for s in spec.values())


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_over_the_openstack_node(tmp_path: Path, name: str) -> None:
    with open_source(_scenario(name, tmp_path), all_netns=True) as b:
        r = analyse(b)
    assert [c for c in r.checks if c.status == "error"] == []
    expected = EXPECT.get(name, "")
    if not expected:  # hotsos raises something netsleuth has no fault id for: no new alarm either
        assert _loud(r) <= LOUD["openstack"], [(f.id, f.subject) for f in r.findings]
        return
    assert expected in {f.id for f in r.findings}, [(f.id, f.subject, f.severity) for f in r.findings]
