"""What `netsleuth fleet diagnose` reads: a directory or files of netsleuth bundles and sosreports
(directories or archives), `sos collect` archives (one tarball holding a sosreport tarball per node),
and the `fleet-collect.json` that `netsleuth fleet collect` writes beside the bundles.

A `sos collect` archive (sos >= 4: `sos-collector-<label>-<date>-<rand>.tar.xz`) holds, under one top
directory, each node's `sosreport-<node>-....tar.xz` (with its checksum), `sos_logs/` and the
collector's `sos_reports/manifest.json`. It is read in one pass: each node's tarball is copied to a
private temporary file when the analysis is ready for it, and removed once analysed, so the disk
holds a few nodes' reports at a time, never the whole archive unpacked.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from netsleuth.errors import BadSource
from netsleuth.evidence.bundle import ROOT as BUNDLE_ROOT
from netsleuth.evidence.sosreport import find_sos_root
from netsleuth.evidence.source import ARCHIVE_ERRORS

MANIFEST = "fleet-collect.json"
MANIFEST_SCHEMA = "netsleuth.fleet-collect/v1"
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz")
SIDE_FILES = (".sha256", ".md5", ".asc")  # checksums and signatures beside archives
MAX_MEMBER = 8 * 1024**3  # bytes one node's sosreport tarball may hold


def stem(label: str) -> str:
    """A file's name without its archive suffix: the host's name when nothing better is known.

    >>> stem("/tmp/f/hv1.tar.gz"), stem("sosreport-compute4-2022-02-10.tar.xz"), stem("dir/")
    ('hv1', 'sosreport-compute4-2022-02-10', 'dir')
    """
    name = PurePosixPath(label.rstrip("/")).name
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_archive_name(name: str) -> bool:
    return name.endswith(ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class HostInput:
    """One host's evidence to analyse: a bundle or sosreport (file or directory)."""

    label: str  # as the user knows it: the file, or "ARCHIVE!member" inside a sos collect archive
    path: Path  # for a node of a sos collect archive: its copy in the work directory


@dataclass(frozen=True)
class ManifestHost:
    """One host of `fleet-collect.json`."""

    name: str
    status: str
    message: str = ""
    bundle: str = ""
    address: str = ""
    duration_s: float | None = None
    started_at: str = ""


@dataclass
class CollectManifest:
    started_at: str
    inventory: str
    hosts: dict[str, ManifestHost] = field(default_factory=dict)
    limit: str = ""  # `fleet collect --limit`: these hosts are only part of the inventory

    def name_of(self, path: Path) -> str | None:
        """The inventory name of the host whose bundle is `path`."""
        for h in self.hosts.values():
            if h.bundle and Path(h.bundle).name == path.name:
                return h.name
        return None


def _host(name: str, d: Any) -> ManifestHost:
    if not isinstance(d, dict):
        raise BadSource(f"{MANIFEST}: host {name!r} is not an object")
    dur = d.get("duration_s")
    return ManifestHost(
        name=name,
        status=str(d.get("status", "")),
        message=" ".join(str(d.get("message", "") or "").split()),
        bundle=str(d.get("bundle") or ""),
        address=str(d.get("address", "") or ""),
        duration_s=float(dur) if isinstance(dur, int | float) else None,
        started_at=str(d.get("started_at", "") or ""),
    )


def read_manifest(path: Path) -> CollectManifest:
    """Parse `fleet-collect.json` (schema netsleuth.fleet-collect/v1); BadSource when it is not one."""
    try:
        doc = json.loads(path.read_text(errors="replace"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadSource(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != MANIFEST_SCHEMA:
        raise BadSource(f"{path}: not a {MANIFEST_SCHEMA} file")
    hosts = doc.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise BadSource(f"{path}: `hosts` is not an object")
    return CollectManifest(
        started_at=str(doc.get("started_at", "")),
        inventory=str(doc.get("inventory", "")),
        hosts={str(k): _host(str(k), v) for k, v in hosts.items()},
        limit=str(doc.get("limit") or ""),
    )


@dataclass
class FleetInputs:
    """Everything given: the hosts' inputs (archives not yet opened), a manifest, what was ignored."""

    inputs: list[Path] = field(default_factory=list)
    manifest: CollectManifest | None = None
    ignored: list[str] = field(default_factory=list)
    bad_manifest: str = ""  # why a fleet-collect.json given could not be read (the bundles still are)


def _take_manifest(found: FleetInputs, path: Path) -> None:
    """A broken manifest loses the inventory's names and statuses, never the bundles beside it."""
    try:
        found.manifest = read_manifest(path)
    except BadSource as exc:
        found.bad_manifest = str(exc)


def find_inputs(paths: list[Path]) -> FleetInputs:
    """Expand the command line: a directory of hosts (or one sosreport directory), or files."""
    found = FleetInputs()
    for p in paths:
        if not p.exists():  # one mistyped or vanished input is a host not analysed, not the fleet lost
            found.inputs.append(p)
        elif p.is_dir() and not (p / "sos_commands").is_dir():
            manifest = p / MANIFEST
            if manifest.is_file():
                _take_manifest(found, manifest)
            for entry in sorted(p.iterdir()):
                if entry.name.startswith(".") or entry.name == MANIFEST:
                    continue
                if (entry.is_dir() and find_sos_root(entry) is not None) or (
                    entry.is_file() and is_archive_name(entry.name)
                ):
                    found.inputs.append(entry)
                elif not entry.name.endswith(SIDE_FILES):
                    found.ignored.append(str(entry))
        elif p.is_file() and p.name == MANIFEST:
            _take_manifest(found, p)
        else:
            found.inputs.append(p)
    return found


def _depth(name: str) -> int:
    return len(PurePosixPath(name).parts)


def expand(path: Path, workdir: Path) -> Iterator[HostInput]:
    """The hosts one input holds: itself, or each node of a `sos collect` archive (copied out into
    `workdir` one at a time, as the caller asks for the next). An unreadable input is yielded as
    itself: opening it gives the reason."""
    try:
        single = path.is_dir() or not tarfile.is_tarfile(path)
    except ARCHIVE_ERRORS:  # garbage: opening it says why
        single = True
    if single:
        yield HostInput(str(path), path)
        return
    yielded = False
    try:
        with tarfile.open(path, "r|*") as tar:
            for m in tar:
                name = m.name.lstrip("./")
                parts = PurePosixPath(name).parts
                if not yielded and (parts[:1] == (BUNDLE_ROOT,) or "sos_commands" in parts[:2]):
                    break  # a netsleuth bundle or a single sosreport
                if not (m.isfile() and is_archive_name(name) and _depth(name) <= 2):
                    continue
                if m.size > MAX_MEMBER:
                    raise BadSource(f"{path}: member {name} is larger than {MAX_MEMBER >> 30} GiB")
                src = tar.extractfile(m)
                if src is None:
                    continue
                dest = Path(
                    tempfile.mkstemp(prefix="node-", suffix="-" + PurePosixPath(name).name, dir=workdir)[1]
                )
                with src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, 1024 * 1024)
                yielded = True
                yield HostInput(f"{path}!{PurePosixPath(name).name}", dest)
    except ARCHIVE_ERRORS as exc:
        if yielded:  # the nodes read so far stand; the rest of the archive is lost
            raise BadSource(f"{path}: corrupt or truncated after its first nodes ({exc})") from None
    if not yielded:
        yield HostInput(str(path), path)
