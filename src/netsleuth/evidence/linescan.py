"""Find the lines of a piece of evidence that may hold one of some literals: the prefilter of the
log scan, where gigabytes of log are read once and only a few lines reach Python.

Three engines give the same lines, the first usable one is used:

- `hyperscan` (the PyPI package, an optional import): one compiled multi-literal matcher over
  each block, in C;
- `rg` (ripgrep, when installed): for evidence stored on disk, the whole file in one process,
  every literal at once (a second core reads while Python parses). ripgrep holds a whole line in
  memory, so it runs under a memory limit; should a line of gigabytes exceed it, the Python engine
  reads the rest of the file;
- `python`: `bytes.find` per literal over each block; always there.

Each streams the evidence in blocks of whole lines (memory stays at one block), yields every
candidate line once, in order, without its newline, cut at `MAX_LINE` bytes (or less) and decoded (invalid
UTF-8 replaced). A line longer than a block is searched in its first block only and the rest
skipped, so time stays linear and memory bounded even on a file without a newline. What a
candidate line really holds is decided by the caller, on the cut line: the engines only have to
find a superset, and so every engine gives the same events.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from netsleuth.evidence.model import BLOCK, MAX_LINE, Evidence, Readable, blocks_in_place

ENGINES = ("hyperscan", "rg", "python")
RG_MEMORY = 64 * 1024 * 1024  # address space ripgrep may use (it needs ~10 MB; a line of more aborts it)
ENV_ENGINE = "NETSLEUTH_SCAN_ENGINE"  # force one engine (tests, benchmarks)


def _open(ev: Evidence) -> io.BufferedIOBase:
    if ev.path is not None and not ev.text:
        return ev.path.open("rb")
    return io.BytesIO(ev.text.encode(errors="replace"))


def _lines_at(buf: bytearray, stop: int, starts: set[int], cut: int) -> Iterator[str]:
    for start in sorted(starts):
        end = buf.find(b"\n", start, stop)
        line = buf[start : min(stop if end < 0 else end, start + cut)]
        yield line.rstrip(b"\r").decode(errors="replace")


def _python(fh: Readable, literals: Sequence[bytes], cut: int) -> Iterator[str]:
    for buf, first, stop in blocks_in_place(fh):
        starts: set[int] = set()
        for lit in literals:
            pos = buf.find(lit, first, stop)
            while pos >= 0:
                starts.add(max(first, buf.rfind(b"\n", first, pos) + 1))
                nxt = buf.find(b"\n", pos, stop)
                pos = buf.find(lit, nxt, stop) if nxt >= 0 else -1
        yield from _lines_at(buf, stop, starts, cut)


@cache
def _hyperscan_db(literals: tuple[bytes, ...]) -> Any:
    import hyperscan  # optional: the fastest prefilter when present (pip install netsleuth[fast])

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[re.escape(lit) for lit in literals],
        ids=list(range(len(literals))),
        elements=len(literals),
        flags=[0] * len(literals),
    )
    return db


def _hyperscan(fh: Readable, literals: Sequence[bytes], cut: int) -> Iterator[str]:
    db = _hyperscan_db(tuple(literals))
    ends: list[int] = []

    def hit(_id: int, _frm: int, to: int, _flags: int, _ctx: object) -> None:
        ends.append(to)

    for buf, first, stop in blocks_in_place(fh):
        ends.clear()
        with memoryview(buf) as view:
            db.scan(view[first:stop], match_event_handler=hit)
        starts = {max(first, buf.rfind(b"\n", first, first + to - 1) + 1) for to in ends}
        yield from _lines_at(buf, stop, starts, cut)


def _rg_escape(lit: bytes) -> bytes:
    return re.sub(rb"([\\.+*?()|\[\]{}^$])", rb"\\\1", lit)


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (RG_MEMORY, RG_MEMORY))


def _rg(path: str, literals: Sequence[bytes], cut: int) -> Iterator[str]:
    """ripgrep over a whole file: every literal at once, the matching lines streamed back. Should
    ripgrep fail (a line longer than its memory limit), the Python engine goes on from the line
    after the last one given."""
    argv: list[str | bytes] = [
        "rg",
        "--no-config",
        "--no-mmap",
        "-a",
        "-N",
        "-I",
        "--no-heading",
        "--color=never",
    ]
    for lit in literals:
        argv += [b"-e", _rg_escape(lit)]
    import subprocess  # here: loading the rules (`rules list`, start-up) runs no command

    proc = subprocess.Popen(
        [*argv, "--", path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_memory,
    )
    assert proc.stdout is not None
    given = 0
    try:
        fh = proc.stdout
        while line := fh.readline(cut + 1):
            if not line.endswith(b"\n") and len(line) > cut:
                while (rest := fh.readline(BLOCK)) and not rest.endswith(b"\n"):
                    pass  # the rest of an overlong line
            given += 1
            yield line.rstrip(b"\n")[:cut].rstrip(b"\r").decode(errors="replace")
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
    if rc not in (0, 1):  # 1: no line matched
        with open(path, "rb") as fh2:
            for n, line_text in enumerate(_python(fh2, literals, cut)):
                if n >= given:
                    yield line_text


@cache
def _have_hyperscan() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def available() -> list[str]:
    """The engines usable here, fastest first."""
    return [
        e
        for e in ENGINES
        if e == "python" or (e == "hyperscan" and _have_hyperscan()) or (e == "rg" and shutil.which("rg"))
    ]


def engine_for(ev: Evidence, wanted: str | None = None) -> str:
    """The engine used for this evidence: `wanted` (or $NETSLEUTH_SCAN_ENGINE) when it can serve it,
    else the fastest that can (ripgrep reads files on disk only)."""
    wanted = wanted or os.environ.get(ENV_ENGINE) or None
    usable = [e for e in available() if e != "rg" or (ev.path is not None and not ev.text)]
    if wanted in usable:
        return wanted
    return usable[0]


def candidate_lines(
    ev: Evidence, literals: Sequence[str], engine: str | None = None, cut: int = MAX_LINE
) -> Iterator[str]:
    r"""Each line of the evidence that contains one of `literals`, once, in order, cut at `cut`
    bytes (see the module).

    >>> from netsleuth.evidence.model import Status
    >>> e = Evidence("log", Status.OK, text="1 table full\n2 zzz\n3 over-mtu\n4 table full over-mtu")
    >>> {list(candidate_lines(e, ["table full", "over-mtu"], x)) == ['1 table full', '3 over-mtu',
    ...  '4 table full over-mtu'] for x in available()}
    {True}
    """
    lits = sorted({lit.encode() for lit in literals if lit})
    if not lits:
        return
    which = engine_for(ev, engine)
    if which == "rg" and ev.path is not None:
        yield from _rg(str(ev.path), lits, cut)
        return
    with _open(ev) as fh:
        yield from (_hyperscan if which == "hyperscan" else _python)(fh, lits, cut)
