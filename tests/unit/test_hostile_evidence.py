"""Hostile evidence: one bad piece never aborts the whole diagnosis.

A fact that cannot be built from its evidence is unavailable with the reason; the rules that need
it are skipped; every other rule still runs. Inputs are generated here from real outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsleuth.analysis import run_rule
from netsleuth.errors import ParseError
from netsleuth.evidence.catalogue import catalogue
from netsleuth.facts.host import HostInfo
from netsleuth.facts.host_state import Disks
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.parsers.df import parse_df
from netsleuth.rules.base import Rule, Severity
from tests.helpers import bundle, check, ev, fixture, run

DF_RHEL6 = (
    "Filesystem           1K-blocks      Used Available Use% Mounted on\n"
    "/dev/mapper/VolGroup-lv_root\n"
    "                      51606140  50100000    981740  99% /\n"
    "tmpfs                  8166072         0   8166072   0% /dev/shm\n"
    "/dev/sda1               495844     60000    410244  13% /boot\n"
)


def test_df_of_coreutils_before_8_21_is_parsed_with_the_device_on_its_own_line() -> None:
    rows = parse_df(DF_RHEL6)
    first = rows[0]
    assert (first.filesystem, first.mount, first.use_pct > 98) == ("/dev/mapper/VolGroup-lv_root", "/", True)
    report = run(bundle(ev("df", DF_RHEL6)), only={"host.disk_filling"})
    assert check(report, "host.disk_filling").startswith("fail: /")


def test_df_cut_off_mid_line_keeps_the_complete_rows() -> None:
    text = fixture("platform/df_PT.txt")
    cut = text[: text.rindex("\n", 0, len(text) - 1) + 12]  # the last row cut after a few characters
    rows = parse_df(cut)
    assert rows and [d.line for d in rows] == [d.line for d in parse_df(text)][: len(rows)]
    assert len(rows) == len(parse_df(text)) - 1


def test_a_df_row_broken_in_the_middle_is_a_parse_error_that_quotes_it() -> None:
    with pytest.raises(ParseError, match="too few columns"):
        parse_df("Filesystem 1K-blocks Used Available Use% Mounted on\nbroken 12\n/dev/sda1 1 1 0 50% /\n")


def test_a_fact_whose_parser_crashes_is_unavailable_and_the_other_rules_run() -> None:
    # a `df` whose header is real but whose numbers are not: the provider must not end the run
    garbage = "Filesystem 1K-blocks Used Available Use% Mounted on\n\xff\ufffd \x00 \ufffd\ufffd\n/ 1 2\n"
    b = bundle(ev("df", garbage), ev("proc.loadavg", "0.10 0.20 0.30 1/100 42\n"))
    fs = FactStore(b)
    with pytest.raises(Unavailable, match="Disks"):
        fs.get(Disks)
    report = run(b)
    assert check(report, "host.disk_filling").startswith("skipped: Disks")
    assert not [c for c in report.checks if c.status == "error"]


def test_an_unreadable_uptime_leaves_the_logs_and_the_clock_readable() -> None:
    """HostInfo is the clock, the kernel and the uptime: a garbled `uptime` (one piece) made it
    unavailable, and with it the log scan, so every log rule was skipped."""
    log = "2022-02-10T16:10:00.000Z|00001|timeval|WARN|Unreasonably long 13189ms poll interval (0ms user, 10459ms system)\n"
    b = bundle(
        ev("proc.uptime", "garbage here\n"),
        ev("ovs.log_vswitchd", log, key="ovs-vswitchd.log"),
        ev("kernel.dmesg", "[    1.000000] Linux version 5.4.0\n"),
        collected_at="2022-02-10T16:19:17+00:00",
    )
    assert FactStore(b).get(HostInfo).uptime_s is None
    report = run(b, only={"ovs.poll_interval_long"})
    assert check(report, "ovs.poll_interval_long").startswith("fail")


class _Crashing:
    """A fact whose provider hits a bug of the kind a library raises (AttributeError)."""


@provides(_Crashing, reads=("df",))
def _crashing(fs: FactStore) -> _Crashing:
    fs.require("df", host=True).content().nosuchmethod()  # type: ignore[attr-defined]
    return _Crashing()


def test_any_exception_of_a_provider_makes_the_fact_unavailable_and_the_rule_skipped() -> None:
    b = bundle(ev("df", DF_RHEL6))
    fs = FactStore(b)
    with pytest.raises(Unavailable, match=r"_Crashing: could not be built .*AttributeError"):
        fs.get(_Crashing)
    needs_it = Rule("test.crashing", lambda _c: iter(()), (_Crashing,), (), "", "host", Severity.INFO)
    found, chk = run_rule(needs_it, FactStore(b))
    assert not found and chk.status == "skipped" and "AttributeError" in chk.reason
    optional = Rule(
        "test.optional", lambda c: iter(()) if c is None else 1, (), (_Crashing,), "", "host", Severity.INFO
    )
    assert run_rule(optional, FactStore(b))[1].status == "pass"


def _real_texts() -> dict[str, str]:
    """One real output for every catalogue entry that has one among the fixtures (else a table)."""
    return {name: "x y z\n1 2 3\n" for name in catalogue()} | {
        "df": fixture("platform/df_PT.txt"),
    }


MANGLED = {
    "invalid-utf8": lambda t: (
        t[: len(t) // 3].encode() + b"\xc3\x28\xa0\xa1" + t[len(t) // 3 :].encode()
    ).decode(errors="replace"),
    "nul-bytes": lambda t: t.replace(" ", "\x00", 5),
    "cut-in-half": lambda t: t[: len(t) // 2],
    "binary": lambda _t: (b"\xff\xfe\x00garbage \xc3( line\n" * 3).decode(errors="replace"),
    "one-long-line": lambda _t: "Filesystem " + "A" * 200_000,
}


@pytest.mark.parametrize("form", sorted(MANGLED))
def test_every_piece_of_evidence_mangled_at_once_still_gives_a_report(form: str) -> None:
    items = []
    for name, spec in catalogue().items():
        text = MANGLED[form](_real_texts()[name])
        items.append(ev(name, text, later=text if spec.sampled else None, interval_s=1.0))
    report = run(bundle(*items))
    assert report.checks
    assert not [c for c in report.checks if c.status == "error"], "a rule crashed on mangled evidence"
    # nothing quotes the whole long line: reasons are capped
    assert max(len(c.reason) for c in report.checks) < 2500


PANIC = """
import sys
import click
from netsleuth import cli

