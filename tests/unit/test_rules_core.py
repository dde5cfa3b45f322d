"""The four rules the pipeline ships with, on real outputs: fault, healthy, missing evidence."""

from __future__ import annotations

from netsleuth.evidence.model import Status
from tests.helpers import bundle, check, ev, findings, fixture, run

H, C = "nslfxh", "nslfxc"


def _ns_links(state: str) -> list:
    return [
        ev("ip.link", fixture(f"core/ns_host_{state}.ip_link.json"), netns=H),
        *([ev("ip.addr", fixture("core/ns_host_fault.ip_address.txt"), netns=H)] if state == "fault" else []),
        ev("ip.link", fixture(f"core/ns_ctr_{state}.ip_link.json"), netns=C),
        ev("ip.netns_ids", fixture("core/ns_host.netns_ids.txt"), netns=H),
        ev("ip.netns_ids", fixture("core/ns_ctr.netns_ids.txt"), netns=C),
    ]


# --- mtu.mismatch ------------------------------------------------------------------------------


def test_mtu_bridged_uplink_smaller_than_container_port_names_the_uplink() -> None:
    report = run(bundle(*_ns_links("fault"), namespaces=[H, C]), {"mtu.mismatch"})
    bridge = [f for f in findings(report, "mtu.mismatch") if "bridge br0" in f.summary]
    assert len(bridge) == 1
    f = bridge[0]
    assert f.subject == "uplink" and f.netns == H and f.severity == "critical"
    assert "1350" in f.title and "1500" in f.title
    assert any("uplink" in e.excerpt and "mtu 1350" in e.excerpt for e in f.evidence)
    assert f.remedy.now and "uplink" in f.remedy.now[0]


def test_mtu_vxlan_without_room_for_its_50_bytes_names_the_vxlan_device() -> None:
    report = run(bundle(*_ns_links("fault"), namespaces=[H, C]), {"mtu.mismatch"})
    vx = [f for f in findings(report, "mtu.mismatch") if f.subject == "vxlan42"]
    assert len(vx) == 1
    assert "under0" in vx[0].summary and "1451" in vx[0].summary  # 1500 - 50 + 1 no longer fits
    assert "mtu 1450" in vx[0].remedy.now[0]


def test_mtu_veth_ends_in_two_namespaces_differ_reported_once() -> None:
    b = bundle(
        ev("ip.link", fixture("core/pair_host.ip_link.json"), netns="nslfxq"),
        ev("ip.link", fixture("core/pair_ctr.ip_link.json"), netns="nslfxr"),
        ev("ip.netns_ids", fixture("core/pair_host.netns_ids.txt"), netns="nslfxq"),
        ev("ip.netns_ids", fixture("core/pair_ctr.netns_ids.txt"), netns="nslfxr"),
        namespaces=["nslfxq", "nslfxr"],
    )
    found = findings(run(b, {"mtu.mismatch"}), "mtu.mismatch")
    assert len(found) == 1
    assert found[0].subject == "vethx"  # 1400, while the container's eth0 sends 1500
    assert "nslfxr" in found[0].title and "nslfxq" in found[0].title


def test_mtu_healthy_namespaces_are_quiet() -> None:
    report = run(bundle(*_ns_links("healthy"), namespaces=[H, C]), {"mtu.mismatch"})
    assert findings(report, "mtu.mismatch") == []
    assert check(report, "mtu.mismatch", H).startswith("pass")


def test_mtu_skipped_without_interface_list() -> None:
    b = bundle(
        ev("ip.link", status=Status.TIMEOUT, error="no answer within 2 s (killed)"),
        ev("ip.addr", status=Status.MISSING, error="ip: not installed"),
    )
    assert check(run(b, {"mtu.mismatch"}), "mtu.mismatch").startswith("skipped: ip.link: timeout")


# --- nic.no_carrier ------------------------------------------------------------------------------


def test_no_carrier_bridge_port_whose_peer_is_down() -> None:
    report = run(bundle(*_ns_links("fault"), namespaces=[H, C]), {"nic.no_carrier"})
    found = findings(report, "nic.no_carrier")
    assert [(f.subject, f.netns, f.severity) for f in found] == [("vethd", H, "critical")]
    assert "NO-CARRIER" in found[0].evidence[0].excerpt and "br0" in found[0].summary
    # the other end lives in the container namespace: named, with the command that fixes it
    assert found[0].remedy.now == [f"ip -n {C} link set eth1 up"]
    assert "eth1" in found[0].evidence[1].excerpt and C in found[0].evidence[1].source


