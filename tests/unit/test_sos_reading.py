"""Sosreports as sos really writes them: snap and container forms of the Open vSwitch commands,
files the manifest does not list, sos 4's process list, logs, the report's own clock; and the
classes of confusion between "not collected" and "did not answer"."""

from __future__ import annotations

import json
from pathlib import Path

from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from netsleuth.messages import render_note
from netsleuth.parsers.docker import SAMPLE_PS
from netsleuth.parsers.ps import SAMPLE_PS_THREADS
from netsleuth.parsers.sockets import SAMPLE_NETSTAT_AGN, SAMPLE_PROC_TCP, SAMPLE_PROC_TCP6
from tests.helpers import check, findings, fixture, run, sos_tree

SHOW = 'b1c0e7a4-55d1-4a0b-8c2e-6f1a3d9e0b11\n    Bridge br-int\n    ovs_version: "3.3.0"\n'
# Sunbeam's hypervisor: OVS in the openstack-hypervisor snap, daemons in the process list
SUNBEAM_PS = SAMPLE_PS_THREADS.replace("Tl", "Sl") + (
    "root        1977  0.0  0.1  93344 21496 ?        -    04:21   0:17 ovsdb-server "
    "/var/snap/openstack-hypervisor/common/etc/openvswitch/conf.db -vconsole:emer "
    "--remote=punix:/var/snap/openstack-hypervisor/common/run/openvswitch/db.sock\n"
    "root           -  0.0    -      -     - -        Ss   04:21   0:17 -\n"
)


def test_ovs_commands_sos_ran_through_a_snap_are_found(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/openvswitch/openstack-hypervisor.ovs-vsctl_-t_5_show": SHOW,
            "sos_commands/openvswitch/openstack-hypervisor.ovs-appctl_dpctl.show_-s_system_ovs-system": fixture(
                "nic/lab_ovs_dpctl_show_s.txt"
            ),
            "sos_commands/process/ps_auxwwwm": SUNBEAM_PS,
        },
    )
    with open_source(root) as b:
        show = b.get("ovs.vsctl_show")
        assert show is not None and show.ok and show.text == SHOW
        dp = b.get("ovs.dpctl_show")
        assert dp is not None and dp.ok
        assert any("snap openstack-hypervisor" in render_note("en", n) for n in b.notes)
        r = run(b, {"ovs.ovsdb_unreachable", "ovs.datapath_lost"})
    assert not findings(r, "ovs.ovsdb_unreachable")
    assert check(r, "ovs.ovsdb_unreachable").startswith("pass")


def test_a_report_without_ovs_vsctl_show_is_no_ovsdb_outage(tmp_path: Path) -> None:
    """Issue 9: the daemons run, the report simply has no `ovs-vsctl show` (no openvswitch plugin,
    or the snap's file names): unknown, never "ovsdb-server does not answer"."""
    root = sos_tree(tmp_path, {"sos_commands/process/ps_auxwwwm": SUNBEAM_PS}, commands={})
    with open_source(root) as b:
        r = run(b, {"ovs.ovsdb_unreachable", "ovs.vswitchd_unresponsive"})
    assert r.findings == []
    reason = check(r, "ovs.ovsdb_unreachable")
    assert reason.startswith("skipped") and "Open vSwitch runs here (ovs-vswitchd pid 2056)" in reason
    assert "whether ovsdb-server answers is unknown" in reason


def test_ovs_in_a_container_is_named_when_its_commands_are_not_in_the_report(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/docker/docker_ps": SAMPLE_PS,
            "sos_commands/process/ps_auxwww": fixture("platform/ps_auxww_neutron_node.txt")
            + "root 4242 1.0 0.4 3386420 139460 ? Sl 04:21 9:07 ovs-vswitchd unix:/run/openvswitch/db.sock\n",
        },
    )
    with open_source(root) as b:
        r = run(b, {"ovs.ovsdb_unreachable"})
    assert r.findings == []
    assert "Open vSwitch runs in container openvswitch_vswitchd (docker)" in check(r, "ovs.ovsdb_unreachable")


