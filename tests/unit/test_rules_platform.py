"""Platform rules (Neutron, firewall, conntrack timeouts, kernel, host, containers) on real outputs:
captures from the test machine (tests/fixtures/platform/capture*.sh) and seed quotes."""

from __future__ import annotations

from pathlib import Path

from netsleuth.evidence.model import HOST, Status
from netsleuth.evidence.source import open_source
from tests.helpers import bundle, check, ev, findings, fixture, run, sos_tree

P = "platform/"
NS = "nsiptx"


def _user(name: str) -> object:
    return ev("user.input", fixture(P + name), key=name, source=f"tests/fixtures/platform/{name}")


# --- firewall.drops_service ------------------------------------------------------------------------


def test_firewall_iptables_drops_dhcp_dns_and_vxlan_of_this_namespace() -> None:
    b = bundle(
        ev("iptables.save", fixture(P + "iptables_save_c_drops.txt"), netns=NS, source="iptables-save -c"),
        ev("sockets.listen", fixture(P + "ss_listen_dnsmasq.txt"), netns=NS),
        ev("ip.link", fixture(P + "ip_j_d_link_vxlan.json"), netns=NS),
        namespaces=[NS],
    )
    found = findings(run(b, {"firewall.drops_service"}), "firewall.drops_service")
    assert sorted(f.subject for f in found) == ["udp/4789 (VXLAN)", "udp/53 (DNS)", "udp/67 (DHCP)"]
    dhcp = next(f for f in found if f.subject == "udp/67 (DHCP)")
    assert dhcp.netns == NS and dhcp.severity == "warning"
    assert dhcp.evidence[0].source == "iptables-save -c"
    assert dhcp.evidence[0].excerpt == "-A INPUT -p udp -m udp --dport 67 -j DROP"
    assert "dnsmasq" in dhcp.evidence[1].excerpt and "1 packets, 48 bytes" in dhcp.summary
    assert dhcp.remedy.now == [
        f"ip netns exec {NS} iptables -t filter -D INPUT -p udp -m udp --dport 67 -j DROP"
    ]
    assert "vxlan42" in next(f for f in found if "4789" in f.subject).evidence[1].excerpt


def test_firewall_nft_json_names_handle_and_reject() -> None:
    b = bundle(
        ev("iptables.save", status=Status.MISSING, error="iptables-save: not installed", netns=NS),
        ev("nft.ruleset", fixture(P + "nft_j_drops.json"), netns=NS, source="nft -j list ruleset"),
        ev("sockets.listen", fixture(P + "ss_listen_dnsmasq.txt"), netns=NS),
        namespaces=[NS],
    )
    found = {f.subject: f for f in findings(run(b, {"firewall.drops_service"}), "firewall.drops_service")}
    assert set(found) == {"udp/67 (DHCP)", "udp/53 (DNS)"}  # 4789 is accepted, nothing listens on 22
    assert found["udp/67 (DHCP)"].remedy.now == [
        f"ip netns exec {NS} nft delete rule inet filter input handle 4"
    ]
    assert "REJECT" in found["udp/53 (DNS)"].title


def test_firewall_accepting_rules_are_quiet_and_a_missing_listing_is_skipped() -> None:
    quiet = bundle(
        ev("iptables.save", fixture(P + "iptables_save_c_healthy.txt"), netns=NS),
        ev("nft.ruleset", fixture(P + "nft_j_healthy.json"), netns=NS),
        ev("sockets.listen", fixture(P + "ss_listen_dnsmasq.txt"), netns=NS),
        namespaces=[NS],
    )
    report = run(quiet, {"firewall.drops_service"})
    assert findings(report, "firewall.drops_service") == []
    assert check(report, "firewall.drops_service", NS).startswith("pass")
    gone = bundle(
        ev("iptables.save", status=Status.MISSING, error="iptables-save: not installed"),
        ev("nft.ruleset", status=Status.DENIED, error="nft: permission denied"),
        ev("sockets.listen", fixture(P + "ss_listen_dnsmasq.txt")),
    )
    assert check(run(gone, {"firewall.drops_service"}), "firewall.drops_service").startswith(
        "skipped: no firewall listing"
    )


