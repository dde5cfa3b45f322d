"""Open vSwitch health rules on real outputs: seed 000/003/004 quotes, and captures from a
userspace Open vSwitch (3.1, datapath_type=netdev) run in a private directory on a test machine."""

from __future__ import annotations

from pathlib import Path

from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from tests.helpers import bundle, check, ev, findings, fixture, run, sos_tree

VSCTL_SHOW = 'b0c7f7a2-5d1e-4a7b-9c55-0d5f0c3c1a10\n    ovs_version: "3.1.0"\n'
DPCTL_SEED004 = fixture("nic/seed004_ovs_dpctl_show.txt")
SEED003_LOG = fixture("nic/seed003_kernel_log_0915.txt")


def ovs_bundle(*extra, interfaces: str | None = None, collected_at: str = "2026-11-21T10:00:00+00:00"):  # type: ignore[no-untyped-def]
    return bundle(
        ev("ovs.vsctl_show", VSCTL_SHOW, source="ovs-vsctl show"),
        ev(
            "ovs.interface",
            interfaces if interfaces is not None else fixture("nic/lab_ovs_list_interface.json"),
        ),
        ev("ovs.port", fixture("nic/lab_ovs_list_port.json")),
        ev("ovs.bridge", fixture("nic/lab_ovs_list_bridge.json")),
        *extra,
        collected_at=collected_at,
    )


# --- ovs.interface_error ------------------------------------------------------------------------


def test_interface_error_names_missing_device_and_bridge() -> None:
    [f] = findings(run(ovs_bundle(), {"ovs.interface_error"}), "ovs.interface_error")
    assert f.subject == "eth9x26462" and "No such device" in f.title and "brb26462" in f.title
    assert "ovs-vsctl del-port brb26462 eth9x26462   # if eth9x26462 is gone for good" in f.remedy.now


def test_interface_error_quiet_when_every_row_is_fine() -> None:
    import json

    doc = json.loads(fixture("nic/lab_ovs_list_interface.json"))
    heads = doc["headings"]
    doc["data"] = [row for row in doc["data"] if row[heads.index("ofport")] != -1]
    r = run(ovs_bundle(interfaces=json.dumps(doc)), {"ovs.interface_error"})
    assert findings(r, "ovs.interface_error") == [] and check(r, "ovs.interface_error").startswith("pass")


def test_interface_error_skipped_without_ovs() -> None:
    b = bundle(ev("ovs.vsctl_show", status=Status.MISSING, error="ovs-vsctl: not installed"))
    assert check(run(b, {"ovs.interface_error"}), "ovs.interface_error").startswith("skipped: Open vSwitch")


def test_interface_error_sosreport_text_list(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": VSCTL_SHOW,
            "sos_commands/openvswitch/ovs-vsctl_-t_5_list_interface": fixture(
                "nic/lab_ovs_list_interface.txt"
            ),
        },
    )
    with open_source(root) as b:
        r = run(b, {"ovs.interface_error"})
    [f] = findings(r, "ovs.interface_error")
    assert f.subject == "eth9x26462" and f.evidence[0].excerpt.startswith("name=eth9x26462 ofport=-1")


# --- ovs.datapath_lost --------------------------------------------------------------------------


def test_datapath_lost_rising_between_samples() -> None:
    first = DPCTL_SEED004.replace("lost:0", "lost:120")
    later = DPCTL_SEED004.replace("lost:0", "lost:980").replace("hit:7589478", "hit:7590000")
    b = bundle(ev("ovs.dpctl_show", first, later=later, interval_s=1.0, source="ovs-appctl dpctl/show -s"))
    [f] = findings(run(b, {"ovs.datapath_lost"}), "ovs.datapath_lost")
    assert (f.subject, f.severity) == ("system@ovs-system", "warning") and "860 more in 1.0 s" in f.summary


def test_datapath_lost_old_losses_not_growing_are_info() -> None:
    old = DPCTL_SEED004.replace("lost:0", "lost:120")
    b = bundle(ev("ovs.dpctl_show", old, later=old, interval_s=1.0))
    r = run(b, {"ovs.datapath_lost"})
    [f] = findings(r, "ovs.datapath_lost")
    assert f.severity == "info" and check(r, "ovs.datapath_lost").startswith("pass")


def test_datapath_lost_seed004_healthy_is_quiet() -> None:
    b = bundle(ev("ovs.dpctl_show", DPCTL_SEED004, later=DPCTL_SEED004, interval_s=1.0))
    r = run(b, {"ovs.datapath_lost"})
    assert findings(r, "ovs.datapath_lost") == [] and check(r, "ovs.datapath_lost").startswith("pass")