def test_no_carrier_ignores_virbr0_from_seed_002() -> None:
    report = run(bundle(ev("ip.addr", fixture("core/seed002_ip_a_state.txt"))), {"nic.no_carrier"})
    assert findings(report, "nic.no_carrier") == []
    assert check(report, "nic.no_carrier").startswith("pass")


def test_no_carrier_quiet_when_healthy_and_skipped_when_missing() -> None:
    assert findings(run(bundle(*_ns_links("healthy"), namespaces=[H, C])), "nic.no_carrier") == []
    b = bundle(ev("ip.link", status=Status.DENIED, error="permission denied"))
    assert check(run(b, {"nic.no_carrier"}), "nic.no_carrier").startswith("skipped")


def test_no_carrier_from_sosreport_text_of_a_namespace() -> None:
    report = run(
        bundle(ev("ip.addr", fixture("core/ns_host_fault.ip_address.txt"), netns=H), namespaces=[H]),
        {"nic.no_carrier", "mtu.mismatch"},
    )
    assert [f.subject for f in findings(report, "nic.no_carrier")] == ["vethd"]
    assert "uplink" in [f.subject for f in findings(report, "mtu.mismatch")]


# --- conntrack.table_full / near_limit -----------------------------------------------------------

SYSCTL_FULL = """\
net.netfilter.nf_conntrack_buckets = 65536
net.netfilter.nf_conntrack_count = 2097152
net.netfilter.nf_conntrack_max = 2097152
net.nf_conntrack_max = 2097152
net.netfilter.nf_conntrack_tcp_timeout_established = 432000
net.netfilter.nf_conntrack_tcp_timeout_time_wait = 120
"""


def test_table_full_now_with_recent_kernel_lines_is_critical_and_sized_from_memory() -> None:
    b = bundle(
        ev("sysctl.net", SYSCTL_FULL, source="sysctl -a -r ^net"),
        ev(
            "conntrack.states", fixture("seeds/seed001_conntrack_states.txt"), source="/proc/net/nf_conntrack"
        ),
        ev("kernel.dmesg", fixture("seeds/seed001_dmesg_conntrack.txt"), source="dmesg"),
        ev("proc.uptime", "64802490.00 1.00"),
        ev("proc.meminfo", "MemTotal:       263873236 kB\n"),
        kernel="3.10.0-327.22.2.el7.x86_64",
    )
    (f,) = findings(run(b, {"conntrack.table_full"}), "conntrack.table_full")
    assert f.severity == "critical" and f.subject == "nf_conntrack"
    assert "ESTABLISHED (246265)" in f.summary and "10 times" in f.summary
    assert any(
        "table full,dropping packet" in e.excerpt or "table full, dropping" in e.excerpt for e in f.evidence
    )
    now = "\n".join(f.remedy.now)
    assert "nf_conntrack_max=4194304" in now
    assert "nf_conntrack_tcp_timeout_established=3600" in now
    assert "/sys/module/nf_conntrack/parameters/hashsize" in now  # kernel 3.10 < 4.8: not by sysctl


def test_table_full_lines_from_long_ago_with_a_quiet_table_are_only_info() -> None:
    quiet = SYSCTL_FULL.replace("count = 2097152", "count = 1200")
    b = bundle(
        ev("sysctl.net", quiet),
        ev("kernel.dmesg", fixture("seeds/seed001_dmesg_conntrack.txt")),
        ev("proc.uptime", str(64802473 + 30 * 86400) + ".0 1.0"),
    )
    (f,) = findings(run(b, {"conntrack.table_full"}), "conntrack.table_full")
    assert f.severity == "info" and "30 days ago" in f.summary
    assert run(b).exit_code() == 0


def test_table_full_variant_in_netns_from_this_machine() -> None:
    line = "[  812.123456] nf_conntrack: nf_conntrack: table full in netns 4026532301, dropping packet"
    b = bundle(ev("kernel.dmesg", line), ev("proc.uptime", "815.0 1.0"))
    (f,) = findings(run(b, {"conntrack.table_full"}), "conntrack.table_full")
    assert f.severity == "critical"


