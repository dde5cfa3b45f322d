"""Hostile captures: truncated or malformed pcap/pcapng (fuzzed from captures written by dpkt,
Wireshark's editcap and netsleuth's own writer), a capture still being written, a pipe.

Each gives either a ParseError (one line, exit 3) or a partial result that says where it stopped,
never a traceback."""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest

from netsleuth.capture.analyse import analyse_capture
from netsleuth.capture.pcapng import write_pcapng
from netsleuth.errors import ParseError
from tests.unit.test_capture_pcap import _conversation, seed004_frames

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def _captures(tmp: Path) -> dict[str, Path]:
    frames = [*seed004_frames(), *_conversation(retrans=3)]
    out = {
        "dpkt.pcap": tmp / "dpkt.pcap",
        "dpkt.pcapng": tmp / "dpkt.pcapng",
        "own.pcapng": tmp / "own.pcapng",
    }
    stamped = [f if isinstance(f, tuple) else (1.0 + i, f) for i, f in enumerate(frames)]
    for name, writer in (("dpkt.pcap", dpkt.pcap.Writer), ("dpkt.pcapng", dpkt.pcapng.Writer)):
        with out[name].open("wb") as fh:
            w = writer(fh)
            for ts, frame in stamped:
                w.writepkt(frame, ts=ts)
    write_pcapng(
        out["own.pcapng"], ["eth1", "br0"], [(i % 2, 1.5 + i, f) for i, (_, f) in enumerate(stamped)]
    )
    if shutil.which("editcap"):
        out["editcap.pcapng"] = tmp / "editcap.pcapng"
        subprocess.run(
            ["editcap", "-F", "pcapng", str(out["dpkt.pcap"]), str(out["editcap.pcapng"])], check=True
        )
    return out


def _mutations(data: bytes, rnd: random.Random) -> list[tuple[str, bytes]]:
    cases = []
    for _ in range(8):  # cut anywhere: a capture still being written, or copied while it was
        at = rnd.randrange(1, len(data))
        cases.append((f"cut at {at}", data[:at]))
    for _ in range(7):  # a block or record header damaged
        at = rnd.randrange(0, min(len(data), 400))
        b = bytearray(data)
        b[at] ^= 1 << rnd.randrange(8)
        cases.append((f"bit flipped at {at}", bytes(b)))
    return cases


def _boundaries(path: Path) -> set[int]:
    """Offsets where a block (pcapng) or record (pcap) ends: a cut there leaves a whole file."""
    data = path.read_bytes()
    ends, off = set(), 24 if path.suffix == ".pcap" else 0
    while off + 16 <= len(data):
        off += (
            16 + struct.unpack_from("<I", data, off + 8)[0]
            if path.suffix == ".pcap"
            else struct.unpack_from("<I", data, off + 4)[0]
        )
        ends.add(off)
    return ends


def test_sixty_mangled_captures_give_a_parse_error_or_a_partial_result(tmp_path: Path) -> None:
    rnd = random.Random(9)
    seen = {"error": 0, "partial": 0, "whole": 0}
    n = 0
    for name, path in _captures(tmp_path).items():
        whole = analyse_capture(path)[0].packets
        for what, data in _mutations(path.read_bytes(), rnd):
            n += 1
            p = tmp_path / f"m{n}-{name}"
            p.write_bytes(data)
            try:
                summary, cut = analyse_capture(p)
            except ParseError as exc:
                assert str(exc).count("\n") == 0, what
                seen["error"] += 1
                continue
            if what.startswith("cut") and summary.packets < whole and len(data) not in _boundaries(path):
                assert cut, f"{name} {what}: {summary.packets} of {whole} frames and no word of the cut"
            seen["partial" if cut else "whole"] += 1
    assert n >= 60 and seen["partial"] >= 10 and seen["error"] >= 1


def test_a_capture_still_being_written_reads_like_a_truncated_classic_pcap(tmp_path: Path) -> None:
    caps = _captures(tmp_path)
    for name in ("dpkt.pcap", "dpkt.pcapng", "own.pcapng"):
        data = caps[name].read_bytes()
        half = tmp_path / f"half-{name}"
        half.write_bytes(data[: len(data) // 2 + 7])
        summary, cut = analyse_capture(half)
        assert 0 < summary.packets < analyse_capture(caps[name])[0].packets
        assert cut and "cut short" in cut[0], name


def test_a_capture_from_a_pipe_is_read_like_the_file(tmp_path: Path) -> None:
    path = _captures(tmp_path)["dpkt.pcapng"]
    want = analyse_capture(path)[0].packets
    for arg in ("-", "/dev/stdin"):
        proc = subprocess.run(
            [*NETSLEUTH, "pcap", arg, "--format", "json", "--summary", str(tmp_path / "s.json")],
            stdin=subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE).stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode in (0, 1, 2), proc.stderr
        assert json.loads((tmp_path / "s.json").read_text())["packets"] == want


def test_the_cli_on_a_truncated_pcapng_says_where_it_stopped(tmp_path: Path) -> None:
    data = _captures(tmp_path)["own.pcapng"].read_bytes()
    p = tmp_path / "writing.pcapng"
    p.write_bytes(data[: len(data) - 30])
    proc = subprocess.run(
        [*NETSLEUTH, "pcap", str(p), "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode in (0, 1, 2) and "Traceback" not in proc.stderr
    assert any("cut short" in note for note in json.loads(proc.stdout)["notes"])


@pytest.mark.parametrize("junk", [b"\x0a\x0d\x0d\x0a" + b"\xff" * 60, b"\xd4\xc3\xb2\xa1\x02", b""])
def test_the_cli_on_a_broken_header_is_one_line_and_exit_3(tmp_path: Path, junk: bytes) -> None:
    p = tmp_path / "broken.pcapng"
    p.write_bytes(junk)
    proc = subprocess.run([*NETSLEUTH, "pcap", str(p)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
