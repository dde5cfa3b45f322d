"""Open a source — a netsleuth bundle or a sosreport, as a directory or an archive — as a Bundle.

A sosreport archive is read in one pass over its members: only the files the catalogue can use
are written, to a private temporary folder (removed when done, also on SIGTERM), bounded in
size; the tar extraction filters of Python >= 3.11.4 are not needed (Debian 12 has 3.11.2)."""

from __future__ import annotations

import contextlib
import lzma
import os
import shutil
import signal
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from netsleuth.collector.runner import blocks_upto
from netsleuth.errors import BadSource, NetsleuthError
from netsleuth.evidence.bundle import ROOT as BUNDLE_ROOT
from netsleuth.evidence.bundle import read_bundle
from netsleuth.evidence.model import Bundle
from netsleuth.evidence.sosreport import Wanted, find_sos_root, read_sosreport
from netsleuth.exitcode import ExitCode

MAX_EXTRACT = 4 * 1024**3  # bytes of a sosreport archive's useful members that may be written
MAX_PARTS = 32  # path depth of a member worth looking at (sos nests ~8 deep)
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError)
CHUNK = 1024 * 1024


class Terminated(NetsleuthError):
    """SIGTERM while a source was open: temporary files are removed on the way out."""

    exit_code = ExitCode.TERMINATED


@contextmanager
def open_source(path: Path, scopes: list[str] | None = None, all_netns: bool = False) -> Iterator[Bundle]:
    """Yield the Bundle of a bundle file/dir or sosreport dir/archive; temp files go when done."""
    if not path.exists():
        raise BadSource(f"{path}: no such file or directory")
    if path.is_dir():
        root = find_sos_root(path)
        if root is None:
            raise BadSource(f"{path}: not a sosreport (no sos_commands/) nor a netsleuth bundle")
        yield read_sosreport(root, str(path), scopes, all_netns)
        return
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115  (closed by the `with tar:` below)
    except tarfile.ReadError:
        raise BadSource(
            f"{path}: not a netsleuth bundle or sosreport (not a tar archive, plain or gz/xz/bz2)"
        ) from None
    except ARCHIVE_ERRORS as exc:
        raise BadSource(f"{path}: not a readable archive ({exc.__class__.__name__}: {exc})") from None
    try:
        with tar:
            first = tar.next()
            if first is not None and first.name.startswith(f"{BUNDLE_ROOT}/"):
                try:
                    bundle = read_bundle(tar, str(path))
                except ARCHIVE_ERRORS as exc:
                    raise BadSource(f"{path}: corrupt or truncated bundle ({exc})") from None
                yield _in_scopes(bundle, scopes, str(path))
                return
            with _private_dir() as tmp:
                _extract_sos(tar, first, tmp, path)
                root = find_sos_root(tmp)
                if root is None:
                    raise BadSource(
                        f"{path}: archive holds neither a sosreport (sos_commands/) nor a netsleuth bundle"
                    )
                yield read_sosreport(root, str(path), scopes, all_netns)
    except ARCHIVE_ERRORS as exc:
        raise BadSource(f"{path}: corrupt or truncated archive ({exc.__class__.__name__}: {exc})") from None


def _in_scopes(bundle: Bundle, scopes: list[str] | None, label: str) -> Bundle:
    """A bundle looked at in the namespaces asked for; one it does not hold is an error."""
    if not scopes:
        return bundle
    have = set(bundle.namespaces) | {ev.netns for ev in bundle.items}
    unknown = [s for s in scopes if s not in have]
    if unknown:
        names = sorted(n for n in have if n) or ["none"]
        raise BadSource(
            f"{label}: no network namespace named {', '.join(unknown)} in this bundle (it has: "
            f"{', '.join(names[:5])}{' …' if len(names) > 5 else ''})"
        )
    bundle.namespaces = list(scopes)
    return bundle


@contextmanager
def _private_dir() -> Iterator[Path]:
    """A temporary folder only we can read, removed at the end — on SIGTERM too (like Ctrl-C)."""
    old = None
    if threading.current_thread() is threading.main_thread():

        def _term(signum: int, frame: FrameType | None) -> None:
            raise Terminated("terminated (SIGTERM); temporary files removed")

        old = signal.signal(signal.SIGTERM, _term)  # before the folder exists: no moment without it
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix="netsleuth-sos-"))
        yield tmp
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _member_parts(name: str, label: Path) -> tuple[str, ...] | None:
    """The path of a member as parts; an absolute or climbing path is refused, a very deep one
    (or one with a NUL) is skipped."""
    split = name.split("/")
    if name.startswith("/") or ".." in split:
        raise BadSource(f"{label}: unsafe member path {name!r}")
    parts = tuple(p for p in split if p not in ("", "."))
    if not parts or len(parts) > MAX_PARTS or "\x00" in name:
        return None
    return parts


def _extract_sos(tar: tarfile.TarFile, first: tarfile.TarInfo | None, dest: Path, label: Path) -> None:
    """Write the members the catalogue can use: regular files only (links become hard links to
    a file already written inside `dest`; devices and fifos are never written), each under a
    new name opened exclusively, their total bounded. The index is streamed once; members
    already seen are dropped from memory."""
    wanted = Wanted()
    total = 0
    written: set[tuple[str, ...]] = set()
    links: list[tuple[tuple[str, ...], tarfile.TarInfo]] = []
    member = first
    while member is not None:
        parts = _member_parts(member.name, label)
        if parts is not None and (wanted("/".join(parts[1:])) or wanted("/".join(parts))):
            if member.issym() or member.islnk():
                links.append((parts, member))
            elif member.isfile():
                total += member.size
                if total > MAX_EXTRACT:
                    raise BadSource(
                        f"{label}: its useful members unpack to more than {MAX_EXTRACT >> 30} GiB"
                    )
                if _write(tar, member, dest, parts):
                    written.add(parts)
        elif parts is not None and "sos_commands" in parts[:2] and member.isdir():
            with contextlib.suppress(OSError):
                dest.joinpath(*parts[: parts.index("sos_commands") + 1]).mkdir(parents=True, exist_ok=True)
        vars(tar)["members"].clear()  # TarFile keeps every header read: the index is read once, in order
        member = tar.next()
    _link(links, written, dest)


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, parts: tuple[str, ...]) -> bool:
    target = dest.joinpath(*parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # a later member of the same name replaces it, as tar does
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:
        return False  # a name taken by a folder, or a folder taken by a file: skip it
    src = tar.extractfile(member)
    with os.fdopen(fd, "wb") as out:
        if src is not None:
            for chunk in blocks_upto(src, member.size, CHUNK):
                out.write(chunk)
    return True


def _link(
    links: list[tuple[tuple[str, ...], tarfile.TarInfo]], written: set[tuple[str, ...]], dest: Path
) -> None:
    """Links whose target is a file written above become hard links to it (chains resolved,
    loops and links that lead outside never)."""
    pending = list(links)
    for _ in range(8):
        left = []
        for parts, m in pending:
            base = parts[:-1] if m.issym() else ()  # a symlink is relative to its folder
            joined = os.path.normpath("/".join((*base, m.linkname)))
            target = tuple(joined.split("/"))
            if m.linkname.startswith("/") or joined.startswith("..") or target not in written:
                left.append((parts, m))
                continue
            with contextlib.suppress(OSError):
                dest.joinpath(*parts).parent.mkdir(parents=True, exist_ok=True)
                os.link(dest.joinpath(*target), dest.joinpath(*parts))
                written.add(parts)
        if len(left) == len(pending):
            return
        pending = left