def test_near_limit_and_healthy_and_missing() -> None:
    near = SYSCTL_FULL.replace("count = 2097152", "count = 1700000")
    assert [f.id for f in run(bundle(ev("sysctl.net", near))).findings] == ["conntrack.near_limit"]
    healthy = SYSCTL_FULL.replace("count = 2097152", "count = 3000")
    r = run(bundle(ev("sysctl.net", healthy), ev("kernel.dmesg", "[    1.0] Linux version 6.1")))
    assert [f.id for f in r.findings if f.id.startswith("conntrack")] == []
    missing = run(
        bundle(ev("sysctl.net", "net.ipv4.ip_forward = 1\n")),
        {"conntrack.near_limit", "conntrack.table_full"},
    )
    assert "nf_conntrack is not loaded" in check(missing, "conntrack.near_limit")
    assert check(missing, "conntrack.table_full").startswith("skipped")


# --- ovs.vswitchd_unresponsive / ovsdb_unreachable -------------------------------------------------

PS_STOPPED = """\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root         701  0.0  0.1  20000  8000 ?        Ss   05:00   0:00 ovsdb-server /etc/openvswitch/conf.db --remote=punix:/var/run/openvswitch/db.sock --pidfile --detach
root         812  0.2  0.1 300000 40000 ?        Tsl  05:01   0:09 ovs-vswitchd unix:/var/run/openvswitch/db.sock -vconsole:emer --pidfile --detach
"""


def _ovs(dump: Status, vsctl: Status = Status.OK) -> list:
    return [
        ev("ps", PS_STOPPED),
        ev(
            "ovs.vsctl_show",
            "b1c0e7a4\n    Bridge br-int\n" if vsctl is Status.OK else "",
            status=vsctl,
            source="ovs-vsctl show",
            duration_s=0.02,
            error="" if vsctl is Status.OK else "no answer within 2 s (killed)",
        ),
        ev(
            "ovs.dump_flows",
            "" if dump is not Status.OK else " cookie=0x0, priority=0 actions=NORMAL\n",
            key="br-int",
            status=dump,
            source="ovs-ofctl dump-flows br-int",
            duration_s=2.0,
            error="no answer within 2 s (killed)" if dump is Status.TIMEOUT else "",
        ),
        ev(
            "ovs.log_ovsdb",
            fixture("seeds/seed000_ovsdb_server.log"),
            key="ovsdb-server.log",  # logs are keyed by file name, live and offline
            source="/var/log/openvswitch/ovsdb-server.log",
        ),
    ]


def test_vswitchd_hung_while_ovsdb_answers_is_critical_with_the_seed_log_lines() -> None:
    b = bundle(*_ovs(Status.TIMEOUT), collected_at="2015-09-07T19:50:00+00:00")
    (f,) = findings(run(b, {"ovs.vswitchd_unresponsive"}), "ovs.vswitchd_unresponsive")
    assert f.subject == "ovs-vswitchd" and f.severity == "critical"
    assert "stopped" in f.title
    sources = [e.source for e in f.evidence]
    assert "ovs-ofctl dump-flows br-int" in sources and "ovs-vsctl show" in sources
    assert any("16518ms" in e.excerpt for e in f.evidence)
    assert any("kill -CONT 812" in c for c in f.remedy.now)


def test_vswitchd_answering_is_quiet_and_ovs_absent_is_skipped() -> None:
    assert findings(run(bundle(*_ovs(Status.OK))), "ovs.vswitchd_unresponsive") == []
    absent = bundle(
        ev("ovs.vsctl_show", status=Status.MISSING, error="ovs-vsctl: not installed"),
        ev("ps", PS_STOPPED.splitlines()[0] + "\n"),
    )
    assert "not installed" in check(run(absent, {"ovs.vswitchd_unresponsive"}), "ovs.vswitchd_unresponsive")


def test_ovsdb_not_answering_is_its_own_fault() -> None:
    r = run(
        bundle(*_ovs(Status.TIMEOUT, vsctl=Status.TIMEOUT)),
        {"ovsdb_unreachable", "ovs.ovsdb_unreachable", "ovs.vswitchd_unresponsive"},
    )
    assert [f.id for f in r.findings] == ["ovs.ovsdb_unreachable"]
    assert r.findings[0].subject == "ovsdb-server"