def test_firewall_through_a_sosreport_with_iptables_vnxL_and_ps(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "sos_commands/networking/iptables_-vnxL": fixture(P + "iptables_vnxL_drops.txt"),
            "sos_commands/process/ps_auxwww": fixture(P + "ps_auxww_dnsmasq.txt"),
        },
    )
    with open_source(root) as b:
        found = findings(run(b, {"firewall.drops_service"}), "firewall.drops_service")
    # no sockets in this sosreport: the running dnsmasq (--dhcp-range) says DHCP and DNS are served
    assert sorted(f.subject for f in found) == ["udp/53 (DNS)", "udp/67 (DHCP)"]
    assert found[0].evidence[0].source == "sos_commands/networking/iptables_-vnxL"
    assert "iptables -t filter -L INPUT -n --line-numbers" in found[0].remedy.now[0]


# --- neutron.agent_down ----------------------------------------------------------------------------


def test_agent_down_from_the_agent_list_names_agent_and_host_but_not_a_disabled_one() -> None:
    found = findings(run(bundle(_user("agents_l3_down.json")), {"neutron.agent_down"}), "neutron.agent_down")
    assert [(f.subject, f.severity) for f in found] == [("L3 agent on network1", "critical")]
    assert '"Alive": false' in found[0].evidence[0].excerpt
    assert "systemctl restart neutron-l3-agent" in found[0].remedy.now


def test_agent_down_inferred_from_namespaces_without_their_agents() -> None:
    b = bundle(
        ev("ip.netns", fixture(P + "ip_netns_neutron.txt")), ev("ps", fixture(P + "ps_auxww_plain.txt"))
    )
    found = {f.subject: f for f in findings(run(b, {"neutron.agent_down"}), "neutron.agent_down")}
    assert set(found) == {"neutron-l3-agent", "neutron-dhcp-agent"}
    assert "qrouter-8b2da56316-1c3e-4f5a-a6b7-c8d9e0f1a2b3" in found["neutron-l3-agent"].summary
    assert "qdhcp-3f1ca56316" in found["neutron-dhcp-agent"].evidence[0].excerpt


def test_agent_down_quiet_on_a_healthy_node_and_dnsmasq_missing_for_one_network() -> None:
    healthy = bundle(
        ev("ip.netns", fixture(P + "ip_netns_neutron_node.txt")),
        ev("ps", fixture(P + "ps_auxww_neutron_node.txt")),
    )
    report = run(healthy, {"neutron.agent_down"})
    assert findings(report, "neutron.agent_down") == []
    assert check(report, "neutron.agent_down").startswith("pass")
    extra = fixture(P + "ip_netns_neutron_node.txt") + "qdhcp-77aa0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6 (id: 9)\n"
    b = bundle(ev("ip.netns", extra), ev("ps", fixture(P + "ps_auxww_neutron_node.txt")))
    found = findings(run(b, {"neutron.agent_down"}), "neutron.agent_down")
    assert [f.subject for f in found] == ["qdhcp-77aa0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"]


def test_agent_down_skipped_without_agent_list_or_namespaces() -> None:
    b = bundle(ev("ip.netns", status=Status.MISSING, error="ip: not installed"))
    assert check(run(b, {"neutron.agent_down"}), "neutron.agent_down").startswith(
        "skipped: needs the agent list"
    )


def test_agent_down_through_a_sosreport(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "sos_commands/networking/ip_netns": fixture(P + "ip_netns_neutron.txt"),
            "sos_commands/process/ps_auxwww": fixture(P + "ps_auxww_plain.txt"),
        },
    )
    with open_source(root) as b:
        found = findings(run(b, {"neutron.agent_down"}), "neutron.agent_down")
    assert {f.subject for f in found} == {"neutron-l3-agent", "neutron-dhcp-agent"}


# --- neutron.floating_ip_orphan --------------------------------------------------------------------


def test_floating_ip_of_a_deleted_instance_gives_the_seed_sql() -> None:
    found = findings(
        run(bundle(_user("nova_dump_orphan.sql")), {"neutron.floating_ip_orphan"}),
        "neutron.floating_ip_orphan",
    )
    assert [f.subject for f in found] == ["203.0.113.30"]
    assert "d9c4c2a0-5b1e-4f5e-9f0a-1c2b3d4e5f60 (web-01) is deleted" in found[0].summary
    assert any(
        "update floating_ips set fixed_ip_id = NULL, host = NULL where fixed_ip_id = '7'" in c
        for c in found[0].remedy.now
    )