def test_ovs_commands_sos_ran_in_a_container_are_read(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/openvswitch/docker_exec_openvswitch_vswitchd_ovs-vsctl_-t_5_show": SHOW,
            "sos_commands/openvswitch/docker_exec_openvswitch_vswitchd_ovs-ofctl_dump-flows_br-int": "",
        },
        {
            "docker exec openvswitch_vswitchd ovs-vsctl -t 5 show": (
                "sos_commands/openvswitch/docker_exec_openvswitch_vswitchd_ovs-vsctl_-t_5_show",
                0,
            ),
        },
    )
    with open_source(root) as b:
        assert (show := b.get("ovs.vsctl_show")) is not None and show.ok
        flows = b.get("ovs.dump_flows", key="br-int")
        assert flows is not None and flows.ok
        assert any("docker openvswitch_vswitchd" in render_note("en", n) for n in b.notes)


def test_denied_or_missing_ovs_vsctl_is_never_an_outage() -> None:
    from tests.helpers import bundle, ev

    for status, error in ((Status.DENIED, "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database "
                           "connection failed (Permission denied)"), (Status.MISSING, "ovs-vsctl: not installed")):  # fmt: skip
        b = bundle(ev("ovs.vsctl_show", status=status, error=error), ev("ps", SUNBEAM_PS))
        r = run(b, {"ovs.ovsdb_unreachable"})
        assert r.findings == [], status
        assert check(r, "ovs.ovsdb_unreachable").startswith("skipped")
    failed = bundle(
        ev(
            "ovs.vsctl_show",
            status=Status.ERROR,
            error="ovs-vsctl: unix:/var/snap/openstack-hypervisor/common/"
            "run/openvswitch/db.sock: database connection failed (Connection refused)",
        ),
        ev("ps", SUNBEAM_PS),
    )
    [f] = findings(run(failed, {"ovs.ovsdb_unreachable"}), "ovs.ovsdb_unreachable")
    assert f.severity == "critical"  # a real failure stays one


def test_a_stopped_vswitchd_in_sos4s_process_list(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/process/ps_auxwwwm": SAMPLE_PS_THREADS,
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": SHOW,
            "sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int": "",
        },
        {
            "ps auxwwwm": ("sos_commands/process/ps_auxwwwm", 0),
            "ovs-vsctl -t 5 show": ("sos_commands/openvswitch/ovs-vsctl_-t_5_show", 0),
            "ovs-ofctl dump-flows br-int": ("sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int", 124),
        },
    )
    with open_source(root) as b:
        r = run(b, {"ovs.vswitchd_unresponsive"})
    [f] = findings(r, "ovs.vswitchd_unresponsive")
    assert f.severity == "critical" and "stopped" in f.title and "kill -CONT 2056" in " ".join(f.remedy.now)


def test_multicast_list_is_no_socket_list(tmp_path: Path) -> None:
    """Issue 9: with only `netstat -W -agn` (multicast groups), nothing listens anywhere — the false
    CRITICAL dns.loopback_resolver_dead. It is not a list of sockets: the check is skipped."""
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/networking/netstat_-W_-agn": SAMPLE_NETSTAT_AGN,
            "etc/resolv.conf": "nameserver 127.0.0.53\n",
        },
    )
    with open_source(root) as b:
        assert b.get("sockets.listen") is not None and not b.get("sockets.listen").ok  # type: ignore[union-attr]
        r = run(b, {"dns.loopback_resolver_dead"})
    assert r.findings == [] and check(r, "dns.loopback_resolver_dead").startswith("skipped")