def test_garbage_in_one_evidence_file_does_not_stop_the_other_rules() -> None:
    b = bundle(
        ev("ip.link", '[{"ifindex": 1, "ifname": "eth0", "mtu": "not a number"'),
        ev("sysctl.net", SYSCTL_FULL),
    )
    r = run(b, {"mtu.mismatch", "nic.no_carrier", "conntrack.table_full"})
    assert "could not parse" in check(r, "mtu.mismatch")
    assert check(r, "nic.no_carrier").startswith("skipped")
    assert [f.id for f in r.findings] == ["conntrack.table_full"]


def test_table_full_line_of_another_namespace_is_attributed_to_it_not_to_the_host() -> None:
    """The kernel log is machine-wide; `in netns N` names the namespace by its inode."""
    line = "[  812.123456] nf_conntrack: nf_conntrack: table full in netns 4026532301, dropping packet"
    b = bundle(
        ev("kernel.dmesg", line),
        ev("proc.uptime", "815.0 1.0"),
        ev("netns.inode", "net:[4026531833]\n"),  # the init namespace (fixed inode on kernels >= 6.x)
        ev("netns.inode", "net:[4026532301]\n", netns="nslrouter"),
        ev("netns.inode", "net:[4026532400]\n", netns="nslother"),
        namespaces=["", "nslrouter", "nslother"],
    )
    found = findings(run(b, {"conntrack.table_full"}), "conntrack.table_full")
    assert [(f.netns, f.severity) for f in found] == [("nslrouter", "critical")]


def test_table_full_without_netns_in_the_line_belongs_to_the_init_namespace() -> None:
    line = "[64802472.971773] nf_conntrack: table full, dropping packet"
    b = bundle(
        ev("kernel.dmesg", line),
        ev("proc.uptime", "64802480.0 1.0"),
        ev("netns.inode", "net:[4026532555]\n"),  # running inside some container's namespace
        ev("netns.init_inode", "net:[4026531992]\n"),
    )
    assert findings(run(b, {"conntrack.table_full"}), "conntrack.table_full") == []


def test_another_ovs_instance_does_not_make_an_idle_host_look_broken() -> None:
    """A lab or a second OVS with its own run directory runs; the system one is not started."""
    ps = (
        PS_STOPPED.splitlines()[0]
        + "\nroot 901 0.0 0.1 20000 8000 ? Ss 05:00 0:00 ovsdb-server /run/netsleuth-lab/x/conf.db"
        " --remote=punix:/run/netsleuth-lab/x/db.sock --pidfile\n"
    )
    err = (
        "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)"
    )
    b = bundle(ev("ps", ps), ev("ovs.vsctl_show", status=Status.ERROR, error=err))
    r = run(b, {"ovs.ovsdb_unreachable", "ovs.vswitchd_unresponsive"})
    assert r.findings == []
    assert "not running" in check(r, "ovs.ovsdb_unreachable")
    # the same error while the system's own ovsdb-server runs is the fault
    own = PS_STOPPED.splitlines()[0] + "\n" + PS_STOPPED.splitlines()[1] + "\n"
    r = run(
        bundle(ev("ps", own), ev("ovs.vsctl_show", status=Status.ERROR, error=err)), {"ovs.ovsdb_unreachable"}
    )
    assert [f.subject for f in r.findings] == ["ovsdb-server"]


def test_table_full_line_older_than_the_namespace_that_now_has_its_inode_is_not_its() -> None:
    """Inode numbers are reused once a namespace is gone: the lab saw a new namespace inherit the
    inode of one whose table had been full half an hour earlier."""
    from datetime import datetime

    taken = datetime.fromisoformat("2026-11-21T10:00:00+00:00").timestamp()
    line = "[ 1000.000000] nf_conntrack: nf_conntrack: table full in netns 4026532301, dropping packet"

    def diagnose(ns_age_s: float) -> list[str]:
        b = bundle(
            ev("kernel.dmesg", line),
            ev("proc.uptime", "2800.0 1.0"),  # the line is 1800 s old
            ev("netns.inode", f"4026532301 {int(taken - ns_age_s)}\n", netns="nslnode"),
            namespaces=["nslnode"],
        )
        return [f.severity for f in findings(run(b, {"conntrack.table_full"}), "conntrack.table_full")]

    assert diagnose(ns_age_s=60) == []  # created a minute ago: not the writer
    assert diagnose(ns_age_s=7200) == ["critical"]  # two hours old: its own table was full


