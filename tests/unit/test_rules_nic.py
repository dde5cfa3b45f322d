"""NIC/driver rules on real outputs: seed 000/003 quotes, captures from a test machine, and
sosreport-shaped directories (the offline evidence paths)."""

from __future__ import annotations

import json
from pathlib import Path

from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from tests.helpers import bundle, check, ev, findings, fixture, run, sos_tree

LINK_JSON = fixture("nic/machine_ip_j_d_s_s_link.json")
UPTIME_30D = "2592000.00 5000000.00"
CENTOS = 'NAME="CentOS Linux"\nID="centos"\nID_LIKE="rhel fedora"\n'


def links_json(rename: dict[str, str] | None = None, bump: dict[str, dict[str, int]] | None = None) -> str:
    """The test machine's `ip -j -d -s -s link`, with interfaces renamed and RX counters raised
    (to build the second sample of a live collection)."""
    data = json.loads(LINK_JSON)
    for d in data:
        for k, v in (bump or {}).get(d["ifname"], {}).items():
            d["stats64"]["rx"][k] += v
        d["ifname"] = (rename or {}).get(d["ifname"], d["ifname"])
    return json.dumps(data)


def ring_text(nic: str, current: int, maximum: int) -> str:
    """The seed-000 `ethtool -g` layout for another NIC/size."""
    return (
        fixture("nic/seed000_ethtool_g_p6p2.txt")
        .replace("p6p2", nic)
        .replace("RX: 4078", f"RX: {maximum}", 1)
        .replace("RX: 453", f"RX: {current}")
    )


def live(*extra, first=None, later=None, ring=None):  # type: ignore[no-untyped-def]
    return bundle(
        ev(
            "ip.link",
            first or links_json({"eth0": "p6p2"}),
            later=later,
            interval_s=1.0,
            source="ip -j -d -s -s link show",
        ),
        ev("proc.uptime", UPTIME_30D),
        ev("etc.os_release", CENTOS),
        *([ev("ethtool.ring", ring, key="p6p2", source="ethtool -g p6p2")] if ring else []),
        *extra,
    )


# --- nic.rx_ring_small --------------------------------------------------------------------------


def test_rx_ring_small_fires_when_missed_rises_and_ring_has_headroom() -> None:
    later = links_json({"eth0": "p6p2"}, {"eth0": {"missed_errors": 40, "dropped": 40}})
    r = run(live(later=later, ring=fixture("nic/seed000_ethtool_g_p6p2.txt")), {"nic.rx_ring_small"})
    [f] = findings(r, "nic.rx_ring_small")
    assert f.subject == "p6p2" and f.severity == "warning"
    assert "ethtool -G p6p2 rx 4078" in f.remedy.now
    assert any('ETHTOOL_OPTS="-G p6p2 rx 4078"' in p for p in f.remedy.persist)
    assert any("RX: 453" in e.excerpt for e in f.evidence)
    assert "in 1.0 s" in f.summary


def test_rx_ring_small_quiet_when_counters_do_not_move() -> None:
    same = links_json({"eth0": "p6p2"}, {"eth0": {"missed_errors": 5000}})  # large totals, no change
    r = run(
        live(first=same, later=same, ring=fixture("nic/seed000_ethtool_g_p6p2.txt")), {"nic.rx_ring_small"}
    )
    assert findings(r, "nic.rx_ring_small") == []
    assert check(r, "nic.rx_ring_small").startswith("pass")


def test_rx_ring_small_quiet_when_ring_at_maximum() -> None:
    later = links_json(bump={"eth0": {"missed_errors": 40}})
    b = live(
        ev("ethtool.ring", fixture("nic/machine_ethtool_g_eth0.txt"), key="eth0"),
        first=links_json(),
        later=later,
    )
    r = run(b, {"nic.rx_ring_small", "nic.rx_drops"})
    assert findings(r, "nic.rx_ring_small") == []
    [f] = findings(r, "nic.rx_drops")  # rising, but the ring cannot grow: the other rule says it
    assert f.subject == "eth0" and "256 of 256" in f.summary


def test_rx_ring_small_skipped_without_ethtool_ring() -> None:
    r = run(live(later=links_json({"eth0": "p6p2"})), {"nic.rx_ring_small"})
    assert check(r, "nic.rx_ring_small").startswith("skipped: ethtool.ring")


