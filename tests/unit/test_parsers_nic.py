"""NIC/OVS parsers on real outputs: seed quotes (verbatim) and captures from a test machine."""

from __future__ import annotations

import pytest

from netsleuth.errors import ParseError
from netsleuth.parsers.bonding import parse_bonding
from netsleuth.parsers.dpctl import parse_bond_show, parse_dpctl_show
from netsleuth.parsers.ethtool import parse_features, parse_info, parse_ring, parse_stats
from netsleuth.parsers.ifconfig import parse_ifconfig
from netsleuth.parsers.netdev import parse_net_dev
from netsleuth.parsers.snmp import parse_snmp_csum
from netsleuth.parsers.softnet import parse_softnet
from tests.helpers import fixture


def test_ring_seed000_p6p2_has_headroom() -> None:
    r = parse_ring(fixture("nic/seed000_ethtool_g_p6p2.txt"))
    assert (r.iface, r.current.rx, r.maximum.rx, r.rx_headroom) == ("p6p2", 453, 4078, True)


def test_ring_virtio_capture_at_maximum() -> None:
    r = parse_ring(fixture("nic/machine_ethtool_g_eth0.txt"))
    assert (r.iface, r.current.rx, r.maximum.rx, r.rx_headroom) == ("eth0", 256, 256, False)


def test_ring_refuses_unsupported_output() -> None:
    with pytest.raises(ParseError):
        parse_ring("Ring parameters for veth0:\nnetlink error: Operation not supported\n")


def test_stats_virtio_capture() -> None:
    st = parse_stats(fixture("nic/machine_ethtool_S_eth0.txt"))
    assert st["rx_drops"] == 0 and "tx0_tx_timeouts" in st


def test_stats_refuses_garbage() -> None:
    with pytest.raises(ParseError):
        parse_stats("no stats available\n")


def test_features_virtio_capture() -> None:
    f = parse_features(fixture("nic/machine_ethtool_k_eth0.txt"))
    assert f["rx-checksumming"].on and f["rx-checksumming"].fixed
    assert f["tx-checksumming"].on and not f["tx-checksumming"].fixed
    assert not f["large-receive-offload"].on


def test_info_virtio_capture() -> None:
    i = parse_info(fixture("nic/machine_ethtool_i_eth0.txt"))
    assert (i.driver, i.bus) == ("virtio_net", "pci")


def test_ifconfig_seed000_bond2_glued_counters() -> None:
    [i] = parse_ifconfig(fixture("nic/seed000_ifconfig_bond2.txt"))
    assert i.name == "bond2" and "MASTER" in i.flags and "UP" in i.flags
    assert (i.rx["dropped"], i.rx["over"], i.rx["errors"], i.rx["packets"]) == (
        1892018,
        8394,
        8394,
        5974542045,
    )


def test_ifconfig_new_layout() -> None:
    text = (
        "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n"
        "        inet 10.0.0.5  netmask 255.255.255.0  broadcast 10.0.0.255\n"
        "        ether 02:fc:00:00:00:01  txqueuelen 1000  (Ethernet)\n"
        "        RX packets 1938  bytes 68787465 (65.6 MiB)\n"
        "        RX errors 0  dropped 12  overruns 3  frame 0\n"
        "        TX packets 1246  bytes 134967 (131.8 KiB)\n"
        "        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n"
    )
    [i] = parse_ifconfig(text)
    assert (i.name, i.mtu, i.rx["dropped"], i.rx["over"], "UP" in i.flags) == ("eth0", 1500, 12, 3, True)


def test_ifconfig_refuses_garbage() -> None:
    with pytest.raises(ParseError):
        parse_ifconfig("ifconfig: command not found\n")


def test_net_dev_capture() -> None:
    dev = parse_net_dev(fixture("nic/machine_proc_net_dev.txt"))
    assert dev["eth0"][0]["packets"] == 1938 and dev["lo"][0]["bytes"] == 3193


def test_net_dev_refuses_garbage() -> None:
    with pytest.raises(ParseError):
        parse_net_dev("cat: /proc/net/dev: No such file or directory\n")


def test_softnet_capture() -> None:
    rows = parse_softnet(fixture("nic/machine_softnet_stat.txt"))
    assert [r.cpu for r in rows] == [0, 1] and all(r.dropped == 0 for r in rows)


def test_bonding_members() -> None:
    b = parse_bonding(fixture("nic/format_proc_net_bonding_bond2.txt"), "bond2")
    assert [(m.name, m.up, m.link_failures) for m in b.members] == [("p6p2", True, 0), ("p7p2", False, 3)]


def test_dpctl_seed004_healthy_lost_zero() -> None:
    [dp] = parse_dpctl_show(fixture("nic/seed004_ovs_dpctl_show.txt"))
    assert (dp.name, dp.hit, dp.missed, dp.lost, dp.flows) == ("system@ovs-system", 7589478, 410086, 0, 54)
    assert [p.name for p in dp.ports][-2:] == ["qvo34b16ff1-bb", "qvoe6366126-d8"]


def test_dpctl_with_port_statistics_from_ovs_userspace() -> None:
    [dp] = parse_dpctl_show(fixture("nic/lab_ovs_dpctl_show_s.txt"))
    assert dp.name == "netdev@ovs-netdev" and dp.lost == 0 and len(dp.ports) == 4


def test_dpctl_refuses_garbage() -> None:
    with pytest.raises(ParseError):
        parse_dpctl_show("ovs-vswitchd: no datapaths exist\n")


def test_bond_show_member_down_and_healthy() -> None:
    [down] = parse_bond_show(fixture("nic/lab_ovs_bond_show_member_down.txt"))
    [ok] = parse_bond_show(fixture("nic/lab_ovs_bond_show_healthy.txt"))
    assert [m.enabled for m in down.members] == [True, False]
    assert [m.enabled for m in ok.members] == [True, True]


def test_bond_show_old_slave_wording() -> None:
    text = "---- bond0 ----\nbond_mode: active-backup\nlacp_status: off\n\nslave p1p1: disabled\n\tmay_enable: false\n"
    [b] = parse_bond_show(text)
    assert [(m.name, m.enabled, m.may_enable) for m in b.members] == [("p1p1", False, False)]


def test_snmp_checksum_errors_capture() -> None:
    counts, _ = parse_snmp_csum(fixture("nic/machine_proc_net_snmp.txt"))
    assert counts == {"Tcp": 0, "Udp": 0}
