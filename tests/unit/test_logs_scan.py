"""The one scan of a host's logs: every engine the same events, the kernel's sources merged without
counting a line twice, syslog dates never in the future, the over-MTU drop the kernel logs."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from netsleuth.evidence.linescan import available
from netsleuth.evidence.model import Bundle, Evidence, Status
from netsleuth.evidence.source import open_source
from netsleuth.facts.host import HostInfo
from netsleuth.facts.logs import EventSet, patterns, scan_logs
from netsleuth.facts.store import FactStore
from netsleuth.parsers.dpctl import parse_dpctl_show
from tests.helpers import bundle, check, ev, findings, fixture, run

HOTSOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "external" / "hotsos-data"
AT = "2026-11-21T10:00:00+00:00"


def _on_disk(tmp: Path, name: str, key: str, data: bytes) -> Evidence:
    p = tmp / key
    p.write_bytes(data)
    return Evidence(name, Status.OK, source=f"var/log/{key}", key=key, path=p)


def _summary(events: dict[str, EventSet]) -> dict[str, tuple[int, list[str], dict[str, int]]]:
    return {
        pid: (es.count, [e.line.raw for e in es.samples], {g: p.count for g, p in es.by_group.items()})
        for pid, es in sorted(events.items())
    }


def _messy_logs(tmp: Path) -> Bundle:
    """Real line shapes of every kind, with the traps of real files: long lines, invalid UTF-8,
    CRLF, NUL bytes, no final newline, a line longer than a block."""
    rnd = random.Random(7)
    seeds = [
        b"Nov 21 09:00:%02d compute1 kernel: [%d.000001] nf_conntrack: table full, dropping packet",
        b"Nov 21 09:01:%02d compute1 kernel: [%d.5] tap0e778df8-ca: dropped over-mtu packet: 8950 > 1450",
        b"Nov 21 09:02:%02d compute1 kernel: [%d.25] NETDEV WATCHDOG: ens2f0 (ixgbe): transmit queue 28 timed out",
        b"Nov 21 09:03:%02d compute1 dnsmasq-dhcp[2438]: DHCPDISCOVER(tap1) fa:16:3e:56:0b:%02x",
        b"Nov 21 09:03:%02d compute1 dnsmasq-dhcp[2438]: DHCPDISCOVER(tap1) fa:16:3e:78:44:%02x no address available",
    ]
    lines: list[bytes] = []
    for n in range(30_000):
        r = rnd.random()
        if r < 0.01:
            s = rnd.choice(seeds)
            lines.append(s % ((n % 60, n) if b"kernel" in s else (n % 60, n % 256)))
        elif r < 0.011:
            lines.append(
                b"Nov 21 09:04:00 compute1 kernel: " + b"x" * rnd.randint(70_000, 140_000) + b" table full"
            )
        elif r < 0.012:
            lines.append(
                b"Nov 21 09:05:00 compute1 kernel: \xff\xfe nf_conntrack: table full, dropping packet\r"
            )
        elif r < 0.013:
            lines.append(b"Nov 21 09:05:01 compute1 kernel: \x00\x00 dropped over-mtu packet: 1600 > 1500")
        else:
            lines.append(
                b"Nov 21 09:06:%02d compute1 kernel: [%d.1] device tap%x entered promiscuous mode"
                % (n % 60, n, n)
            )
    kern = b"\n".join(lines) + b"\n" + b"y" * 9_000_000 + b" nf_conntrack: table full, dropping packet"
    ovs = fixture("seeds/seed000_ovsdb_server.log").encode()
    return bundle(
        _on_disk(tmp, "log.kernel", "kern.log", kern),
        _on_disk(tmp, "log.dnsmasq", "dnsmasq.log", b"\n".join(lines[::3])),
        _on_disk(tmp, "ovs.log_ovsdb", "ovsdb-server.log", ovs),
        ev("proc.uptime", "600000.0 1.0"),
        collected_at=AT,
    )


def test_every_scan_engine_gives_the_same_events(tmp_path: Path) -> None:
    b = _messy_logs(tmp_path)
    host = FactStore(b).get(HostInfo)
    results = {engine: _summary(scan_logs(b, host, engine).events) for engine in available()}
    assert "python" in results and len(results) >= 2, (
        f"only {list(results)} here: install hyperscan or ripgrep"
    )
    reference = results.pop("python")
    assert reference["conntrack_table_full"][0] > 50 and reference["ovs_poll_interval_long"][0] >= 1
    assert reference["dnsmasq_no_address"][0] > 10 and reference["over_mtu_dropped"][0] > 10
    for engine, got in results.items():
        assert got == reference, f"{engine} differs from the Python scan"


def test_every_log_pattern_has_a_literal_for_the_prefilter() -> None:
    assert all(p.literals for p in patterns())


def test_ovs_logs_keyed_by_file_name_are_scanned() -> None:
    b = bundle(
        ev("kernel.dmesg", "[    1.0] Linux version 6.1\n"),
        ev("ovs.log_vswitchd", fixture("seeds/seed000_ovsdb_server.log"), key="ovs-vswitchd.log"),
        collected_at="2015-09-07T19:50:00+00:00",
    )
    scanned = scan_logs(b, FactStore(b).get(HostInfo))
    assert scanned.events["ovs_poll_interval_long"].count >= 1


DMESG_WRAPPED = (  # the ring buffer wrapped: dmesg starts 5000 s after boot
    "[ 5000.000000] device tap1 entered promiscuous mode\n"
    "[ 6000.000000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
)
KERN_LOG = (  # the whole boot (booted 2026-11-21 08:00:00 = 7200 s before the report), and one before it
    "Nov 14 08:00:00 compute1 kernel: [ 9000.000000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
    "Nov 21 08:01:40 compute1 kernel: [  100.000000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
    "Nov 21 09:40:00 compute1 kernel: [ 6000.000000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
)
SYSLOG = (  # Debian's rsyslog writes the kernel's lines to syslog too
    "Nov 21 08:01:40 compute1 kernel: [  100.000000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
    "Nov 21 09:40:00 compute1 kernel: [ 6000.000000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
)


def _table_full(*items: Evidence) -> EventSet:
    b = bundle(*items, ev("proc.uptime", "7200.0 1.0"), collected_at=AT)
    return scan_logs(b, FactStore(b).get(HostInfo)).events["conntrack_table_full"]


def test_kern_log_lines_from_before_a_wrapped_dmesg_are_read_and_none_counted_twice() -> None:
    events = _table_full(
        ev("kernel.dmesg", DMESG_WRAPPED, source="dmesg"),
        ev("log.kernel", KERN_LOG, key="kern.log", source="/var/log/kern.log"),
        ev("log.kernel", SYSLOG, key="syslog", source="/var/log/syslog"),
    )
    # dmesg's line at 6000 s; kern.log's line at 100 s of this boot and the one of the boot before
    assert events.count == 3
    assert sorted(e.source for e in events.samples) == ["/var/log/kern.log", "/var/log/kern.log", "dmesg"]
    oldest = max(e.age_s or 0 for e in events.samples)
    assert 7 * 86400 - 10 < oldest < 7 * 86400 + 7200 + 10


def test_kern_log_and_syslog_alone_count_each_kernel_line_once() -> None:
    events = _table_full(
        ev("log.kernel", KERN_LOG, key="kern.log", source="/var/log/kern.log"),
        ev("log.kernel", SYSLOG, key="syslog", source="/var/log/syslog"),
    )
    assert events.count == 3


def test_a_syslog_date_in_a_later_month_than_the_report_is_last_year() -> None:
    line = "Dec 30 23:00:00 compute1 kernel: [ 1.0] nf_conntrack: table full, dropping packet\n"
    b = bundle(ev("log.kernel", line, key="kern.log"), collected_at="2027-01-02T10:00:00+00:00")
    (e,) = scan_logs(b, FactStore(b).get(HostInfo)).events["conntrack_table_full"].samples
    assert e.line.wall is not None and e.line.wall.year == 2026
    assert e.age_s is not None and 2 * 86400 < e.age_s < 3 * 86400


TAP = '[{"ifindex": 9, "ifname": "tap0e778df8-ca", "mtu": 1450, "flags": ["UP"], "operstate": "UP"}]'


def test_dropped_over_mtu_packets_in_the_kernel_log_are_an_mtu_mismatch() -> None:
    log = (
        "Nov 21 09:58:21 compute4 kernel: [13502680.515977] tap0e778df8-ca: dropped over-mtu packet: 8950 > 1450\n"
        "Nov 21 09:58:22 compute4 kernel: [13502680.516145] tap0e778df8-ca: dropped over-mtu packet: 8950 > 1450\n"
    )
    r = run(bundle(ev("ip.link", TAP), ev("log.kernel", log, key="kern.log")), {"mtu.mismatch"})
    (f,) = findings(r, "mtu.mismatch")
    assert (f.subject, f.severity) == ("tap0e778df8-ca", "critical")
    assert "8950" in f.title and "1450" in f.title and "dropped over-mtu packet" in f.evidence[0].excerpt
    old = log.replace("Nov 21", "Nov  1")
    (f,) = findings(
        run(bundle(ev("ip.link", TAP), ev("log.kernel", old, key="kern.log")), {"mtu.mismatch"}),
        "mtu.mismatch",
    )
    assert f.severity == "info"
    gone = run(bundle(ev("ip.link", "[]"), ev("log.kernel", log, key="kern.log")), {"mtu.mismatch"})
    assert [(f.subject, f.severity) for f in findings(gone, "mtu.mismatch")] == [("tap0e778df8-ca", "info")]
    quiet = run(
        bundle(ev("ip.link", TAP), ev("kernel.dmesg", "[ 1.0] Linux version 6.1\n")), {"mtu.mismatch"}
    )
    assert check(quiet, "mtu.mismatch") == "pass: "


def test_real_over_mtu_drops_of_a_hotsos_field_case_laid_over_a_real_compute_node(tmp_path: Path) -> None:
    case = HOTSOS / "scenarios" / "kernel__network__misc_over_mtu_dropped_packets_w_ovs_ports" / "root"
    if not case.is_dir():
        pytest.skip(f"the hotsos real data is not here ({HOTSOS})")
    root = tmp_path / "sosreport-compute4"
    shutil.copytree(HOTSOS / "roots" / "openstack", root, symlinks=False)
    shutil.copy(case / "var" / "log" / "kern.log", root / "var" / "log" / "kern.log")
    with open_source(root) as b:
        r = run(b, {"mtu.mismatch"})
    got = {(f.subject, f.severity) for f in findings(r, "mtu.mismatch")}
    # the report (no manifest) was taken on Feb 10 2022 (its `date`): May's lines are of 2021, a
    # past event; br-int is an OVS bridge (packets up to the host); tape901c8af-fb is gone
    assert got == {("tap0e778df8-ca", "info"), ("tape901c8af-fb", "info")}
    (f,) = [f for f in findings(r, "mtu.mismatch") if f.subject == "tap0e778df8-ca"]
    assert "8950" in f.title and "days ago" in f.summary


def test_a_datapath_without_its_header_line_is_still_a_datapath() -> None:
    case = HOTSOS / "scenarios" / "openvswitch__dpif_lost_packets_w_vswitchd" / "root"
    if not case.is_dir():
        pytest.skip(f"the hotsos real data is not here ({HOTSOS})")
    text = (case / "sos_commands" / "openvswitch" / "ovs-appctl_dpctl.show_-s_system_ovs-system").read_text()
    assert [(d.name, d.lost) for d in parse_dpctl_show(text, "system@ovs-system")] == [
        ("system@ovs-system", 54691089)
    ]
    src = "ovs-appctl dpctl/show -s system@ovs-system"
    r = run(
        bundle(ev("ovs.dpctl_show", text, source=src), ev("proc.uptime", "600000.0 1.0")),
        {"ovs.datapath_lost"},
    )
    assert [f.subject for f in findings(r, "ovs.datapath_lost")] == ["system@ovs-system"]
