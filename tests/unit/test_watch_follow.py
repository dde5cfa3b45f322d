"""Incremental reading: a log from where the last cycle stopped; a rotated, replaced or truncated
log from its start; the same content moved back into place never read twice; only whole lines."""

from __future__ import annotations

import os
from pathlib import Path

from netsleuth.evidence.model import Bundle, Evidence, Status
from netsleuth.watch.cycle import Samples
from netsleuth.watch.follow import KernelLog, LogFiles, _kmsg_text

L1 = "Nov 29 10:00:01 host dnsmasq-dhcp[12]: DHCPDISCOVER(tap1) fa:16:3e:00:00:01\n"
L2 = "Nov 29 10:00:02 host dnsmasq-dhcp[12]: DHCPOFFER(tap1) 10.0.0.5 fa:16:3e:00:00:01\n"
L3 = "Nov 29 10:00:03 host dnsmasq-dhcp[12]: DHCPREQUEST(tap1) 10.0.0.5 fa:16:3e:00:00:01\n"
KERNEL = "Nov 29 10:00:04 host kernel: [ 1234.5] nf_conntrack: table full, dropping packet\n"


def lines(evs: list[Evidence]) -> list[str]:
    return [ln + "\n" for e in evs for ln in e.text.splitlines()]


def test_first_look_starts_at_the_end_then_only_what_is_new(tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_text(L1)
    f = LogFiles()
    assert lines(f.read("log.dnsmasq", [str(log)])) == []
    with log.open("a") as fh:
        fh.write(L2 + L3[:20])  # the third line is still being written
    assert lines(f.read("log.dnsmasq", [str(log)])) == [L2]
    with log.open("a") as fh:
        fh.write(L3[20:])
    assert lines(f.read("log.dnsmasq", [str(log)])) == [L3]
    assert lines(f.read("log.dnsmasq", [str(log)])) == []


def test_truncated_log_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_text(L1 + L2)
    f = LogFiles()
    f.read("log.dnsmasq", [str(log)])
    log.write_text(L3)  # truncated (copytruncate), then written to
    assert lines(f.read("log.dnsmasq", [str(log)])) == [L3]


def test_rotated_log_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_text(L1)
    f = LogFiles()
    f.read("log.dnsmasq", [str(log)])
    log.rename(tmp_path / "dnsmasq.log.1")
    log.write_text(L2 + L3)  # a new, longer file at the same path
    assert lines(f.read("log.dnsmasq", [str(log)])) == [L2, L3]
    assert lines(f.read("log.dnsmasq", [str(log)])) == []


def test_the_same_content_moved_back_into_place_is_not_read_twice(tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_text(L1 + L2)
    f = LogFiles()
    f.read("log.dnsmasq", [str(log)])
    copy = tmp_path / "copy"
    copy.write_text(L1 + L2 + L3)  # `cp log x; echo ... >> x; mv x log`: a new inode
    os.replace(copy, log)
    assert lines(f.read("log.dnsmasq", [str(log)])) == [L3]


def test_a_log_that_vanishes_and_comes_back_is_read_whole(tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_text(L1)
    f = LogFiles()
    f.read("log.dnsmasq", [str(log)])
    f.settled = True  # the first cycle is over
    log.unlink()
    assert [e.status for e in f.read("log.dnsmasq", [str(log)])] == [Status.MISSING]
    log.write_text(L2)
    assert lines(f.read("log.dnsmasq", [str(log)])) == [L2]


def test_lookback_keeps_only_recent_lines_on_the_first_look(tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    now = datetime.now().astimezone()
    old = (now - timedelta(hours=2)).strftime("%b %d %H:%M:%S")
    new = (now - timedelta(seconds=30)).strftime("%b %d %H:%M:%S")
    log = tmp_path / "syslog"
    log.write_text(f"{old} host dnsmasq-dhcp[1]: old\n{new} host dnsmasq-dhcp[1]: new\n")
    assert [ln.split(": ")[-1] for ln in lines(LogFiles(lookback_s=300).read("log.dnsmasq", [str(log)]))] == [
        "new\n"
    ]


def test_syslog_copies_of_kernel_lines_are_left_to_kmsg(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text("")
    f = LogFiles(kernel_from_kmsg=lambda: True)
    f.read("log.kernel", [str(log)])
    log.write_text(L1 + KERNEL)
    assert lines(f.read("log.kernel", [str(log)])) == [L1]
    g = LogFiles(kernel_from_kmsg=lambda: False)
    g.read("log.kernel", [str(log)])
    log.write_text(L1 + KERNEL + L2)
    assert lines(g.read("log.kernel", [str(log)])) == [L2]


def test_saved_marks_go_on_where_the_last_process_stopped(tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_text(L1)
    f = LogFiles()
    f.read("log.dnsmasq", [str(log)])
    with log.open("a") as fh:
        fh.write(L2)
    g = LogFiles()
    g.restore(f.state())
    assert lines(g.read("log.dnsmasq", [str(log)])) == [L2]


def test_kmsg_records() -> None:
    assert _kmsg_text(b"6,99,1500000,-;eth0: renamed\n") == (99, 1500000, "eth0: renamed")
    assert _kmsg_text(b"garbage") is None


def test_kernel_log_reads_only_new_kmsg_records() -> None:
    if not os.access("/dev/kmsg", os.R_OK):
        import pytest

        pytest.skip("/dev/kmsg is not readable here")
    k = KernelLog(lookback_s=0)
    first = k.read(2.0)
    assert first.ok and k.how == "kmsg"
    mark = f"netsleuth-test-{os.getpid()}"
    try:
        with open("/dev/kmsg", "w") as fh:
            fh.write(f"<6>{mark}\n")
    except OSError:
        k.close()
        return  # writing to the kernel log needs root; reading was checked
    second = k.read(2.0)
    assert [ln for ln in second.text.splitlines() if mark in ln]
    assert mark not in k.read(2.0).text
    k.close()


def test_counters_are_rated_over_the_whole_cycle() -> None:
    s = Samples()
    first = Bundle("live")
    first.add(Evidence("proc.net_dev", Status.OK, text="A", later="B", interval_s=1.0))
    s.pair(first, 100.0)
    assert (first.items[0].text, first.items[0].later) == ("A", "B")  # the first cycle: its own two
    second = Bundle("live")
    second.add(Evidence("proc.net_dev", Status.OK, text="C"))
    second.add(Evidence("ip.addr", Status.OK, text="not sampled"))
    s.pair(second, 130.0)
    ev = second.items[0]
    assert (ev.text, ev.later, ev.interval_s) == ("B", "C", 30.0)
    assert second.items[1].later is None


def test_two_logs_of_one_name_are_keyed_like_the_tail_collector_keys_them(tmp_path: Path) -> None:
    a, b = tmp_path / "openvswitch", tmp_path / "kolla" / "openvswitch"
    b.mkdir(parents=True)
    a.mkdir()
    for d in (a, b):
        (d / "ovs-vswitchd.log").write_text("")
    f = LogFiles(settled=True)
    keys = [
        e.key for e in f.read("ovs.log_vswitchd", [str(a / "ovs-vswitchd.log"), str(b / "ovs-vswitchd.log")])
    ]
    assert keys == ["ovs-vswitchd.log", str(b / "ovs-vswitchd.log")]