def test_zombie_ovs_daemons_are_not_running_ovs() -> None:
    """A killed, not yet reaped daemon (`[ovsdb-server] <defunct>`) is no Open vSwitch here."""
    ps = (
        PS_STOPPED.splitlines()[0]
        + "\n"
        + (
            "root   701  0.0  0.0      0     0 ?        Zs   05:00   0:00 [ovsdb-server] <defunct>\n"
            "root   812  0.0  0.0      0     0 ?        Zs   05:01   0:00 [ovs-vswitchd] <defunct>\n"
        )
    )
    b = bundle(
        ev("ps", ps),
        ev("ovs.vsctl_show", status=Status.ERROR, source="ovs-vsctl show",
           error="ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)"),
    )  # fmt: skip
    r = run(b, {"ovs.ovsdb_unreachable"})
    assert not r.findings and "not running" in check(r, "ovs.ovsdb_unreachable")


# --- MTU through tunnels: route to the remote, and Neutron's OVS tunnel ports ----------------------

T = "core/ovs_tunnel/"


def _tunnel_bundle(vm_mtu: int | None = None) -> list:
    iface = fixture(T + "list_interface.json")
    if vm_mtu is not None:  # the same real rows, the VM port set to the MTU Neutron would give it
        import json

        doc = json.loads(iface)
        i_name, i_mtu = doc["headings"].index("name"), doc["headings"].index("mtu")
        for row in doc["data"]:
            if row[i_name] == "qvo1a2b3c4d-5e":
                row[i_mtu] = vm_mtu
        iface = json.dumps(doc)
    return [
        ev("ip.link", fixture(T + "ip_link.json")),
        ev("ip.route", fixture(T + "ip_route.json"), source="ip -j -d route show table all"),
        ev("ovs.vsctl_show", fixture(T + "vsctl_show.txt")),
        ev("ovs.bridge", fixture(T + "list_bridge.json")),
        ev("ovs.port", fixture(T + "list_port.json")),
        ev("ovs.interface", iface),
    ]


def test_ovs_vxlan_port_without_room_for_the_vm_port_mtu_names_the_vm_port() -> None:
    found = findings(run(bundle(*_tunnel_bundle()), {"mtu.mismatch"}), "mtu.mismatch")
    tun = [f for f in found if "OVS vxlan" in f.summary]
    assert len(tun) == 1
    f = tun[0]
    assert f.subject == "qvo1a2b3c4d-5e" and "eth1" in f.summary and "1451" in f.summary
    assert "mtu 1450" in f.remedy.now[0]
    assert any("10.77.1.2 via eth1" in e.excerpt for e in f.evidence)


def test_ovs_vxlan_with_vm_ports_at_1450_is_quiet() -> None:
    found = findings(run(bundle(*_tunnel_bundle(vm_mtu=1450)), {"mtu.mismatch"}), "mtu.mismatch")
    assert [f for f in found if "OVS vxlan" in f.summary] == []


def test_kernel_vxlan_without_dev_or_local_finds_its_underlay_by_the_route() -> None:
    b = bundle(
        ev("ip.link", fixture(T + "vxlan_by_route.ip_link.json")),
        ev("ip.route", fixture(T + "vxlan_by_route.ip_route.json")),
    )
    found = [f for f in findings(run(b, {"mtu.mismatch"}), "mtu.mismatch") if f.subject == "vxlan7"]
    assert len(found) == 1 and "eth1" in found[0].summary and "1451" in found[0].summary


def test_no_carrier_needs_the_link_down_in_both_samples() -> None:
    """A veth just brought up reads state DOWN for a moment: the second sample settles it."""
    fault, healthy = fixture("core/ns_host_fault.ip_link.json"), fixture("core/ns_host_healthy.ip_link.json")
    still_down = bundle(ev("ip.link", fault, later=fault, interval_s=1.0, netns=H), namespaces=[H])
    assert [f.subject for f in findings(run(still_down, {"nic.no_carrier"}), "nic.no_carrier")] == ["vethd"]
    # vethd is gone in the healthy capture; a link that is up in the second sample is not reported
    came_up = fault.replace(
        '"ifname":"vethd","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"]',
        '"ifname":"vethd","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"]',
    )
    assert came_up != fault and healthy
    settled = bundle(ev("ip.link", fault, later=came_up, interval_s=1.0, netns=H), namespaces=[H])
    assert findings(run(settled, {"nic.no_carrier"}), "nic.no_carrier") == []
