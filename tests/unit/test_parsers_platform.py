"""Parsers of the platform families, on the machine's captures; garbage raises ParseError."""

from __future__ import annotations

import pytest

from netsleuth.errors import ParseError
from netsleuth.facts.firewall import Firewall
from netsleuth.parsers.df import parse_df
from netsleuth.parsers.docker import parse_docker_inspect
from netsleuth.parsers.iptables import parse_iptables_list, parse_iptables_save
from netsleuth.parsers.neutron import detect_kind, parse_agent_list, parse_sql_dump
from netsleuth.parsers.nft import parse_nft
from netsleuth.parsers.procstat import idle_fraction, parse_loadavg, parse_proc_stat
from tests.helpers import fixture

P = "platform/"


def test_iptables_save_and_list_and_nft_json_and_text_agree_on_the_drops() -> None:
    def drops(rs: object) -> list[tuple[str, tuple[tuple[int, int], ...]]]:
        return [(r.proto, r.dports) for r in rs.rules if r.blocks]  # type: ignore[attr-defined]

    save = parse_iptables_save(fixture(P + "iptables_save_c_drops.txt"))
    listing = parse_iptables_list(fixture(P + "iptables_vnxL_drops.txt"))
    assert (
        drops(save)
        == drops(listing)
        == [("udp", ((67, 67),)), ("udp", ((53, 53),)), ("udp", ((4789, 4789),)), ("tcp", ((22, 22),))]
    )
    assert [r.packets for r in save.rules] == [r.packets for r in listing.rules] == [1, 2, 1, 0, 0]
    assert drops(parse_nft(fixture(P + "nft_j_drops.json"))) == drops(
        parse_nft(fixture(P + "nft_list_drops.txt"))
    )


def test_a_rule_narrowed_by_source_or_sport_does_not_block_the_service() -> None:
    # Neutron's own anti-spoofing rule drops DHCP *replies from* a VM: sport 67 is a condition
    rs = parse_iptables_save(
        "*filter\n:INPUT ACCEPT [0:0]\n:neutron-openvswi-o1a2b3c4d-5 - [0:0]\n"
        "-A INPUT -j neutron-openvswi-o1a2b3c4d-5\n"
        "-A neutron-openvswi-o1a2b3c4d-5 -p udp -m udp --sport 67 --dport 68 -j DROP\n"
        "-A INPUT -s 10.9.9.9/32 -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n"
    )
    fw = Firewall([(r, "t") for r in rs.rules], [(rs, "t")])
    assert fw.blocking("udp", 68) == [] and fw.blocking("tcp", 22) == []
    assert ("filter", "neutron-openvswi-o1a2b3c4d-5") in rs.reachable()


def test_input_policy_drop_blocks_what_no_rule_opens() -> None:
    rs = parse_iptables_save(
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    )
    fw = Firewall([(r, "t") for r in rs.rules], [(rs, "t")])
    assert fw.blocking("tcp", 22) == []
    (hit,) = fw.blocking("udp", 67)
    assert hit[2] == "policy" and "policy DROP" in hit[0].line


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        (parse_iptables_save, "-A INPUT -j DROP\n"),
        (parse_iptables_save, "*filter\nthis is not iptables\n"),
        (parse_iptables_list, "iptables: command not found\n"),
        (parse_nft, '{"not": "nft"}'),
        (parse_nft, "chain input {\n"),
        (parse_df, "df: cannot read table of mounted file systems\n"),
        (parse_proc_stat, "intr 1 2 3\n"),
        (parse_loadavg, "garbage\n"),
        (parse_docker_inspect, "Error response from daemon: No such object\n"),
        (parse_agent_list, "Missing value auth-url required for auth plugin password\n"),
        (parse_sql_dump, "-- MySQL dump, no rows\n"),
    ],
)
def test_garbage_raises_parse_error(parser: object, text: str) -> None:
    with pytest.raises(ParseError):
        parser(text)  # type: ignore[operator]


def test_df_keeps_disks_and_drops_memory_and_image_filesystems() -> None:
    rows = parse_df(fixture(P + "df_PT.txt"))
    assert [d.mount for d in rows if d.is_disk] == ["/"]
    sos = parse_df(
        "Filesystem     1K-blocks     Used Available Use% Mounted on\n"
        "/dev/loop3         56320    56320         0 100% /snap/core20/1974\n"
        "overlay        264212084 23047924  83342988  22% /var/lib/docker/overlay2/ab12/merged\n"
    )
    assert [d.is_disk for d in sos] == [False, False]


def test_proc_stat_two_real_samples_give_an_idle_share() -> None:
    a, b = parse_proc_stat(fixture(P + "proc_stat_1.txt")), parse_proc_stat(fixture(P + "proc_stat_2.txt"))
    share = idle_fraction(a["cpu"], b["cpu"])
    assert share is not None and 0.0 <= share <= 1.0 and sorted(a) == ["cpu", "cpu0", "cpu1"]


def test_kind_of_user_files_is_told_from_content() -> None:
    assert [
        detect_kind(fixture(P + f))
        for f in (
            "agents_l3_down.json",
            "nova_dump_orphan.sql",
            "floatingips_api.json",
            "servers_api.json",
            "df_PT.txt",
        )
    ] == ["agents", "sql", "floating_ips_json", "servers_json", ""]
    rows = parse_sql_dump(fixture(P + "nova_dump_orphan.sql"))
    assert next(r["instance_uuid"] for r in rows["fixed_ips"]) == "d9c4c2a0-5b1e-4f5e-9f0a-1c2b3d4e5f60"