def test_datapath_lost_skipped_when_vswitchd_hangs() -> None:
    b = bundle(ev("ovs.dpctl_show", status=Status.TIMEOUT, error="no answer within 2 s (killed)"))
    assert check(run(b, {"ovs.datapath_lost"}), "ovs.datapath_lost").startswith(
        "skipped: ovs.dpctl_show: timeout"
    )


def test_datapath_lost_sosreport_per_datapath_command(tmp_path: Path) -> None:
    cmd = "ovs-appctl dpctl/show -s system@ovs-system"
    rel = "sos_commands/openvswitch/ovs-appctl_dpctl.show_-s_system_ovs-system"
    root = sos_tree(
        tmp_path / "sos",
        {rel: DPCTL_SEED004.replace("lost:0", "lost:5000"), "proc/uptime": "86400.00 1.00"},
        commands={cmd: (rel, 0)},
    )
    with open_source(root) as b:
        r = run(b, {"ovs.datapath_lost"})
    [f] = findings(r, "ovs.datapath_lost")
    assert f.subject == "system@ovs-system" and "one sample only" in f.summary
    assert f.evidence[0].source == rel


# --- ovs.kernel_netlink_mismatch ----------------------------------------------------------------


def test_netlink_mismatch_recent_is_warning() -> None:
    b = bundle(
        ev("kernel.dmesg", status=Status.MISSING),
        ev("log.kernel", SEED003_LOG, key="messages"),
        collected_at="2017-09-15T07:00:00+00:00",
    )
    [f] = findings(run(b, {"ovs.kernel_netlink_mismatch"}), "ovs.kernel_netlink_mismatch")
    assert f.severity == "warning" and "62" in f.title and "22" in f.title
    assert "Key type 62 is out of range max 22" in f.evidence[0].excerpt


def test_netlink_mismatch_old_sosreport_line_is_info(tmp_path: Path) -> None:
    root = sos_tree(tmp_path / "sos", {"var/log/messages": SEED003_LOG}, commands={})
    with open_source(root) as b:
        r = run(b, {"ovs.kernel_netlink_mismatch"})
    [f] = findings(r, "ovs.kernel_netlink_mismatch")
    assert f.severity == "info" and f.subject == "openvswitch kernel module"


def test_netlink_mismatch_quiet_without_the_line() -> None:
    quiet = "\n".join(ln for ln in SEED003_LOG.splitlines() if "openvswitch" not in ln)
    r = run(bundle(ev("kernel.dmesg", quiet)), {"ovs.kernel_netlink_mismatch"})
    assert findings(r, "ovs.kernel_netlink_mismatch") == []


def test_netlink_mismatch_skipped_without_kernel_log() -> None:
    b = bundle(ev("kernel.dmesg", status=Status.DENIED), ev("log.kernel", status=Status.MISSING))
    assert check(run(b, {"ovs.kernel_netlink_mismatch"}), "ovs.kernel_netlink_mismatch").startswith("skipped")


# --- the existing rules still find their seed after the patterns moved to ovs.toml ---------------


def test_poll_interval_long_seed000_log_recent() -> None:
    b = ovs_bundle(
        ev("ovs.log_ovsdb", fixture("seeds/seed000_ovsdb_server.log"), key="ovsdb-server.log"),
        ev("kernel.dmesg", ""),
        ev("ovs.dump_flows", "NXST_FLOW reply", key="br-int"),
        collected_at="2015-09-07T19:50:00+00:00",
    )
    [f] = findings(run(b, {"ovs.poll_interval_long"}), "ovs.poll_interval_long")
    assert "16518" in f.title


def test_vswitchd_unresponsive_seed000_hang_quotes_broken_pipe() -> None:
    b = ovs_bundle(
        ev(
            "ovs.dump_flows",
            status=Status.TIMEOUT,
            key="br-int",
            source="ovs-ofctl dump-flows br-int",
            error="no answer within 2 s (killed)",
            duration_s=2.0,
        ),
        ev("ovs.log_ovsdb", fixture("seeds/seed000_ovsdb_server.log"), key="ovsdb-server.log"),
        ev("kernel.dmesg", ""),
        collected_at="2015-09-07T19:50:00+00:00",
    )
    [f] = findings(run(b, {"ovs.vswitchd_unresponsive"}), "ovs.vswitchd_unresponsive")
    assert f.severity == "critical" and any("Broken pipe" in e.excerpt for e in f.evidence)
