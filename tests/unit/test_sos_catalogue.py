"""Every sos form of every catalogue entry, table-driven: a sosreport-shaped tree holding the
output where sos writes it (with and without the manifest, on the host and in a namespace, in the
flat and the `namespaces/NS/` layout) gives the evidence the live collector gives for the same
output, and so the same diagnosis."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsleuth.analysis import analyse
from netsleuth.evidence.catalogue import Spec, catalogue
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.evidence.sosnames import mangle
from netsleuth.evidence.source import open_source
from netsleuth.parsers.docker import SAMPLE_PS
from netsleuth.parsers.sockets import SAMPLE_PROC_TCP, SAMPLE_SS_PEAONMI
from tests.helpers import FIXTURES, sos_tree

NS = "qrouter-5f1c0e2a-8d41-4c43-9a1e-2b7e0c9d4f10"


def _f(rel: str) -> str:
    return (FIXTURES / rel).read_text()


# one real output (or real file) per catalogue entry
SAMPLES: dict[str, str] = {
    "ip.link": _f("nic/machine_ip_s_d_link.txt"),
    "ip.addr": _f("core/ns_host_fault.ip_address.txt"),
    "ip.route": _f("sos/ip_route_show_table_all.txt"),
    "ip.route6": _f("sos/ip_-6_route_show_table_all.txt"),
    "ip.neigh": _f("sos/ip_-s_-s_neigh_show.txt"),
    "ip.rule": _f("sos/ip_-4_rule_list.txt"),
    "proc.net_dev": _f("nic/machine_proc_net_dev.txt"),
    "proc.softnet_stat": _f("nic/machine_softnet_stat.txt"),
    "proc.bonding": _f("nic/format_proc_net_bonding_bond2.txt"),
    "sysctl.net": _f("platform/sysctl_net_netfilter_machine.txt"),
    "conntrack.states": "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22 "
    "src=10.0.0.2 dst=10.0.0.1 sport=22 dport=1 [ASSURED] mark=0 use=1\n",
    "conntrack.stats": "cpu=0   \tfound=0 invalid=6914 ignore=283790 insert=0 insert_failed=0 drop=0 "
    "early_drop=0 error=0 search_restart=9916\n",
    "iptables.save": _f("platform/iptables_save_c_drops.txt"),
    "nft.ruleset": _f("platform/nft_list_drops.txt"),
    "sockets.listen": SAMPLE_SS_PEAONMI,
    "proc.net_sockets": SAMPLE_PROC_TCP,
    "etc.resolv_conf": "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.internal\n",
    "etc.nsswitch_conf": "passwd: files\nhosts: files dns\n",
    "etc.hosts": "127.0.0.1 localhost\n",
    "etc.dhclient_conf": "timeout 30;\n",
    "etc.sshd_config": "UseDNS yes\n",
    "etc.os_release": _f("sos/os-release.txt"),
    "ethtool.info": _f("nic/machine_ethtool_i_eth0.txt"),
    "ethtool.ring": _f("nic/machine_ethtool_g_eth0.txt"),
    "ethtool.features": _f("nic/machine_ethtool_k_eth0.txt"),
    "ethtool.stats": _f("nic/machine_ethtool_S_eth0.txt"),
    "kernel.dmesg": _f("seeds/seed001_dmesg_conntrack.txt"),
    "log.kernel": _f("nic/seed003_kernel_log_0915.txt"),
    "proc.uptime": _f("sos/uptime.txt"),
    "proc.loadavg": _f("platform/proc_loadavg.txt"),
    "proc.stat": _f("platform/proc_stat_1.txt"),
    "uname": _f("sos/uname_-a.txt"),
    "hostname": "compute4\n",
    "ps": _f("platform/ps_auxww_neutron_node.txt"),
    "ip.netns": f"{NS} (id: 0)\n",
    "df": _f("platform/df_PT.txt"),
    "environment": _f("platform/environment_umask0027.txt"),
    "ovs.vsctl_show": "b1c0e7a4-55d1-4a0b-8c2e-6f1a3d9e0b11\n    Bridge br-int\n        Port br-int\n"
    '            Interface br-int\n                type: internal\n    ovs_version: "2.17.9"\n',
    "ovs.list_br": "br-int\n",
    "ovs.open_vswitch": "_uuid               : b1c0e7a4-55d1-4a0b-8c2e-6f1a3d9e0b11\novs_version         : "
    '"2.17.9"\n',
    "ovs.bridge": "_uuid               : 7c3e\nname                : br-int\nports               : []\n",
    "ovs.port": "_uuid               : 9a1e\nname                : br-int\ninterfaces          : []\n",
    "ovs.interface": _f("nic/lab_ovs_list_interface.txt"),
    "ovs.dump_flows": " cookie=0x0, duration=5.1s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL\n",
    "ovs.dpctl_show": _f("nic/lab_ovs_dpctl_show_s.txt"),
    "ovs.vswitchd_version": "ovs-vswitchd (Open vSwitch) 2.17.9\n",
    "ovs.log_vswitchd": _f("seeds/seed000_ovsdb_server.log"),
    "ovs.log_ovsdb": _f("seeds/seed000_ovsdb_server.log"),
    "proc.meminfo": _f("sos/meminfo.txt"),
    "ifconfig": _f("nic/seed000_ifconfig_bond2.txt"),
    "proc.net_snmp": _f("nic/machine_proc_net_snmp.txt"),
    "ovs.bond_show": _f("nic/lab_ovs_bond_show_member_down.txt"),
    "iptables.list": _f("platform/iptables_vnxL_drops.txt"),
    "docker.containers": _f("platform/docker_inspect_drds.json"),
    "etc.login_defs": "UMASK\t\t027\n",
    "containers.docker": SAMPLE_PS,
    "containers.podman": SAMPLE_PS,
    "log.dnsmasq": _f("probes/dnsmasq-seed002.log"),
    "etc.ifcfg": _f("probes/ifcfg-eth0"),
    "etc.networkmanager_conf": "[main]\ndns=none\n",
    "etc.dhclient_hooks": "make_resolv_conf(){ :; }\n",
    "neutron.dhcp_leases": "1700000000 fa:16:3e:00:00:01 10.0.0.5 host-10-0-0-5 *\n",
}
OBJECT = {"nic": "eth0", "ovs_bridge": "br-int"}
GLOB_NAME = {"proc.bonding": "bond2", "docker.containers": "0a1b2c3d4e5f", "etc.ifcfg": "ifcfg-eth0",
             "etc.dhclient_hooks": "dhclient-enter-hooks", "neutron.dhcp_leases": "5f1c"}  # fmt: skip


def _forms() -> list[tuple[str, str, str]]:
    """(entry, "cmd" | "file", the sos command or file) for every sos form in the catalogue."""
    out = []
    for spec in catalogue().values():
        out += [(spec.name, "cmd", cmd) for cmd in spec.sos]
        out += [(spec.name, "file", f) for f in spec.sos_file]
    return out


FORMS = _forms()


def test_every_catalogue_entry_with_a_sos_form_has_a_sample() -> None:
    assert {name for name, _, _ in FORMS} == set(SAMPLES)


def _file_path(spec: Spec, pattern: str) -> tuple[str, str]:
    """A concrete file for a pattern, and the key the evidence gets."""
    if "*" in pattern:
        name = GLOB_NAME[spec.name]
        rel = pattern.replace("*", name, 1)
        return rel, Path(rel).name
    return pattern, Path(pattern).name if (spec.collector == "tail" or spec.each) else ""


def _placed(spec: Spec, kind: str, form: str, netns: str, layout: str) -> tuple[str, str, str]:
    """(file in the report, exec as the manifest records it, key of the evidence)."""
    if kind == "file":
        rel, key = _file_path(spec, form)
        return rel, "", key
    obj = OBJECT.get(spec.per, "")
    cmd = form.format(iface=obj, bridge=obj)
    ex = f"ip netns exec {netns} {cmd}" if netns else cmd
    plugin = spec.sos_plugin or "networking"
    sub = f"namespaces/{netns}/" if netns and layout == "subfolder" else ""
    return f"sos_commands/{plugin}/{sub}{mangle(ex)}", ex, obj


def _variants(spec: Spec, kind: str) -> list[tuple[str, str]]:
    """(namespace, layout) worth testing: sos runs commands inside namespaces (flat before sos 4.5,
    in namespaces/NS/ since); files it keeps of the host only."""
    if kind == "cmd" and spec.scope == "netns":
        return [(HOST, "flat"), (NS, "flat"), (NS, "subfolder")]
    return [(HOST, "flat")]


CASES = [
    pytest.param(
        name, kind, form, netns, layout, manifest, id=f"{name}:{form}:{netns and 'ns'}:{layout}:{manifest}"
    )
    for name, kind, form in FORMS
    for netns, layout in _variants(catalogue()[name], kind)
    for manifest in ((False, True) if kind == "cmd" else (False,))
]


def _pieces(b: Bundle, name: str, netns: str) -> list[Evidence]:
    return [ev for ev in b.items if ev.name == name and ev.netns == netns and ev.status is not Status.MISSING]


@pytest.mark.parametrize(("name", "kind", "form", "netns", "layout", "manifest"), CASES)
def test_sos_form_gives_the_live_evidence(
    tmp_path: Path, name: str, kind: str, form: str, netns: str, layout: str, manifest: bool
) -> None:
    spec = catalogue()[name]
    rel, ex, key = _placed(spec, kind, form, netns, layout)
    files = {rel: SAMPLES[name], "sos_commands/networking/ip_netns": f"{NS} (id: 0)\n"}
    execs = {ex: (rel, 0), "ip netns": ("sos_commands/networking/ip_netns", 0)} if manifest else None
    with open_source(sos_tree(tmp_path / "sosreport-x", files, execs), [netns] if netns else None) as b:
        got = _pieces(b, name, netns)
    assert [(ev.status, ev.key, ev.text) for ev in got] == [(Status.OK, key, SAMPLES[name])], got


def _live_shaped(name: str, netns: str, key: str) -> Bundle:
    """The bundle the live collector makes when the command printed the same text."""
    spec = catalogue()[name]
    b = Bundle(source="live", hostname="compute4", kernel="5.4.0-97-generic",
               collected_at="2022-02-10T16:19:05+00:00", namespaces=[netns])  # fmt: skip
    b.add(Evidence(name, Status.OK, text=SAMPLES[name], source=spec.live or spec.file, netns=netns, key=key))
    if name != "ip.netns":
        b.add(Evidence("ip.netns", Status.OK, text=f"{NS} (id: 0)\n", source="ip netns list"))
    return b


FIRST_FORMS = [
    pytest.param(name, kind, form, id=f"{name}:{form}")
    for name, kind, form in FORMS
    if form == (catalogue()[name].sos or catalogue()[name].sos_file)[0] or kind == "file"
]


@pytest.mark.parametrize(("name", "kind", "form"), FIRST_FORMS)
def test_sos_form_gives_the_live_diagnosis(tmp_path: Path, name: str, kind: str, form: str) -> None:
    """The same facts, so the same findings and the same checks passed, failed or skipped."""
    spec = catalogue()[name]
    netns = NS if spec.scope == "netns" and kind == "cmd" else HOST
    rel, _, key = _placed(spec, kind, form, netns, "flat")
    files = {rel: SAMPLES[name], "sos_commands/networking/ip_netns": f"{NS} (id: 0)\n",
             "sos_commands/date/date_--utc": "Thu Feb 10 16:19:05 UTC 2022\n"}  # fmt: skip
    root = sos_tree(tmp_path / "sosreport-x", files)
    with open_source(root, [netns] if netns else None) as b:
        b.hostname, b.kernel = "compute4", "5.4.0-97-generic"
        offline = analyse(b)
    live = analyse(_live_shaped(name, netns, key))

    def verdict(r):  # type: ignore[no-untyped-def]
        return (
            # a subject may be a file: /etc/x live, etc/x inside a report
            sorted((f.id, f.subject.lstrip("/"), f.netns, f.severity) for f in r.findings),
            sorted((c.id, c.netns, c.status) for c in r.checks),
        )

    assert verdict(offline) == verdict(live)
