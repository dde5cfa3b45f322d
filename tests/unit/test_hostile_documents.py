"""Hostile documents: bundles whose meta.json lies, members far larger than anything collected,
`--with` files that are not documents, `collect -o` where nothing can be written, commands that
print a gigabyte; and what a bundle must not expose (its file while written, credentials).

Each is one named line and exit 3 (or a result that says what was cut), in bounded memory."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from netsleuth.errors import BadOutput, BadSource
from netsleuth.evidence.bundle import ROOT, write_bundle
from netsleuth.evidence.model import MAX_TEXT
from netsleuth.evidence.redact import redact_bundle
from netsleuth.evidence.runner import run
from netsleuth.evidence.source import open_source
from netsleuth.messages import render_note
from tests.helpers import bundle, ev

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def _bundle_with(
    tmp: Path, meta: object, members: dict[str, bytes] | None = None, raw_meta: bytes | None = None
) -> Path:
    path = tmp / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (members or {"data/0.txt": b"x\n"}).items():
            info = tarfile.TarInfo(f"{ROOT}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        data = raw_meta if raw_meta is not None else json.dumps(meta).encode()
        info = tarfile.TarInfo(f"{ROOT}/meta.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


GOOD_RECORD = {"name": "uname", "status": "ok", "data": "data/0.txt"}


@pytest.mark.parametrize(
    ("meta", "named"),
    [
        ({"namespaces": 1}, "field namespaces"),
        ({"evidence": None}, "field evidence"),
        ({"notes": [{"a": 1}]}, "field notes.0"),
        ({"hostname": 7}, "field hostname"),
        ({"evidence": [GOOD_RECORD | {"status": "fine"}]}, "field evidence.0.status"),
        ({"evidence": [GOOD_RECORD | {"duration_s": 1e400}]}, "field evidence.0.duration_s"),
        ({"evidence": [GOOD_RECORD | {"data": 7}]}, "field evidence.0.data"),
        ({"evidence": [GOOD_RECORD | {"data": "data/9.txt"}]}, "missing data/9.txt"),
    ],
)
def test_a_meta_json_field_of_the_wrong_type_is_named(
    tmp_path: Path, meta: dict[str, object], named: str
) -> None:
    path = _bundle_with(tmp_path, {"format": "netsleuth.bundle/v1", **meta})
    with pytest.raises(BadSource, match=named.replace(".", r"\.")), open_source(path):
        pass


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b'{"format": "netsleuth.bundle/v1", "rc": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b'{"format": "netsleuth.bundle/v1", "evidence": [', "not valid JSON"),
    ],
)
def test_meta_json_that_is_no_document_is_named(tmp_path: Path, raw: bytes, named: str) -> None:
    path = _bundle_with(tmp_path, None, raw_meta=raw)
    proc = subprocess.run([*NETSLEUTH, "diagnose", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and named in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# the peak of this process since its exec (ru_maxrss would carry pytest's own from the fork)
PEAK_MB = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) // 1024"

MEMORY_SCRIPT = f"""
import sys
from pathlib import Path
from netsleuth.evidence.source import open_source
from netsleuth.analysis import analyse
with open_source(Path(sys.argv[1])) as b:
    report = analyse(b)
print({PEAK_MB}, len(report.to_json()),
      sum(1 for e in report.evidence if "first 16 MiB" in e.error))