def test_the_kernels_socket_tables_answer_offline(tmp_path: Path) -> None:
    files = {"etc/resolv.conf": "nameserver 127.0.0.53\n", "proc/net/tcp6": SAMPLE_PROC_TCP6,
             "proc/net/udp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"}  # fmt: skip
    with open_source(sos_tree(tmp_path / "a", {**files, "proc/net/tcp": SAMPLE_PROC_TCP})) as b:
        r = run(b, {"dns.loopback_resolver_dead"})
    assert r.findings == [] and check(r, "dns.loopback_resolver_dead").startswith("pass")  # 127.0.0.53:53 tcp
    empty_tcp = SAMPLE_PROC_TCP.splitlines()[0] + "\n"
    with open_source(sos_tree(tmp_path / "b", {**files, "proc/net/tcp": empty_tcp})) as b:
        [f] = findings(run(b, {"dns.loopback_resolver_dead"}), "dns.loopback_resolver_dead")
    assert f.subject == "127.0.0.53" and "proc/net/tcp" in f.evidence[-1].source


def test_ovs_logs_are_read_offline(tmp_path: Path) -> None:
    log = "\n".join(
        f"2022-02-10T16:1{i}:00.000Z|0000{i}|timeval|WARN|Unreasonably long 13189ms poll interval "
        "(0ms user, 10459ms system)"
        for i in range(3)
    )
    root = sos_tree(
        tmp_path,
        {
            "var/log/kolla/openvswitch/ovs-vswitchd.log": log + "\n",
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": SHOW,
            "sos_commands/date/date": "Thu Feb 10 16:19:17 UTC 2022\n",
            "sos_commands/kernel/dmesg": "[    1.000000] Linux version 5.4.0\n",
        },
    )
    with open_source(root) as b:
        assert b.collected_at == "2022-02-10T16:19:17+00:00"  # no manifest: `date` says when
        [f] = findings(run(b, {"ovs.poll_interval_long"}), "ovs.poll_interval_long")
    assert f.severity == "warning" and "13189" in f.title


def test_ovs_logs_speak_without_ovs_vsctl_show_or_the_reports_clock(tmp_path: Path) -> None:
    """The log is evidence on its own: a report taken without the openvswitch plugin (no
    `ovs-vsctl show`: whether ovs-vswitchd answers now is unknown) or without `date` (when the
    lines were logged is unknown) still shows the long poll intervals, never a silent pass."""
    log = "2022-02-10T16:10:00.000Z|00001|timeval|WARN|Unreasonably long 13189ms poll interval (0ms user, 10459ms system)\n"
    for name, extra in (
        ("no-vsctl", {"sos_commands/date/date": "Thu Feb 10 16:19:17 UTC 2022\n", "sos_commands/process/ps_auxwwwm": SUNBEAM_PS}),
        ("no-clock", {"sos_commands/openvswitch/ovs-vsctl_-t_5_show": SHOW}),
    ):  # fmt: skip
        root = sos_tree(tmp_path / name, {"var/log/openvswitch/ovs-vswitchd.log": log, **extra})
        with open_source(root) as b:
            r = run(b, {"ovs.poll_interval_long"})
        [f] = findings(r, "ovs.poll_interval_long")
        assert f.severity == "warning" and "13189" in f.title, name
        said = "may or may not answer now" if name == "no-vsctl" else "at an unknown time"
        assert said in f.summary, (name, f.summary)


def test_a_process_list_cut_short_never_says_an_agent_is_down(tmp_path: Path) -> None:
    """A `ps auxwwwm` longer than what netsleuth keeps (16 MiB: a host with 100k threads) is cut:
    the L3 agent listed after the cut is not "not running" (it was a false CRITICAL)."""
    head = SAMPLE_PS_THREADS.splitlines(keepends=True)[0]
    filler = "".join(
        f"root     {100000 + i:7d}  0.0  0.0      0     0 ?        S    Feb09   0:00 [kworker/u{i}:0-events_unbound_{'x' * 60}]\n"
        for i in range(130_000)
    )
    agent = "neutron     1591  0.0  0.8 150772 132612 ?       -    Feb09   0:25 /usr/bin/python3 /usr/bin/neutron-l3-agent --config-file=/etc/neutron/neutron.conf\n"
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/process/ps_auxwwwm": head + filler + agent,
            "sos_commands/networking/ip_netns": "qrouter-984c22fd-64b3-4fa1-8ddd-87090f401ce5 (id: 1)\n",
        },
    )
    with open_source(root) as b:
        r = run(b, {"neutron.agent_down"})
    assert r.findings == []
    assert "the process list was cut" in check(r, "neutron.agent_down")