def test_rx_ring_small_seed000_sosreport_bond2_to_p6p2(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sosreport-compute1",
        {
            "sos_commands/networking/ifconfig_-a": fixture("nic/seed000_ifconfig_bond2.txt"),
            "sos_commands/networking/ethtool_-g_p6p2": fixture("nic/seed000_ethtool_g_p6p2.txt"),
            "proc/net/bonding/bond2": fixture("nic/format_proc_net_bonding_bond2.txt"),
            "proc/uptime": UPTIME_30D,
            "etc/os-release": CENTOS,
        },
    )
    with open_source(root) as b:
        r = run(b, {"nic.rx_ring_small"})
    [f] = findings(r, "nic.rx_ring_small")
    assert f.subject == "p6p2" and "bond2" in f.summary
    assert "since boot" in f.summary and "one sample only" in f.summary
    assert any("dropped:1892018 overruns:8394" in e.excerpt for e in f.evidence)
    assert any(e.source == "sos_commands/networking/ifconfig_-a" for e in f.evidence)
    assert "ethtool -G p6p2 rx 4078" in f.remedy.now
    assert f.seed == "000"


def test_rx_ring_small_zh_text() -> None:
    later = links_json({"eth0": "p6p2"}, {"eth0": {"missed_errors": 40}})
    r = run(
        live(later=later, ring=fixture("nic/seed000_ethtool_g_p6p2.txt")), {"nic.rx_ring_small"}, lang="zh"
    )
    [f] = findings(r, "nic.rx_ring_small")
    assert "接收丢包" in f.title and "4078" in f.title


# --- nic.rx_drops -------------------------------------------------------------------------------


def test_rx_drops_softnet_backlog_rising() -> None:
    first = fixture("nic/machine_softnet_stat.txt")
    cols = first.splitlines()[1].split()
    cols[1] = f"{int(cols[1], 16) + 25:08x}"  # CPU 1 dropped 25 frames from a full backlog
    later = first.splitlines()[0] + "\n" + " ".join(cols) + "\n"
    b = live(
        ev("proc.softnet_stat", first, later=later, interval_s=1.0, source="/proc/net/softnet_stat"),
        ev("sysctl.net", "net.core.netdev_max_backlog = 1000\nnet.core.netdev_budget = 300\n"),
        first=links_json(),
        later=links_json(),
    )
    r = run(b, {"nic.rx_drops"})
    [f] = findings(r, "nic.rx_drops")
    assert f.subject == "softnet backlog" and "CPU 1" in f.summary
    assert "sysctl -w net.core.netdev_max_backlog=10000" in f.remedy.now


def test_rx_drops_quiet_on_the_test_machine_as_captured() -> None:
    sn = fixture("nic/machine_softnet_stat.txt")
    b = live(
        ev("proc.softnet_stat", sn, later=sn, interval_s=1.0),
        ev("ethtool.ring", fixture("nic/machine_ethtool_g_eth0.txt"), key="eth0"),
        first=links_json(),
        later=links_json(),
    )
    r = run(b, {"nic.rx_drops"})
    assert findings(r, "nic.rx_drops") == [] and check(r, "nic.rx_drops").startswith("pass")


def test_rx_drops_ignores_veth_and_virbr() -> None:
    data = json.loads(LINK_JSON)
    veth = dict(data[-1], ifname="veth1a2b", ifindex=90, linkinfo={"info_kind": "veth"})
    virbr = dict(data[-1], ifname="virbr0", ifindex=91, linkinfo={"info_kind": "bridge"})
    first = json.dumps([*data, veth, virbr])
    for d in (veth, virbr):
        d["stats64"] = json.loads(json.dumps(d["stats64"]))
        d["stats64"]["rx"]["dropped"] += 500
    later = json.dumps([*data, veth, virbr])
    r = run(live(first=first, later=later), {"nic.rx_drops"})
    assert findings(r, "nic.rx_drops") == []


def test_rx_drops_skipped_without_counters() -> None:
    b = bundle(
        ev("ip.link", status=Status.MISSING, error="not in this sosreport"),
        ev("proc.net_dev", status=Status.MISSING),
        ev("ifconfig", status=Status.MISSING),
    )
    r = run(b, {"nic.rx_drops"})
    assert check(r, "nic.rx_drops").startswith("skipped: no interface counters")


def test_rx_drops_sosreport_net_dev_average_since_boot(tmp_path: Path) -> None:
    dev = fixture("nic/machine_proc_net_dev.txt").replace(
        "  eth0: 68787465    1938    0    0", "  eth0: 68787465    1938    0 900000"
    )
    root = sos_tree(
        tmp_path / "sos",
        {
            "proc/net/dev": dev,
            "sos_commands/networking/ethtool_-g_eth0": fixture("nic/machine_ethtool_g_eth0.txt"),
            "proc/uptime": UPTIME_30D,
        },
    )
    with open_source(root) as b:
        r = run(b, {"nic.rx_drops", "nic.rx_ring_small"})
    [f] = findings(r, "nic.rx_drops")
    assert f.subject == "eth0" and "since boot" in f.summary
    assert any(e.source == "proc/net/dev" for e in f.evidence)
    assert findings(r, "nic.rx_ring_small") == []


