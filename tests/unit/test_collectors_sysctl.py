"""The network sysctls collected live: every readable key under net/ except the per-interface conf
and neigh subtrees (hundreds on a compute node) and stable_secret."""

from __future__ import annotations

import os
from pathlib import Path

from netsleuth.collector.collectors import sysctl_keys
from netsleuth.evidence.collectors import sysctl_net
from netsleuth.parsers.sysctl import parse_sysctl


def _tree(root: Path, files: dict[str, int]) -> None:
    for rel, mode in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("0\n")
        os.chmod(p, mode)


def test_per_interface_subtrees_secrets_and_write_only_keys_are_left_out(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "net/core/somaxconn": 0o644,
            "net/ipv4/ip_forward": 0o644,
            "net/ipv4/route/flush": 0o200,
            "net/ipv4/conf/all/rp_filter": 0o644,
            "net/ipv4/conf/default/rp_filter": 0o644,
            "net/ipv4/conf/tap5e1f/rp_filter": 0o644,
            "net/ipv6/conf/qvo9a/forwarding": 0o644,
            "net/ipv6/conf/all/stable_secret": 0o600,
            "net/ipv6/neigh/default/gc_stale_time": 0o644,
            "net/ipv6/neigh/eth0/gc_stale_time": 0o644,
            "net/netfilter/nf_conntrack_max": 0o644,
        },
    )
    assert sysctl_keys(str(tmp_path)) == [
        "net/core/somaxconn",
        "net/ipv4/ip_forward",
        "net/ipv4/conf/all/rp_filter",
        "net/ipv4/conf/default/rp_filter",
        "net/ipv6/neigh/default/gc_stale_time",
        "net/netfilter/nf_conntrack_max",
    ]


def test_this_hosts_network_sysctls_read_as_sysctl_prints_them() -> None:
    keys = sysctl_keys()
    assert "net/ipv4/ip_forward" in keys and not [k for k in keys if k.startswith("net/ipv4/conf/lo/")]
    ev = sysctl_net("sysctl.net", 5.0)
    assert ev.ok, ev.error
    values = parse_sysctl(ev.text)
    assert values["net.ipv4.ip_forward"] == Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    assert len(values) == len(keys)