def test_the_manifest_is_an_index_not_the_truth(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/networking/ip_-d_address": fixture("core/ns_host_fault.ip_address.txt"),
            "sos_commands/firewall_tables/iptables_-vnxL": fixture("platform/iptables_vnxL_drops.txt"),
            "sos_commands/networking/namespaces/qdhcp-1/ip_netns_exec_qdhcp-1_ip_-d_address_show": fixture(
                "core/ns_ctr_fault.ip_address.txt"
            ),
            "sos_commands/networking/ip_netns": "qdhcp-1 (id: 0)\n",
            "sos_commands/conntrack/ip_netns_exec_qdhcp-1_conntrack_-S": "cpu=0 found=0 drop=3\n",
        },
        {
            "ip -d address": ("sos_commands/networking/ip_-d_address", 0),
            "ip -s -d link": ("sos_commands/networking/ip_-s_-d_link", 0),  # listed, not on disk
            "netstat -W -neopa": (None, 127),  # type: ignore[dict-item]  # sos: not installed
        },
    )
    with open_source(root, all_netns=True) as b:
        assert (addr := b.get("ip.addr")) is not None and addr.ok
        assert (ipt := b.get("iptables.list")) is not None and ipt.ok  # not in the manifest
        assert (ns := b.get("ip.addr", netns="qdhcp-1")) is not None and ns.ok  # sos >= 4.5 layout
        assert (ct := b.get("conntrack.stats", netns="qdhcp-1")) is not None and ct.ok
        link = b.get("ip.link")
        assert link is not None and link.status is Status.MISSING
        sock = b.get("sockets.listen")
        assert sock is not None and "not installed on the host (exit 127)" in sock.error


def test_manifest_records_of_the_wrong_shape_are_ignored(tmp_path: Path) -> None:
    root = sos_tree(tmp_path, {"sos_commands/kernel/uname_-a": "Linux h 5.4.0-97-generic #1 SMP x86_64\n"})
    bad = {
        "start_time": "2022-02-10 16:19:05.924719",
        "components": {"report": {"plugins": {"kernel": {"commands": [
            {"exec": "uname -a", "filepath": 7, "return_code": 0},
            {"exec": ["dmesg"], "filepath": "sos_commands/kernel/dmesg", "return_code": 0},
            {"exec": "sysctl -a", "filepath": "../../etc/shadow", "return_code": 0},
        ]}}}},
    }  # fmt: skip
    text = json.dumps(bad)[:-1] + ', "nest": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (root / "sos_reports").mkdir()
    (root / "sos_reports" / "manifest.json").write_text(text)
    with open_source(root) as b:
        assert b.kernel == "5.4.0-97-generic"
        assert any("wrong shape" in render_note("en", n) for n in b.notes)
        assert b.collected_at.startswith("2022-02-10T16:19:05")


def test_a_manifest_linked_outside_the_report_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text('{"exec": "uname -a", "filepath": "sos_commands/kernel/uname_-a", "return_code": 0}')
    root = sos_tree(tmp_path / "r", {"sos_commands/kernel/placeholder": ""})
    (root / "sos_reports").mkdir()
    (root / "sos_reports" / "manifest.json").symlink_to(outside)
    with open_source(root) as b:
        assert any("leads outside the report" in render_note("en", n) for n in b.notes)
        assert all("uname" not in ev.source for ev in b.items)


def test_nul_and_control_characters_in_ip_netns(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path, {"sos_commands/networking/ip_netns": "qdhcp-1 (id: 0)\nbad\x00name\n\x1b[31mred\n"}
    )
    with open_source(root, all_netns=True) as b:
        assert b.namespaces == ["", "qdhcp-1"]
        assert any("no namespace name ignored" in render_note("en", n) for n in b.notes)