"""


def test_four_members_of_200_mib_in_a_small_bundle_cost_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        records = []
        for n in range(4):
            info = tarfile.TarInfo(f"{ROOT}/data/{n}.txt")
            info.size = 200 * 1024 * 1024
            tar.addfile(info, io.BytesIO(b"\0" * info.size))
            records.append(
                {"name": ["ps", "ip.link", "df", "sysctl.net"][n], "status": "ok", "data": f"data/{n}.txt"}
            )
        meta = json.dumps({"format": "netsleuth.bundle/v1", "evidence": records}).encode()
        info = tarfile.TarInfo(f"{ROOT}/meta.json")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
    assert path.stat().st_size < 2 * 1024 * 1024
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    rss_mb, report_bytes, cut = (int(x) for x in proc.stdout.split())
    assert rss_mb < 300 and cut == 4
    assert report_bytes < 1_000_000


def test_a_member_declaring_gigabytes_is_refused_at_its_header(tmp_path: Path) -> None:
    """The tar header says 5 GiB: refused before a byte of it is decompressed."""
    path = tmp_path / "huge.tar"
    info = tarfile.TarInfo(f"{ROOT}/data/0.txt")
    info.size = 5 * 1024**3
    path.write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 4096)  # the data is not even there
    with pytest.raises(BadSource, match="larger than 512 MiB"), open_source(path):
        pass


def test_with_a_device_or_deep_json_is_one_named_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    src = tmp_path / "b.tar.gz"
    write_bundle(bundle(ev("uname", "Linux h 6.1.0 #1 SMP x86_64\n")), src)
    for arg, named in (("/dev/zero", "larger than 16 MiB"), (str(deep), "nested too deep")):
        proc = subprocess.run(
            [*NETSLEUTH, "diagnose", str(src), "--with", arg], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 3 and named in proc.stderr and "internal error" not in proc.stderr, (
            proc.stderr
        )


def test_collect_into_a_missing_directory_is_one_line_before_collecting(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*NETSLEUTH, "collect", "-o", str(tmp_path / "no" / "such" / "b.tar.gz"), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3 and "no such directory" in proc.stderr and "internal error" not in proc.stderr
    with pytest.raises(BadOutput):
        write_bundle(bundle(), tmp_path / "absent" / "b.tar.gz")


def test_a_bundle_is_private_from_its_first_byte_and_never_written_through_a_link(tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    victim = tmp_path / "victim"
    victim.write_text("root-owned file\n")
    old_umask = os.umask(0o022)
    try:
        # a link planted where the old predictable temporary name was: never followed
        (tmp_path / "b.tar.gz.part").symlink_to(victim)
        seen_modes: list[int] = []
        real_open = os.open

        def watching_open(p: object, flags: int, mode: int = 0o777, *a: object, **k: object) -> int:
            fd = real_open(p, flags, mode, *a, **k)  # type: ignore[arg-type]
            seen_modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
            return fd

        os.open = watching_open  # type: ignore[assignment]
        try:
            write_bundle(bundle(ev("uname", "Linux h 6.1.0\n")), out)
        finally:
            os.open = real_open
    finally:
        os.umask(old_umask)
    assert seen_modes and all(m == 0o600 for m in seen_modes)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert victim.read_text() == "root-owned file\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".b.tar.gz")]


def test_credentials_in_command_lines_are_masked_and_the_bundle_says_so() -> None:
    ps = (
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        "nova 42 0.0 0.1 1000 100 ? S 10:00 0:00 mysql -u nova --password=s3cr3t -h db1\n"
        "root 43 0.0 0.1 1000 100 ? S 10:00 0:00 /usr/bin/agent --os-password hunter2 --url amqp://u:pw@ctl/\n"
    )
    b = bundle(ev("ps", ps))
    assert redact_bundle(b) == 3
    text = b.get("ps").text  # type: ignore[union-attr]
    assert "s3cr3t" not in text and "hunter2" not in text and ":pw@" not in text
    assert "--password=********" in text and "--os-password ********" in text
    assert b.notes and "redacted 3 credential values in ps (3)" in render_note("en", b.notes[0])


def test_a_command_printing_a_gigabyte_is_kept_to_its_cap_in_bounded_memory() -> None:
    script = (
        "from netsleuth.evidence.runner import run\n"
        "e = run('x', ['head', '-c', str(1024**3), '/dev/zero'], 60)\n"
        f"print(len(e.text), e.status.value, {PEAK_MB}, e.error)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    kept, status, rss_mb, *why = proc.stdout.split()
    assert int(kept) == MAX_TEXT and status == "ok" and int(rss_mb) < 200
    assert "cut at 16 MiB of 1024 MiB" in " ".join(why)


def test_a_command_that_never_stops_printing_times_out_with_what_it_printed() -> None:
    e = run("x", ["yes"], 0.5)
    assert (e.status.value == "timeout" and len(e.text) == MAX_TEXT) or 0 < len(e.text) <= MAX_TEXT


def test_a_nul_in_ip_netns_output_is_left_out_with_a_note(tmp_path: Path) -> None:
    from tests.helpers import sos_tree

    root = sos_tree(
        tmp_path / "sos", {"sos_commands/networking/ip_netns": "qdhcp-1\0evil (id: 0)\nqrouter-2\n"}
    )
    with open_source(root, all_netns=True) as b:
        assert b.namespaces == ["", "qrouter-2"]
        assert any("NUL" in render_note("en", n) for n in b.notes)