def test_floating_ip_api_json_against_server_list() -> None:
    b = bundle(_user("floatingips_api.json"), _user("servers_api.json"))
    found = findings(run(b, {"neutron.floating_ip_orphan"}), "neutron.floating_ip_orphan")
    assert [f.subject for f in found] == ["203.0.113.40"]
    assert "openstack floating ip unset --port 2f0c1b7e-8d4a-4c55-9b1e-7a3f2d6c5b40" in found[0].remedy.now


def test_floating_ip_healthy_quiet_and_missing_skipped() -> None:
    report = run(bundle(_user("nova_dump_healthy.sql")), {"neutron.floating_ip_orphan"})
    assert findings(report, "neutron.floating_ip_orphan") == []
    assert check(report, "neutron.floating_ip_orphan").startswith("pass")
    report = run(bundle(_user("agents_l3_down.json")), {"neutron.floating_ip_orphan"})
    assert check(report, "neutron.floating_ip_orphan").startswith("skipped: no floating IP rows given")


def test_floating_ip_through_a_sosreport_with_the_dump_passed(tmp_path: Path) -> None:
    root = sos_tree(tmp_path / "sos", {"hostname": "controller1\n"})
    with open_source(root) as b:
        b.add(_user("nova_dump_orphan.sql"))  # type: ignore[arg-type]
        found = findings(run(b, {"neutron.floating_ip_orphan"}), "neutron.floating_ip_orphan")
    assert [f.subject for f in found] == ["203.0.113.30"]


# --- conntrack.timeouts_long -----------------------------------------------------------------------


def _sysctl(count: int, cmax: int, established: int) -> str:
    """This machine's real `sysctl -a -r ^net.netfilter`, with count/max/timeout set to the case's."""
    out = []
    for line in fixture(P + "sysctl_net_netfilter_machine.txt").splitlines():
        key = line.split(" = ")[0]
        val = {
            "net.netfilter.nf_conntrack_count": count,
            "net.netfilter.nf_conntrack_max": cmax,
            "net.netfilter.nf_conntrack_tcp_timeout_established": established,
        }.get(key)
        out.append(f"{key} = {val}" if val is not None else line)
    return "\n".join(out) + "\n"


def test_timeouts_long_with_seed_001_histogram_and_old_kernel_hashsize() -> None:
    b = bundle(
        ev("sysctl.net", _sysctl(258540, 524288, 432000)),
        ev(
            "conntrack.states", fixture("seeds/seed001_conntrack_states.txt"), source="/proc/net/nf_conntrack"
        ),
        kernel="3.10.0-327.22.2.el7.x86_64",
    )
    found = findings(run(b, {"conntrack.timeouts_long"}), "conntrack.timeouts_long")
    assert len(found) == 1 and found[0].severity == "info"
    assert "246265 of 258540" in found[0].summary and "432000" in found[0].summary
    now = "\n".join(found[0].remedy.now)
    assert "nf_conntrack_tcp_timeout_established=3600" in now and "time_wait=30" in now
    assert "/sys/module/nf_conntrack/parameters/hashsize" in found[0].remedy.notes


def test_timeouts_long_quiet_with_seed_001_tuned_values_and_skipped_without_histogram() -> None:
    tuned = bundle(
        ev("sysctl.net", _sysctl(258540, 2097152, 3600)),
        ev("conntrack.states", fixture("seeds/seed001_conntrack_states.txt")),
    )
    report = run(tuned, {"conntrack.timeouts_long"})
    assert findings(report, "conntrack.timeouts_long") == [] and check(
        report, "conntrack.timeouts_long"
    ).startswith("pass")
    bare = bundle(
        ev("sysctl.net", _sysctl(258540, 524288, 432000)),
        ev("conntrack.states", status=Status.DENIED, error="permission denied"),
    )
    assert check(run(bare, {"conntrack.timeouts_long"}), "conntrack.timeouts_long").startswith("skipped")


