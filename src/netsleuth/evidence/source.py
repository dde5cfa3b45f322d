"""Open a source — a netsleuth bundle or a sosreport, as a directory or an archive — as a Bundle."""

from __future__ import annotations

import lzma
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netsleuth.errors import BadSource
from netsleuth.evidence.bundle import is_bundle, read_bundle
from netsleuth.evidence.model import Bundle
from netsleuth.evidence.sosreport import find_sos_root, read_sosreport

MAX_EXTRACT = 8 * 1024**3  # bytes a sosreport archive may unpack to
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError)


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
            if is_bundle(tar):
                try:
                    yield read_bundle(tar, str(path))
                except ARCHIVE_ERRORS as exc:
                    raise BadSource(f"{path}: corrupt or truncated bundle ({exc})") from None
                return
            tmp = Path(tempfile.mkdtemp(prefix="netsleuth-sos-"))
            try:
                _extract_sos(tar, tmp, path)
                root = find_sos_root(tmp)
                if root is None:
                    raise BadSource(
                        f"{path}: archive holds neither a sosreport (sos_commands/) nor a netsleuth bundle"
                    )
                yield read_sosreport(root, str(path), scopes, all_netns)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except ARCHIVE_ERRORS as exc:
        raise BadSource(f"{path}: corrupt or truncated archive ({exc.__class__.__name__}: {exc})") from None


def _extract_sos(tar: tarfile.TarFile, dest: Path, label: Path) -> None:
    """Extract into a private temp dir: regular files and directories only, no absolute paths,
    no `..`, no links or device files, bounded in total size."""
    total = 0
    for m in tar:
        name = m.name
        parts = Path(name).parts
        if name.startswith("/") or ".." in parts:
            raise BadSource(f"{label}: unsafe member path {name!r}")
        if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            continue  # device files, fifos: never
        total += m.size
        if total > MAX_EXTRACT:
            raise BadSource(f"{label}: unpacks to more than {MAX_EXTRACT >> 30} GiB")
        try:
            # the "data" filter refuses absolute paths and links that lead outside `dest`
            tar.extract(m, dest, set_attrs=False, filter="data")
        except tarfile.FilterError:
            continue
