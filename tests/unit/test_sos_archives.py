"""Sosreport archives and hostile reports: read on Debian 12's own Python (no tarfile extraction
filters), only the useful members written, links and names that lead outside refused, bounded
size and memory, temporary files removed on SIGTERM, unreadable files reported as `denied`."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from netsleuth.errors import BadSource
from netsleuth.evidence import source
from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from tests.helpers import findings, fixture, run, sos_tree

REPO = Path(__file__).resolve().parents[2]
STOCK_PYTHON = Path("/usr/bin/python3")


def _report(root: Path) -> Path:
    """A small real-shaped report: an MTU mismatch between a namespace and the host."""
    return sos_tree(
        root,
        {
            "sos_commands/networking/ip_-d_address": fixture("core/ns_host_fault.ip_address.txt"),
            "sos_commands/networking/ip_netns": "qdhcp-1 (id: 0)\n",
            "sos_commands/networking/ip_netns_exec_qdhcp-1_ip_address_show": fixture(
                "core/ns_ctr_fault.ip_address.txt"
            ),
            "sos_commands/kernel/uname_-a": "Linux compute1 5.4.0-97-generic #1 SMP x86_64 GNU/Linux\n",
            "sos_commands/date/date_--utc": "Thu Feb 10 16:19:17 UTC 2022\n",
            "etc/resolv.conf": "nameserver 10.0.0.2\n",
        },
    )


def _archive(src: Path, out: Path, extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> Path:  # type: ignore[assignment]
    with tarfile.open(out, "w:xz") as tar:
        tar.add(src, arcname=src.name)
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _member(
    name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    m = tarfile.TarInfo(name)
    m.type, m.linkname, m.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
    return m, data if kind == tarfile.REGTYPE else None


def test_archive_read_without_the_tarfile_filter_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian 12's Python 3.11.2 has no extraction filters (they came with 3.11.4)."""
    arc = _archive(_report(tmp_path / "sosreport-compute1-2022"), tmp_path / "s.tar.xz")
    for name in ("data_filter", "tar_filter", "fully_trusted_filter", "FilterError"):
        monkeypatch.delattr(tarfile, name, raising=False)

    def no_extract(*args: object, **kwargs: object) -> None:
        raise AssertionError("the archive path must not depend on TarFile.extract*")

    monkeypatch.setattr(tarfile.TarFile, "extract", no_extract)
    monkeypatch.setattr(tarfile.TarFile, "extractall", no_extract)
    with open_source(arc, all_netns=True) as b:
        assert b.kernel == "5.4.0-97-generic" and b.namespaces == ["", "qdhcp-1"]
        assert b.collected_at == "2022-02-10T16:19:17+00:00"
        assert (rc := b.get("etc.resolv_conf")) is not None and rc.ok