def test_timeouts_long_through_a_sosreport(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "sos_commands/kernel/sysctl_-a": _sysctl(258540, 524288, 432000),
            "proc/net/nf_conntrack": "".join(
                f"ipv4     2 tcp      6 431999 {s} src=10.0.0.{i % 200} dst=10.0.1.1 sport={1000 + i} dport=80\n"
                for s, n in (("ESTABLISHED", 120), ("TIME_WAIT", 30))
                for i in range(n)
            ),
            "uname": "Linux compute1 3.10.0-327.22.2.el7.x86_64 #1 SMP x86_64 GNU/Linux\n",
        },
    )
    with open_source(root) as b:
        found = findings(run(b, {"conntrack.timeouts_long"}), "conntrack.timeouts_long")
    assert len(found) == 1 and "120 of 150" in found[0].summary
    assert found[0].evidence[-1].source == "proc/net/nf_conntrack"


# --- kernel.cpu_stall ------------------------------------------------------------------------------

SEED003_MIGRATION = fixture(P + "seed003_kernel_log_0915.txt")


def test_cpu_stall_recent_soft_lockup_and_migration_stack_is_critical() -> None:
    # dmesg as the seed-003 host would print it 60 s after the stack: uptime 598406 s
    dmesg = "\n".join(ln.split("kernel: ", 1)[1] for ln in SEED003_MIGRATION.splitlines() if "kernel: " in ln)
    dmesg += "\n[598346.400001] NMI watchdog: BUG: soft lockup - CPU#10 stuck for 22s! [migration/10:123]\n"
    b = bundle(ev("kernel.dmesg", dmesg, source="dmesg"), ev("proc.uptime", "598406.00 7000000.00\n"))
    found = findings(run(b, {"kernel.cpu_stall"}), "kernel.cpu_stall")
    assert [(f.subject, f.severity) for f in found] == [("CPU 10", "critical")]
    assert "soft_lockup x1" in found[0].summary and "migration_stuck x1" in found[0].summary
    assert any("Comm: migration/10" in e.excerpt for e in found[0].evidence)


def test_cpu_stall_seed_lines_from_2017_are_only_info() -> None:
    b = bundle(
        ev("log.kernel", SEED003_MIGRATION, key="kernel_log.0915", source="/var/log/kernel_log.0915"),
        ev("proc.loadavg", fixture(P + "proc_loadavg.txt")),
        ev("proc.stat", fixture(P + "proc_stat_1.txt"), later=fixture(P + "proc_stat_2.txt"), interval_s=1.0),
    )
    found = findings(run(b, {"kernel.cpu_stall"}), "kernel.cpu_stall")
    assert [(f.subject, f.severity) for f in found] == [("CPU 10", "info")]
    assert "days ago" in found[0].summary


def test_cpu_stall_load_high_while_idle_without_log_is_only_info() -> None:
    """Without stuck-CPU stacks the paradox is as likely I/O wait or a lagging 1-min average
    (the lab's busy baselines raised it): worth knowing, not a warning."""
    # the machine's real /proc/stat samples (idle), with the load average of a stuck core's queue
    b = bundle(
        ev("proc.loadavg", "6.02 5.11 3.40 9/131 23514\n"),
        ev("proc.stat", fixture(P + "proc_stat_1.txt"), later=fixture(P + "proc_stat_2.txt"), interval_s=1.0),
        ev("kernel.dmesg", "[    0.000000] Linux version 6.18.44\n"),
        ev("proc.uptime", "500.0 900.0\n"),
    )
    r = run(b, {"kernel.cpu_stall"})
    found = findings(r, "kernel.cpu_stall")
    assert [(f.subject, f.severity) for f in found] == [("CPUs", "info")]
    assert "6.02" in found[0].title and "2 CPUs" in found[0].title
    assert r.exit_code() == 0