# --- nic.offload_suspect ------------------------------------------------------------------------

STATS_CSUM = "NIC statistics:\n     rx_packets: 1000\n     rx_csum_err: 0\n     tx_timeout_count: 0\n"


def test_offload_suspect_csum_errors_rising_with_offload_on() -> None:
    later = STATS_CSUM.replace("rx_csum_err: 0", "rx_csum_err: 17")
    b = live(
        ev(
            "ethtool.features",
            fixture("nic/machine_ethtool_k_eth0.txt").replace("eth0", "p6p2"),
            key="p6p2",
            source="ethtool -k p6p2",
        ),
        ev("ethtool.stats", STATS_CSUM, later=later, interval_s=1.0, key="p6p2", source="ethtool -S p6p2"),
    )
    r = run(b, {"nic.offload_suspect"})
    [f] = findings(r, "nic.offload_suspect")
    assert f.subject == "p6p2" and "rx-checksumming" in f.summary
    assert "ethtool -K p6p2 rx off tx off" in f.remedy.now
    assert any('ETHTOOL_OPTS="-K p6p2 rx off; -K p6p2 tx off"' in p for p in f.remedy.persist)
    assert any("rx_csum_err: 0 -> 17" in e.excerpt for e in f.evidence)


def test_offload_suspect_host_checksum_errors_from_snmp() -> None:
    snmp = fixture("nic/machine_proc_net_snmp.txt")
    lines = snmp.splitlines()
    i = next(n for n, ln in enumerate(lines) if ln.startswith("Tcp: ") and ln.split()[1].isdigit())
    toks = lines[i].split()
    toks[-1] = "250"  # InCsumErrors is the last Tcp column on this kernel
    later = "\n".join([*lines[:i], " ".join(toks), *lines[i + 1 :]]) + "\n"
    b = live(
        ev("ethtool.features", fixture("nic/machine_ethtool_k_eth0.txt"), key="eth0"),
        ev("proc.net_snmp", snmp, later=later, interval_s=1.0, source="/proc/net/snmp"),
        first=links_json(),
        later=links_json(),
    )
    r = run(b, {"nic.offload_suspect"})
    [f] = findings(r, "nic.offload_suspect")
    assert f.subject == "eth0" and any("InCsumErrors" in e.excerpt for e in f.evidence)


def test_offload_suspect_quiet_on_captured_machine() -> None:
    snmp = fixture("nic/machine_proc_net_snmp.txt")
    st = fixture("nic/machine_ethtool_S_eth0.txt")
    b = live(
        ev("ethtool.features", fixture("nic/machine_ethtool_k_eth0.txt"), key="eth0"),
        ev("ethtool.stats", st, later=st, interval_s=1.0, key="eth0"),
        ev("proc.net_snmp", snmp, later=snmp, interval_s=1.0),
        first=links_json(),
        later=links_json(),
    )
    r = run(b, {"nic.offload_suspect"})
    assert findings(r, "nic.offload_suspect") == [] and check(r, "nic.offload_suspect").startswith("pass")


def test_offload_suspect_skipped_without_features() -> None:
    r = run(live(), {"nic.offload_suspect"})
    assert check(r, "nic.offload_suspect").startswith("skipped: ethtool.features")


def test_offload_suspect_sosreport(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "sos_commands/networking/ethtool_-k_eth0": fixture("nic/machine_ethtool_k_eth0.txt"),
            "sos_commands/networking/ethtool_-S_eth0": STATS_CSUM.replace(
                "rx_csum_err: 0", "rx_csum_err: 86400"
            ),
            "proc/uptime": UPTIME_30D,
            "etc/os-release": CENTOS,
        },
    )
    with open_source(root) as b:
        r = run(b, {"nic.offload_suspect"})
    [f] = findings(r, "nic.offload_suspect")
    assert f.subject == "eth0" and "since boot" in f.summary


# --- nic.tx_timeout -----------------------------------------------------------------------------

SEED003_LOG = fixture("nic/seed003_kernel_log_0915.txt")


def test_tx_timeout_recent_is_critical() -> None:
    b = bundle(
        ev("kernel.dmesg", status=Status.MISSING),
        ev("log.kernel", SEED003_LOG, key="messages", source="/var/log/messages"),
        collected_at="2017-09-15T07:00:00+00:00",
    )
    r = run(b, {"nic.tx_timeout"})
    [f] = findings(r, "nic.tx_timeout")
    assert (f.subject, f.severity) == ("ens2f0", "critical")
    assert "ixgbe" in f.title and "28" in f.summary
    assert any(
        "NETDEV WATCHDOG: ens2f0 (ixgbe): transmit queue 28 timed out" in e.excerpt for e in f.evidence
    )
    assert any("sch_generic.c:297 dev_watchdog" in e.excerpt for e in f.evidence)


