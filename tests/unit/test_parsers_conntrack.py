"""The conntrack state histogram: the fast path over raw bytes counts what `count_states` counts
line by line, on real tables (a test machine's /proc/net/nf_conntrack, `conntrack -L`, `-o extended`)
and on tables with odd lines, whatever the block boundaries."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from netsleuth.collector.collectors import _blocks_until
from netsleuth.evidence.model import Evidence, Status
from netsleuth.facts.conntrack import _histogram
from netsleuth.parsers.conntrack import (
    count_states,
    count_states_blocks,
    parse_histogram,
    parse_histogram_blocks,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
TABLES = [
    "machine_proc_net_nf_conntrack.txt",
    "machine_conntrack_L.txt",
    "machine_conntrack_L_o_extended.txt",
]


def _cut(data: bytes, rnd: random.Random, n: int) -> list[bytes]:
    cuts = sorted(rnd.sample(range(len(data) + 1), min(n, len(data) + 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize("name", TABLES)
def test_real_table_counts_by_state_and_protocol(name: str) -> None:
    data = (FIXTURES / "conntrack" / name).read_bytes()
    got = count_states_blocks([data])
    assert got == {"ESTABLISHED": 6, "CLOSE_WAIT": 4, "udp": 2, "icmp": 1, "icmpv6": 1}
    assert got == count_states(data.decode().splitlines())


@pytest.mark.parametrize("name", TABLES)
def test_block_boundaries_change_nothing(name: str) -> None:
    data = (FIXTURES / "conntrack" / name).read_bytes()
    rnd = random.Random(name)
    for size in (1, 7, 64, 1000):
        assert count_states_blocks(
            data[i : i + size] for i in range(0, len(data), size)
        ) == count_states_blocks([data])
    for _ in range(20):
        assert count_states_blocks(_cut(data, rnd, 6)) == count_states_blocks([data])


STATES = ["ESTABLISHED", "TIME_WAIT", "SYN_SENT2", "SYN_SENT", "CLOSE", "NONE", "BOGUS", "SYN_RECV"]
ODD = [
    "",
    "  ",
    "tcp 6",
    "ipv4 2 tcp",
    "ipv4     2 tcp      6 1  ",
    "some words that are not a table",
    "ipv5     2 weird9      6 1 X",
    "unknown  2 574 src=10.0.0.1 dst=10.0.0.2 mark=0 use=1",
    "\t tcp\t6 1 ESTABLISHED src=1.2.3.4",
    "ipv4 2 tcp 6 " + "9" * 40 + " ESTABLISHED src=1.2.3.4",
    "ipv4     2 tcp      6 12 ÉTABLI src=1.2.3.4",
    "x" * 60,
]


def _line(rnd: random.Random) -> str:
    k, st, to = rnd.random(), rnd.choice(STATES), rnd.randint(0, 10 ** rnd.randint(1, 14))
    if k < 0.4:
        return f"ipv4     2 tcp      6 {to} {st} src=10.0.0.{rnd.randint(0, 255)} dst=10.1.0.1 sport=1 dport=2 [ASSURED] mark=0 zone=0 use=2"
    if k < 0.5:
        addr = f"fe80:0000:0000:0000:{rnd.randint(0, 65535):04x}:0000:0000:0001"
        return f"ipv6     10 tcp      6 {to} {st} src={addr} dst={addr} sport=1 dport=2 mark=0 zone=0 use=2"
    if k < 0.6:
        return f"ipv6     10 icmpv6   58 {to} src=fe80::1 dst=fe80::2 type=128 code=0 id=1 mark=0 use=1"
    if k < 0.7:
        return f"tcp      6 {to} {st} src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2 mark=0 use=1"
    if k < 0.8:
        return rnd.choice(ODD)
    return f"ipv4     2 udp      17 {to} src=10.0.0.1 dst=10.0.0.2 sport=53 dport=9 [UNREPLIED] mark=0 zone=3 use=2"


def test_odd_lines_and_any_blocks_count_as_line_by_line() -> None:
    rnd = random.Random(13)
    for _ in range(200):
        text = "\n".join(_line(rnd) for _ in range(rnd.randint(0, 300))) + rnd.choice(["", "\n", "\r\n"])
        data = text.encode()
        assert count_states_blocks(_cut(data, rnd, rnd.randint(0, 8))) == count_states(text.splitlines())


def test_histogram_from_blocks_reads_a_histogram_or_a_table() -> None:
    seed = (FIXTURES / "seeds" / "seed001_conntrack_states.txt").read_bytes()
    assert parse_histogram_blocks(_cut(seed, random.Random(1), 5)) == parse_histogram(
        seed.decode().splitlines()
    )
    table = (FIXTURES / "conntrack" / "machine_proc_net_nf_conntrack.txt").read_bytes()
    assert parse_histogram_blocks([b"\n\n", table]).counts == dict(count_states(table.decode().splitlines()))
    assert parse_histogram_blocks([b"", b"\n  \n"]).counts == {}


def test_a_sosreport_table_on_disk_is_read_in_blocks(tmp_path: Path) -> None:
    f = tmp_path / "nf_conntrack"
    f.write_bytes((FIXTURES / "conntrack" / "machine_proc_net_nf_conntrack.txt").read_bytes() * 3)
    hist = _histogram(Evidence("conntrack.states", Status.OK, source=str(f), path=f))
    assert hist.dominant() == ("ESTABLISHED", 18)
    assert hist.total == 42


def test_a_silent_command_times_out_instead_of_hanging() -> None:
    proc = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    t0 = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            list(_blocks_until(proc.stdout, time.monotonic() + 0.3))
    finally:
        proc.kill()
        proc.wait()
    assert time.monotonic() - t0 < 5
