"""Sources: bundles round-trip exactly, unsafe or broken archives are refused in one line,
sosreports are resolved through the manifest or known paths."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from netsleuth.analysis import analyse
from netsleuth.errors import BadSource
from netsleuth.evidence.bundle import write_bundle
from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from netsleuth.messages import render_note
from tests.helpers import bundle, ev, fixture, sos_tree


def _sample_bundle():  # type: ignore[no-untyped-def]
    return bundle(
        ev(
            "ip.link",
            fixture("core/ns_host_fault.ip_link.json"),
            later=fixture("core/ns_host_fault.ip_link.json"),
            interval_s=1.0,
            netns="nslfxh",
        ),
        ev("ovs.dump_flows", key="br-int", status=Status.TIMEOUT, error="no answer within 2 s (killed)"),
        ev("kernel.dmesg", "[    5.000000] nf_conntrack: table full, dropping packet\n"),
        ev("proc.uptime", "10.0 1.0"),
        namespaces=["", "nslfxh"],
    )


def test_bundle_round_trip_gives_the_same_diagnosis(tmp_path: Path) -> None:
    b = _sample_bundle()
    out = tmp_path / "host.tar.gz"
    write_bundle(b, out)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with open_source(out) as back:
        assert [(e.name, e.netns, e.key, e.status, e.text, e.later) for e in back.items] == [
            (e.name, e.netns, e.key, e.status, e.text, e.later) for e in b.items
        ]
        assert back.namespaces == b.namespaces
        live, offline = analyse(b), analyse(back)
    assert [(f.id, f.subject, f.netns) for f in live.findings] == [
        (f.id, f.subject, f.netns) for f in offline.findings
    ]
    assert {f.id for f in live.findings} >= {"mtu.mismatch", "conntrack.table_full"}


def _tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for m in members:
            tar.addfile(m, io.BytesIO(data) if m.isfile() else None)
    return path


def _file(name: str, size: int = 1) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.size = size
    return m


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_file("netsleuth-bundle/../../etc/passwd"), "unexpected member"),
        (_file("/etc/cron.d/evil"), "unexpected member"),
    ],
)
def test_bundle_with_unsafe_paths_is_refused(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    meta = _file("netsleuth-bundle/meta.json", 1)
    bad = _tar(tmp_path / "b.tar.gz", [meta, member])
    with pytest.raises(BadSource, match=message), open_source(bad):
        pass


def test_bundle_with_a_link_or_device_is_refused(tmp_path: Path) -> None:
    link = tarfile.TarInfo("netsleuth-bundle/data/0.txt")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    dev = tarfile.TarInfo("netsleuth-bundle/data/1.txt")
    dev.type = tarfile.CHRTYPE
    for i, m in enumerate((link, dev)):
        bad = _tar(tmp_path / f"b{i}.tar.gz", [_file("netsleuth-bundle/meta.json"), m])
        with pytest.raises(BadSource, match="not a regular file"), open_source(bad):
            pass


def test_truncated_and_garbage_archives_say_so(tmp_path: Path) -> None:
    good = tmp_path / "good.tar.gz"
    write_bundle(_sample_bundle(), good)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BadSource, match=r"cut\.tar\.gz"), open_source(cut):
        pass
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("this is not an archive\n")
    with pytest.raises(BadSource, match="not a tar archive"), open_source(junk):
        pass
    with pytest.raises(BadSource, match="no such file"), open_source(tmp_path / "absent"):
        pass


def test_unknown_bundle_format_and_bad_meta(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "v9.tar.gz", "w:gz") as tar:
        data = b'{"format": "netsleuth.bundle/v9"}'
        m = _file("netsleuth-bundle/meta.json", len(data))
        tar.addfile(m, io.BytesIO(data))
    with pytest.raises(BadSource, match="unknown bundle format"), open_source(tmp_path / "v9.tar.gz"):
        pass


def test_directory_that_is_no_sosreport(tmp_path: Path) -> None:
    (tmp_path / "random").mkdir()
    with pytest.raises(BadSource, match="not a sosreport"), open_source(tmp_path / "random"):
        pass


RING = fixture("seeds/seed000_ethtool_g_p6p2.txt")


def test_sosreport_resolved_through_manifest_with_exit_codes(tmp_path: Path) -> None:
    sos_tree(
        tmp_path / "sosreport-compute1",
        {
            "sos_commands/networking/ip_-d_address": fixture("core/ns_host_fault.ip_address.txt"),
            "sos_commands/networking/ethtool_-g_p6p2": RING,
            "sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int": "",
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": "b1c0\n    Bridge br-int\n",
            "sos_commands/networking/ip_netns_exec_qdhcp-1_ip_address_show": fixture(
                "core/ns_ctr_fault.ip_address.txt"
            ),
            "sos_commands/networking/ip_netns": "qdhcp-1 (id: 0)\n",
            "sos_commands/kernel/uname_-a": "Linux compute1 3.10.0-327.22.2.el7.x86_64 #1 SMP x86_64 GNU/Linux\n",
        },
        {
            "ip -d address": ("sos_commands/networking/ip_-d_address", 0),
            "ethtool -g p6p2": ("sos_commands/networking/ethtool_-g_p6p2", 0),
            "ovs-ofctl dump-flows br-int": ("sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int", 124),
            "ovs-vsctl -t 5 show": ("sos_commands/openvswitch/ovs-vsctl_-t_5_show", 0),
            "ip netns": ("sos_commands/networking/ip_netns", 0),
            "ip netns exec qdhcp-1 ip address show": (
                "sos_commands/networking/ip_netns_exec_qdhcp-1_ip_address_show",
                0,
            ),
            "uname -a": ("sos_commands/kernel/uname_-a", 0),
        },
    )
    with open_source(tmp_path, all_netns=True) as b:
        assert b.kernel == "3.10.0-327.22.2.el7.x86_64"
        assert b.namespaces == ["", "qdhcp-1"]
        ring = b.get("ethtool.ring", key="p6p2")
        assert ring is not None and ring.ok and "RX: 453" in ring.text
        flows = b.get("ovs.dump_flows", key="br-int")
        assert flows is not None and flows.status is Status.TIMEOUT
        ns_addr = b.get("ip.addr", netns="qdhcp-1")
        assert ns_addr is not None and ns_addr.ok
        missing = b.get("sysctl.net")
        assert (
            missing is not None
            and missing.status is Status.MISSING
            and "not in this sosreport" in missing.error
        )


def test_sosreport_without_manifest_uses_known_paths_and_content_for_names(tmp_path: Path) -> None:
    # sos mangles names; the interface is read from the content ("Ring parameters for p6p2:")
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/networking/ethtool_-g_p6p2": RING,
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)\n",
            "etc/resolv.conf": "nameserver 127.0.0.1\n",
        },
    )
    with open_source(root) as b:
        ring = b.get("ethtool.ring", key="p6p2")
        assert ring is not None and ring.ok
        show = b.get("ovs.vsctl_show")
        assert show is not None and show.status is Status.ERROR and "database connection failed" in show.error
        assert any("no sos_reports/manifest.json" in render_note("en", n) for n in b.notes)


def test_sosreport_link_leading_outside_is_not_followed(tmp_path: Path) -> None:
    root = sos_tree(tmp_path, {"sos_commands/kernel/placeholder": ""})
    (root / "etc").mkdir()
    (root / "etc" / "resolv.conf").symlink_to("/etc/hostname")
    with open_source(root) as b:
        rc = b.get("etc.resolv_conf")
        assert rc is not None and rc.status is Status.MISSING


def test_conntrack_and_hung_vswitchd_found_through_a_sosreport(tmp_path: Path) -> None:
    """Seed 001 and seed 000 as a customer's sosreport would carry them."""
    sysctl = (
        "net.netfilter.nf_conntrack_buckets = 65536\nnet.netfilter.nf_conntrack_count = 2097152\n"
        "net.netfilter.nf_conntrack_max = 2097152\nnet.nf_conntrack_max = 2097152\n"
    )
    ps = (
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "root 701 0.0 0.1 20000 8000 ? Ss 05:00 0:00 ovsdb-server /etc/openvswitch/conf.db"
        " --remote=punix:/var/run/openvswitch/db.sock --pidfile --detach\n"
        "root 812 0.2 0.1 300000 40000 ? Tsl 05:01 0:09 ovs-vswitchd unix:/var/run/openvswitch/db.sock --pidfile\n"
    )
    sos_tree(
        tmp_path / "sosreport-compute1",
        {
            "sos_commands/kernel/sysctl_-a": sysctl,
            "sos_commands/kernel/dmesg": fixture("seeds/seed001_dmesg_conntrack.txt"),
            "sos_commands/host/uptime": " 10:01:02 up 750 days,  0:03,  2 users,  load average: 9.00, 8.00, 7.00\n",
            "proc/net/nf_conntrack": "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22\n",
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": "b1c0e7a4\n    Bridge br-int\n",
            "sos_commands/openvswitch/ovs-vsctl_-t_5_list-br": "br-int\n",
            "sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int": "",
            "sos_commands/process/ps_auxwww": ps,
            "var/log/openvswitch/ovsdb-server.log": fixture("seeds/seed000_ovsdb_server.log"),
        },
        {
            "sysctl -a": ("sos_commands/kernel/sysctl_-a", 0),
            "dmesg": ("sos_commands/kernel/dmesg", 0),
            "uptime": ("sos_commands/host/uptime", 0),
            "ovs-vsctl -t 5 show": ("sos_commands/openvswitch/ovs-vsctl_-t_5_show", 0),
            "ovs-vsctl -t 5 list-br": ("sos_commands/openvswitch/ovs-vsctl_-t_5_list-br", 0),
            "ovs-ofctl dump-flows br-int": ("sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int", 124),
            "ps auxwww": ("sos_commands/process/ps_auxwww", 0),
        },
    )
    with open_source(tmp_path) as b:
        report = analyse(b, "en", {"conntrack.table_full", "ovs.vswitchd_unresponsive"})
    got = {(f.id, f.subject, f.severity) for f in report.findings}
    assert ("conntrack.table_full", "nf_conntrack", "critical") in got  # full now: count = max
    assert ("ovs.vswitchd_unresponsive", "ovs-vswitchd", "critical") in got