class PanicException(BaseException):  # what pyo3 raises for a panic inside a Rust library
    pass

@cli.app.command("boom")
@click.argument("kind")
def boom(kind: str) -> None:
    if kind == "memory":
        raise MemoryError
    if kind == "panic":
        raise PanicException("called `Option::unwrap()` on a `None` value")
    raise RecursionError("maximum recursion depth exceeded")

cli.main(sys.argv[1:])
"""


@pytest.mark.parametrize("kind", ["memory", "panic", "recursion"])
def test_out_of_memory_and_library_panics_exit_3_with_one_line(kind: str) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", PANIC, "boom", kind], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


RSS_SCRIPT = """
import resource, sys
def peak():  # this process since its exec (ru_maxrss would carry pytest's from the fork), and rg
    own = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

from pathlib import Path
from netsleuth.evidence.model import Bundle, Evidence, Status
from netsleuth.facts.host import HostInfo
from netsleuth.facts.logs import scan_logs

path, engine = Path(sys.argv[1]), sys.argv[2]
before = peak()
b = Bundle("test")
b.add(Evidence("log.kernel", Status.OK, source=str(path), key="kern.log", path=path))
b.add(Evidence("log.dnsmasq", Status.OK, source=str(path), key="dnsmasq.log", path=path))
found = scan_logs(b, HostInfo("6.1.0", 100.0, None, ""), engine)
ev = Evidence("x", Status.OK, path=path)
lines = sum(len(line) for line in ev.lines()) + len(ev.content())
print(sum(es.count for es in found.events.values()), (peak() - before) // 1024, lines)
"""


@pytest.mark.parametrize("engine", ["python", "hyperscan", "rg"])
def test_a_log_of_one_endless_line_is_read_in_bounded_memory(tmp_path: Path, engine: str) -> None:
    """A 256 MiB log without a newline (the issue's 4 GiB case, smaller): bounded memory, and the
    one real line after it still found (linear time is measured in bench/, not here)."""
    import subprocess
    import sys

    from netsleuth.evidence.linescan import available

    if engine not in available():
        pytest.skip(f"{engine} is not installed here")
    log = tmp_path / "kern.log"
    with log.open("wb") as fh:
        block = b"A" * (1 << 20)
        for _ in range(256):
            fh.write(block)
        fh.write(b"\n[ 5.0] nf_conntrack: table full, dropping packet\n")
    proc = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(log), engine], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    events, grown_mb, _ = (int(x) for x in proc.stdout.split())
    assert events == 1
    assert grown_mb < 100, f"{grown_mb} MB more to read a 256 MiB line"