def test_loops_and_deep_folders_in_a_report_folder(tmp_path: Path) -> None:
    root = sos_tree(tmp_path, {"sos_commands/kernel/uname_-a": "Linux h 5.4.0 #1 SMP x86_64\n"})
    (root / "sos_commands" / "loop").symlink_to(root / "sos_commands")
    (root / "etc").mkdir()
    (root / "etc" / "resolv.conf").symlink_to(root / "etc" / "resolv.conf")  # a link to itself
    deep = root / "sos_commands" / "networking"
    for i in range(200):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "ip_-d_address").write_text("1: lo: <LOOPBACK> mtu 65536\n")
    with open_source(root) as b:
        assert b.kernel == "5.4.0"
        rc = b.get("etc.resolv_conf")
        assert rc is not None and rc.status is Status.MISSING
        addr = b.get("ip.addr")
        assert addr is not None and addr.status is Status.MISSING  # deeper than sos ever writes


def test_no_interface_listing_is_not_no_interface_in_error(tmp_path: Path) -> None:
    root = sos_tree(tmp_path, {"sos_commands/openvswitch/ovs-vsctl_-t_5_show": SHOW,
                               "sos_commands/process/ps_auxwwwm": SUNBEAM_PS})  # fmt: skip
    with open_source(root) as b:
        assert check(run(b, {"ovs.interface_error"}), "ovs.interface_error").startswith(
            "skipped: ovs.interface: missing"
        )
    (root / "sos_commands/openvswitch/ovs-vsctl_-t_5_list_interface").write_text(
        fixture("nic/lab_ovs_list_interface.txt")
    )
    with open_source(root) as b:
        assert not check(run(b, {"ovs.interface_error"}), "ovs.interface_error").startswith("skipped")


LAB_PS = (
    "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
    "root 812 0.2 0.1 300000 40000 ? Ssl 05:01 0:09 ovs-vswitchd unix:/run/lab/ovs/db.sock "
    "--pidfile=/run/lab/ovs/ovs-vswitchd.pid --log-file=/run/lab/ovs/ovs-vswitchd.log\n"
)
LOST_DB = (
    "2022-02-10T16:18:01.901Z|00009|reconnect|INFO|unix:/run/lab/ovs/db.sock: connection attempt failed "
    "(No such file or directory)\n"
)


def test_a_daemons_own_log_file_is_read_where_it_was_told_to_write(tmp_path: Path) -> None:
    """`--log-file=PATH` on ovs-vswitchd's command line (a private OVS_LOGDIR, a snap): sos copied
    it under that path; it is read like /var/log/openvswitch/ovs-vswitchd.log."""
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/process/ps_auxwww": LAB_PS,
            "run/lab/ovs/ovs-vswitchd.log": LOST_DB,
            "sos_commands/openvswitch/ovs-vsctl_-t_5_show": "ovs-vsctl: unix:/run/lab/ovs/db.sock: database "
            "connection failed (No such file or directory)\n",
            "sos_commands/date/date_--utc": "Thu Feb 10 16:19:17 UTC 2022\n",
        },
    )
    with open_source(root) as b:
        [log] = b.keyed("ovs.log_vswitchd")
        assert log.ok and log.source == "run/lab/ovs/ovs-vswitchd.log" and log.key == "ovs-vswitchd.log"
        [f] = findings(run(b, {"ovs.ovsdb_unreachable"}), "ovs.ovsdb_unreachable")
    assert f.severity == "critical"
    assert any(e.source == "run/lab/ovs/ovs-vswitchd.log" and "connection attempt failed" in e.excerpt
               for e in f.evidence)  # fmt: skip


def test_live_logs_of_running_daemons(tmp_path: Path) -> None:
    from netsleuth.collector.collectors import log_files_of

    proc = tmp_path / "proc"
    for pid, argv in (("812", ["/usr/sbin/ovs-vswitchd", "unix:/x/db.sock", "--log-file=/x/ovs-vswitchd.log"]),
                      ("813", ["ovsdb-server", "--log-file=/x/ovsdb-server.log"]), ("self", ["python3"])):  # fmt: skip
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    assert log_files_of("ovs-vswitchd", proc) == ["/x/ovs-vswitchd.log"]
    assert log_files_of("ovsdb-server", proc) == ["/x/ovsdb-server.log"]