def test_tx_timeout_old_line_is_info_from_sosreport(tmp_path: Path) -> None:
    root = sos_tree(tmp_path / "sos", {"var/log/messages": SEED003_LOG}, commands={})
    with open_source(root) as b:
        r = run(b, {"nic.tx_timeout"})
    [f] = findings(r, "nic.tx_timeout")
    assert f.subject == "ens2f0" and f.severity == "info" and "days ago" in f.title
    assert check(r, "nic.tx_timeout").startswith("pass")  # info only: not a failure now


def test_tx_timeout_quiet_on_a_log_without_watchdog() -> None:
    quiet = "\n".join(ln for ln in SEED003_LOG.splitlines() if "WATCHDOG" not in ln)
    b = bundle(ev("kernel.dmesg", quiet), ev("proc.uptime", "600000.0 1.0"))
    r = run(b, {"nic.tx_timeout"})
    assert findings(r, "nic.tx_timeout") == [] and check(r, "nic.tx_timeout").startswith("pass")


def test_tx_timeout_skipped_without_kernel_log() -> None:
    b = bundle(ev("kernel.dmesg", status=Status.DENIED, error="dmesg: read kernel buffer failed"))
    r = run(b, {"nic.tx_timeout"})
    assert check(r, "nic.tx_timeout").startswith("skipped: no kernel log")


# --- nic.bond_member_down -----------------------------------------------------------------------

BOND2 = fixture("nic/format_proc_net_bonding_bond2.txt")


def test_bond_member_down_kernel_bond() -> None:
    b = bundle(ev("proc.bonding", BOND2, key="bond2", source="/proc/net/bonding/bond2"))
    r = run(b, {"nic.bond_member_down"})
    [f] = findings(r, "nic.bond_member_down")
    assert (f.subject, f.severity) == ("p7p2", "warning") and "bond2" in f.title
    assert any("MII Status: down" in e.excerpt for e in f.evidence)


def test_bond_member_flapping_between_samples() -> None:
    healthy = BOND2.replace("MII Status: down", "MII Status: up")
    later = healthy.replace("Link Failure Count: 3", "Link Failure Count: 5")
    b = bundle(ev("proc.bonding", healthy, key="bond2", later=later, interval_s=1.0))
    [f] = findings(run(b, {"nic.bond_member_down"}), "nic.bond_member_down")
    assert f.subject == "p7p2" and "flapping" in f.title and f.severity == "warning"


def test_bond_member_down_on_purpose_is_quiet() -> None:
    data = json.loads(LINK_JSON)
    p7 = dict(data[-1], ifname="p7p2", ifindex=77, flags=["BROADCAST", "MULTICAST"], operstate="DOWN")
    b = bundle(
        ev("proc.bonding", BOND2.replace("Link Failure Count: 3", "Link Failure Count: 0"), key="bond2"),
        ev("ip.link", json.dumps([*data, p7])),
    )
    r = run(b, {"nic.bond_member_down"})
    assert findings(r, "nic.bond_member_down") == []


def test_bond_member_down_ovs_bond_from_userspace_ovs() -> None:
    b = bundle(
        ev("ovs.bond_show", fixture("nic/lab_ovs_bond_show_member_down.txt"), source="ovs-appctl bond/show")
    )
    [f] = findings(run(b, {"nic.bond_member_down"}), "nic.bond_member_down")
    assert (f.subject, f.severity) == ("nb2a26462", "warning") and "bond26462" in f.title


def test_bond_member_healthy_ovs_bond_quiet() -> None:
    b = bundle(ev("ovs.bond_show", fixture("nic/lab_ovs_bond_show_healthy.txt")))
    r = run(b, {"nic.bond_member_down"})
    assert findings(r, "nic.bond_member_down") == [] and check(r, "nic.bond_member_down").startswith("pass")


def test_bond_member_down_skipped_without_bonds() -> None:
    b = bundle(ev("ovs.bond_show", status=Status.MISSING, error="ovs-appctl: not installed"))
    assert check(run(b, {"nic.bond_member_down"}), "nic.bond_member_down").startswith("skipped: no bond")


def test_bond_member_down_sosreport(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "proc/net/bonding/bond2": BOND2,
            "sos_commands/openvswitch/ovs-appctl_bond.show": fixture("nic/lab_ovs_bond_show_member_down.txt"),
        },
    )
    with open_source(root) as b:
        r = run(b, {"nic.bond_member_down"})
    assert sorted(f.subject for f in findings(r, "nic.bond_member_down")) == ["nb2a26462", "p7p2"]