def _stock_python_env() -> dict[str, str]:
    if not STOCK_PYTHON.exists():
        pytest.skip(f"{STOCK_PYTHON} is not here")
    stock = subprocess.run([str(STOCK_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if stock != str(sys.version_info[:2]):
        pytest.skip(
            f"{STOCK_PYTHON} is {stock}: the venv's compiled dependencies need {sys.version_info[:2]}"
        )
    site = sysconfig.get_paths()["purelib"]
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{site}", "PYTHONDONTWRITEBYTECODE": "1"}


def test_archive_diagnosed_by_the_stock_python(tmp_path: Path) -> None:
    """The whole diagnosis of an archive under /usr/bin/python3 (Debian 12: 3.11.2), the project
    and its dependencies on PYTHONPATH."""
    env = _stock_python_env()
    arc = _archive(_report(tmp_path / "sosreport-compute1-2022"), tmp_path / "s.tar.xz")
    p = subprocess.run(
        [str(STOCK_PYTHON), "-m", "netsleuth.cli", "diagnose", str(arc), "--all-netns", "--format", "json"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert p.returncode == 2, p.stderr
    assert "mtu.mismatch" in [f["id"] for f in json.loads(p.stdout)["findings"]]


def test_only_useful_members_are_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _report(tmp_path / "sosreport-big")
    for pid in range(1, 3001):
        (root / "proc" / str(pid)).mkdir(parents=True)
        (root / "proc" / str(pid) / "status").write_text(f"Pid:\t{pid}\n")
    arc = _archive(root, tmp_path / "big.tar.xz")
    private = tmp_path / "private"
    private.mkdir()
    monkeypatch.setattr(source.tempfile, "mkdtemp", lambda prefix="": str(private))
    with open_source(arc) as b:
        written = [p for p in private.rglob("*") if p.is_file()]
        assert b.get("ip.addr") is not None
    assert 0 < len(written) <= 10, written
    assert not private.exists()  # removed at the end


def test_links_and_names_that_lead_outside(tmp_path: Path) -> None:
    top = "sosreport-h"
    extra = [
        _member(f"{top}/etc/resolv.conf", tarfile.SYMTYPE, link="/etc/shadow"),
        _member(f"{top}/etc/hosts", tarfile.SYMTYPE, link="../../../../etc/passwd"),
        _member(f"{top}/proc/net/dev", tarfile.SYMTYPE, link="snmp"),  # a loop
        _member(f"{top}/proc/net/snmp", tarfile.SYMTYPE, link="dev"),
        _member(f"{top}/etc/nsswitch.conf", tarfile.LNKTYPE, link="/etc/passwd"),
        _member(f"{top}/proc/net/softnet_stat", tarfile.FIFOTYPE),
        _member(f"{top}/proc/meminfo", tarfile.CHRTYPE),
        _member(f"{top}/" + "/".join(["d"] * 200) + "/ps", data=b"x"),
        _member(f"{top}/uptime", tarfile.SYMTYPE, link="sos_commands/kernel/uname_-a"),  # inside: kept
    ]
    root = sos_tree(tmp_path / top, {"sos_commands/kernel/uname_-a": "Linux h 5.4.0 #1 SMP x86_64\n"})
    arc = _archive(root, tmp_path / "h.tar.xz", extra)
    with open_source(arc) as b:
        for name in ("etc.resolv_conf", "etc.hosts", "proc.net_dev", "proc.net_snmp", "etc.nsswitch_conf",
                     "proc.softnet_stat", "proc.meminfo"):  # fmt: skip
            ev = b.get(name)
            assert ev is not None and ev.status is Status.MISSING, (name, ev)
        up = b.get("proc.uptime")
        assert up is not None and up.ok and up.text.startswith("Linux h")


@pytest.mark.parametrize("name", ["sosreport-h/../../evil", "/etc/cron.d/evil"])
def test_unsafe_member_names_are_refused(tmp_path: Path, name: str) -> None:
    root = sos_tree(tmp_path / "sosreport-h", {"sos_commands/kernel/uname_-a": "Linux h 5.4.0 #1\n"})
    arc = _archive(root, tmp_path / "h.tar.xz", [_member(name, data=b"x")])
    with pytest.raises(BadSource, match="unsafe member path"), open_source(arc):
        pass


def test_disk_use_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arc = _archive(_report(tmp_path / "sosreport-h"), tmp_path / "h.tar.xz")
    monkeypatch.setattr(source, "MAX_EXTRACT", 1000)
    with pytest.raises(BadSource, match="more than"), open_source(arc):
        pass


def test_sigterm_while_reading_an_archive_removes_the_copy(tmp_path: Path) -> None:
    root = _report(tmp_path / "sosreport-slow")
    log = root / "var" / "log" / "kern.log"
    log.parent.mkdir(parents=True)
    line = "Feb 10 16:19:00 compute1 kernel: [1.000000] device tap5e entered promiscuous mode\n"
    with log.open("w") as fh:  # a large member (300 MB), so reading the archive takes a moment
        block = line * 40_000
        for _ in range(100):
            fh.write(block)
    arc = tmp_path / "slow.tar.gz"
    with tarfile.open(arc, "w:gz", compresslevel=1) as tar:
        tar.add(root, arcname=root.name)
    shutil.rmtree(root)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-m", "netsleuth.cli", "diagnose", str(arc), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(tmpdir.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert any(tmpdir.iterdir()), "the private copy never appeared"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.startswith("netsleuth: ") and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmpdir.iterdir()) == []


def test_a_huge_manifest_costs_bounded_memory(tmp_path: Path) -> None:
    """A 72 MiB manifest (json.loads would take over 500 MB) read by record, the first 64 MiB of
    it (real ones hold a few MB): peak RSS stays low, time bounded."""
    root = _report(tmp_path / "sosreport-m")
    (root / "sos_reports").mkdir()
    record = (
        '{"command": "ip", "parameters": ["-d", "address"], "exec": "ip -d address", '
        '"filepath": "sos_commands/networking/ip_-d_address", "truncated": false, "return_code": 0},\n'
    )
    with (root / "sos_reports" / "manifest.json").open("w") as fh:
        fh.write(
            '{"version": "4.5", "start_time": "2022-02-10 16:19:05.924719", "components": {"report": {"plugins": {"x": {"commands": [\n'
        )
        block = record * 8192
        for _ in range((72 << 20) // len(block)):
            fh.write(block)
        fh.write(record.rstrip(",\n") + "]}}}}}\n")
    out = tmp_path / "report.json"
    # the diagnosis's own peak (VmHWM of its process, written as it exits): a child's ru_maxrss
    # would also count the peak of the pytest process it was forked from
    peak = (
        "import atexit, re, runpy, sys\n"
        "atexit.register(lambda: sys.stderr.write('VmHWM ' + re.search(r'VmHWM:\\s*(\\d+)', "
        "open('/proc/self/status').read()).group(1) + '\\n'))\n"
        "sys.argv = ['netsleuth', *sys.argv[1:]]\n"
        "runpy.run_module('netsleuth.cli', run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", peak, "diagnose", str(root), "--format", "json",
                           "-o", str(out)], stderr=subprocess.PIPE, text=True, timeout=300)  # fmt: skip
    assert proc.returncode in (0, 1, 2), proc.stderr
    notes = json.loads(out.read_text())["notes"]
    assert any("larger than 64 MiB, the rest not read" in n for n in notes), notes  # an index, not the truth
    kb = int(proc.stderr.rsplit("VmHWM ", 1)[-1].split()[0])
    assert kb < 300 * 1024, f"peak RSS {kb >> 10} MB"


def test_unreadable_files_of_a_root_made_report_are_denied(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A sosreport made by root has files only root reads (0440 root:root): read unprivileged,
    they are evidence `denied`, the rest is still read."""
    root = _report(tmp_path / "sosreport-root")
    (root / "sos_commands" / "networking" / "ip_-d_address").chmod(0o000)
    (root / "sos_commands" / "kernel").chmod(0o000)
    code = (
        "import sys; from pathlib import Path\n"
        "from netsleuth.evidence.source import open_source\n"
        "with open_source(Path(sys.argv[1])) as b:\n"
        "    for n in ('ip.addr', 'uname', 'etc.resolv_conf'):\n"
        "        e = b.get(n); print(n, e.status.value, e.error)\n"
        "    print('NOTES', b.notes)\n"
    )
    if os.geteuid() == 0:  # root reads everything: read it as nobody, with the stock interpreter
        if shutil.which("setpriv") is None or not STOCK_PYTHON.exists():
            pytest.skip("needs setpriv and /usr/bin/python3 to read the report unprivileged")
        shared = Path(tempfile.mkdtemp(prefix="netsleuth-denied-"))  # pytest's tmp is root's only
        request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
        (root / "sos_commands" / "kernel").chmod(0o755)
        shutil.copytree(root, shared / root.name)
        for q in [shared, *(d for d in shared.rglob("*") if d.is_dir())]:
            q.chmod(0o755)
        root = shared / root.name
        (root / "sos_commands" / "networking" / "ip_-d_address").chmod(0o000)
        (root / "sos_commands" / "kernel").chmod(0o000)
        argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", str(STOCK_PYTHON)]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    else:
        argv, env = [sys.executable], dict(os.environ)
    p = subprocess.run(
        [*argv, "-c", code, str(root)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert p.returncode == 0, p.stderr
    got = {line.split()[0]: line.split()[1] for line in p.stdout.splitlines() if not line.startswith("NOTES")}
    assert got == {"ip.addr": "denied", "uname": "denied", "etc.resolv_conf": "ok"}, p.stdout
    assert "sos_commands/kernel" in p.stdout


def test_a_report_tree_is_diagnosed_like_its_archive(tmp_path: Path) -> None:
    root = _report(tmp_path / "sosreport-compute1-2022")
    arc = _archive(root, tmp_path / "s.tar.xz")
    with open_source(root, all_netns=True) as a, open_source(arc, all_netns=True) as b:
        ra, rb = run(a), run(b)
    key = [(f.id, f.subject, f.netns) for f in ra.findings]
    assert key == [(f.id, f.subject, f.netns) for f in rb.findings]
    assert findings(ra, "mtu.mismatch")