def test_cpu_stall_paradox_now_with_old_stuck_stacks_is_a_warning() -> None:
    b = bundle(
        ev("proc.loadavg", "6.02 5.11 3.40 9/131 23514\n"),
        ev("proc.stat", fixture(P + "proc_stat_1.txt"), later=fixture(P + "proc_stat_2.txt"), interval_s=1.0),
        ev(
            "kernel.dmesg",
            "[  100.000000] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [migration/1:16]\n",
        ),
        ev("proc.uptime", "90000.0 900.0\n"),
    )
    found = findings(run(b, {"kernel.cpu_stall"}), "kernel.cpu_stall")
    assert [(f.subject, f.severity) for f in found] == [("CPU 1", "warning")]


def test_cpu_stall_quiet_on_this_machine_and_skipped_without_evidence() -> None:
    b = bundle(
        ev("proc.loadavg", fixture(P + "proc_loadavg.txt")),
        ev("proc.stat", fixture(P + "proc_stat_1.txt"), later=fixture(P + "proc_stat_2.txt"), interval_s=1.0),
        ev("kernel.dmesg", "[    0.000000] Linux version 6.18.44\n"),
        ev("proc.uptime", "500.0 900.0\n"),
    )
    report = run(b, {"kernel.cpu_stall"})
    assert findings(report, "kernel.cpu_stall") == [] and check(report, "kernel.cpu_stall").startswith("pass")
    none = bundle(
        ev("proc.loadavg", status=Status.MISSING, error="no such file"),
        ev("kernel.dmesg", status=Status.DENIED, error="dmesg: read kernel buffer failed"),
    )
    assert check(run(none, {"kernel.cpu_stall"}), "kernel.cpu_stall").startswith("skipped")


def test_cpu_stall_through_a_sosreport(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {"var/log/messages": SEED003_MIGRATION, "proc/loadavg": fixture(P + "proc_loadavg.txt")},
    )
    with open_source(root) as b:
        found = findings(run(b, {"kernel.cpu_stall"}), "kernel.cpu_stall")
    assert [(f.subject, f.severity) for f in found] == [("CPU 10", "info")]


# --- host.* ----------------------------------------------------------------------------------------


def test_umask_0027_and_short_path_of_the_deploying_user() -> None:
    b = bundle(
        ev(
            "environment",
            fixture(P + "environment_umask0027.txt"),
            source="environment of the netsleuth process",
        )
    )
    report = run(b, {"host.umask_restrictive", "host.path_incomplete"})
    (um,) = findings(report, "host.umask_restrictive")
    assert um.subject == "umask 0027" and "0640" in um.summary and um.evidence[0].excerpt == "UMASK=0027"
    (pa,) = findings(report, "host.path_incomplete")
    assert "/usr/sbin /sbin" in pa.title and pa.remedy.now[0].endswith(":/usr/sbin:/sbin")


def test_umask_and_path_quiet_when_healthy_and_skipped_when_missing() -> None:
    report = run(
        bundle(ev("environment", fixture(P + "environment_ok.txt"))),
        {"host.umask_restrictive", "host.path_incomplete"},
    )
    assert report.findings == []
    gone = run(
        bundle(ev("environment", status=Status.MISSING, error="not in this sosreport")),
        {"host.umask_restrictive", "host.path_incomplete"},
    )
    assert check(gone, "host.umask_restrictive").startswith("skipped: environment: missing")
    assert check(gone, "host.path_incomplete").startswith("skipped: environment: missing")


def test_umask_from_a_sosreport_login_defs_and_env_without_umask(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "environment": "HOME=/root\nPATH=/usr/local/bin:/usr/bin:/bin\nLANG=zh_CN.UTF-8\n",
            "etc/login.defs": "PASS_MAX_DAYS\t99999\nUMASK\t\t077\nUSERGROUPS_ENAB yes\n",
        },
    )
    with open_source(root) as b:
        report = run(b, {"host.umask_restrictive", "host.path_incomplete"})
    assert [f.subject for f in findings(report, "host.umask_restrictive")] == ["umask 0077"]
    assert [f.subject for f in findings(report, "host.path_incomplete")] == ["PATH"]


def test_disk_filling_between_two_real_df_samples_names_the_mount() -> None:
    first, second = fixture(P + "df_PT_filling_1.txt"), fixture(P + "df_PT_filling_2.txt")
    mount = next(ln.split()[-1] for ln in second.splitlines() if ln.startswith("/dev/loop"))
    found = findings(
        run(bundle(ev("df", first, later=second, interval_s=1.0, source="df -PT")), {"host.disk_filling"}),
        "host.disk_filling",
    )
    assert [f.subject for f in found] == [mount]
    assert "60%" in found[0].evidence[0].excerpt and "/s" in found[0].summary


def test_disk_filling_one_sample_92_percent_and_healthy_df_is_quiet() -> None:
    full = findings(
        run(bundle(ev("df", fixture(P + "df_PT_filling_2.txt"))), {"host.disk_filling"}), "host.disk_filling"
    )
    assert len(full) == 1 and full[0].title.endswith("92% full") and "not measured" in full[0].summary
    report = run(bundle(ev("df", fixture(P + "df_PT.txt"))), {"host.disk_filling"})  # tmpfs at 0%, / at 22%
    assert report.findings == [] and check(report, "host.disk_filling").startswith("pass")
    assert check(
        run(bundle(ev("df", status=Status.TIMEOUT, error="killed after 5 s")), {"host.disk_filling"}),
        "host.disk_filling",
    ).startswith("skipped: df: timeout")


def test_disk_filling_through_a_sosreport(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos", {"sos_commands/filesys/df_-al_-x_autofs": fixture(P + "df_PT_filling_2.txt")}
    )
    with open_source(root) as b:
        found = findings(run(b, {"host.disk_filling"}), "host.disk_filling")
    assert len(found) == 1 and found[0].subject.startswith("/tmp/nslhost")


# --- container.cpu_shares_misfit -------------------------------------------------------------------


def test_cpu_shares_128_on_a_host_of_two_cpus_is_info(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "sos_commands/docker/containers/docker_inspect_8f3a": fixture(P + "docker_inspect_drds.json"),
            "sos_commands/docker/containers/docker_inspect_9b1c": fixture(P + "docker_inspect_default.json"),
            "proc/stat": fixture(P + "proc_stat_1.txt"),
        },
    )
    with open_source(root) as b:
        found = findings(run(b, {"container.cpu_shares_misfit"}), "container.cpu_shares_misfit")
    assert [(f.subject, f.severity) for f in found] == [("drds-server-1", "info")]
    assert "cpu-shares 128" in found[0].summary and "0.25 of 2 cores" in found[0].summary


def test_cpu_shares_default_quiet_and_docker_absent_skipped() -> None:
    ok = bundle(ev("docker.containers", fixture(P + "docker_inspect_default.json")))
    report = run(ok, {"container.cpu_shares_misfit"})
    assert report.findings == [] and check(report, "container.cpu_shares_misfit").startswith("pass")
    gone = bundle(
        ev(
            "docker.containers",
            status=Status.ERROR,
            error="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
        )
    )
    assert "Docker daemon" in check(run(gone, {"container.cpu_shares_misfit"}), "container.cpu_shares_misfit")


def test_zh_messages_fill_the_real_names() -> None:
    b = bundle(ev("environment", fixture(P + "environment_umask0027.txt")))
    (f,) = findings(run(b, {"host.umask_restrictive"}, lang="zh"), "host.umask_restrictive")
    assert f.title.startswith("umask 0027：") and "部署" in f.title
    assert HOST == ""


def test_disk_filling_a_one_second_burst_on_a_roomy_disk_is_quiet_a_steady_rate_is_not() -> None:
    """24 MB written in the second between two samples, 80 GB free: a package install, not a flood
    (CI boxes raised it); the same rate held over a 30-s cycle (watch) fills it within the hour."""
    first = fixture(P + "df_PT_filling_1.txt")
    line = next(ln for ln in first.splitlines() if ln.endswith(" /"))
    grown = line.replace("23554632  82836280", "23579208  82811704")  # +24,576 KB
    second = first.replace(line, grown)
    burst = run(bundle(ev("df", first, later=second, interval_s=1.0)), {"host.disk_filling"})
    assert findings(burst, "host.disk_filling") == []
    steady = first.replace(line, line.replace("23554632  82836280", "24291912  82099000"))  # 30 s of it
    held = run(bundle(ev("df", first, later=steady, interval_s=30.0)), {"host.disk_filling"})
    assert [f.subject for f in findings(held, "host.disk_filling")] == ["/"]
