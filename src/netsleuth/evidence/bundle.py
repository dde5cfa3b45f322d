"""netsleuth bundles: a host's evidence in one .tar.gz, read back exactly as collected.

Layout:  netsleuth-bundle/meta.json           format, host, scopes, one record per piece of evidence
         netsleuth-bundle/data/<n>.txt         its text
         netsleuth-bundle/data/<n>.later.txt   the second sample of a counter
Reading never extracts to disk: members are read in memory, checked one by one, each bounded.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsleuth.collector import bundle as _writer
from netsleuth.collector.bundle import FORMAT as FORMAT
from netsleuth.collector.bundle import ROOT as ROOT
from netsleuth.collector.bundle import CannotWrite
from netsleuth.errors import BadOutput, BadSource, clip
from netsleuth.evidence.collector_words import words_of
from netsleuth.evidence.model import MAX_TEXT, Bundle, Evidence
from netsleuth.evidence.runner import record_of
from netsleuth.messages import Msg, note_json, note_of

if TYPE_CHECKING:
    from netsleuth.evidence.bundle_meta import Meta

MAX_TOTAL = 2 * 1024**3  # bytes a bundle may unpack to (refused beyond, before reading it all)
MAX_MEMBER = 512 * 1024**2  # a member declaring more is refused at its header
MAX_META = 64 * 1024**2  # bytes of meta.json
MAX_KEPT = 192 * 1024**2  # bytes of evidence text held in memory for one bundle


def check_writable(path: Path) -> None:
    """BadOutput, one line, when `path` cannot be written (said before collecting, not after)."""
    try:
        _writer.check_writable(str(path))
    except CannotWrite as exc:
        raise BadOutput(str(exc)) from None


def write_bundle(bundle: Bundle, path: Path) -> None:
    """Write the bundle as a .tar.gz, mode 0600 from its first byte (it may hold addresses and
    process lists), renamed into place when complete. The writing is the collector's
    (netsleuth.collector.bundle), so netsleuth-collect.pyz writes exactly the same format."""
    try:
        _writer.write_bundle(
            str(path),
            (record_of(ev) for ev in bundle.items),
            bundle.hostname,
            bundle.kernel,
            bundle.collected_at,
            bundle.namespaces,
            bundle.source,
            [note_json(n) for n in bundle.notes],
        )
    except CannotWrite as exc:
        raise BadOutput(str(exc)) from None


def load_json(data: bytes | str, what: str) -> Any:
    """JSON from an untrusted document: too deep, a number of thousands of digits, invalid: one
    named error (BadSource), never an internal one."""
    try:
        return json.loads(data)
    except RecursionError:
        raise BadSource(f"{what}: JSON nested too deep") from None
    except json.JSONDecodeError as exc:
        raise BadSource(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise BadSource(f"{what}: not valid JSON ({clip(str(exc), 120)})") from None


def _meta(data: bytes, label: str) -> Meta:
    from pydantic import ValidationError  # only where a bundle is read (start-up)

    from netsleuth.evidence.bundle_meta import Meta

    raw = load_json(data, f"{label}: meta.json")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        fmt = raw.get("format") if isinstance(raw, dict) else "?"
        raise BadSource(f"{label}: unknown bundle format {clip(repr(fmt), 80)}")
    try:
        return Meta.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise BadSource(f"{label}: meta.json: field {where}: {err['msg']}") from None


def read_bundle(tar: tarfile.TarFile, label: str) -> Bundle:
    """Read a bundle from an open archive in one pass: every member checked at its header (a
    member or a whole larger than the limits is refused before it is decompressed), each piece of
    evidence held up to `MAX_TEXT` (what is cut is said in its error), meta.json validated."""
    texts: dict[str, str] = {}
    cut: dict[str, int] = {}
    meta_data: bytes | None = None
    total = kept = 0
    for m in tar:
        if not m.name.startswith(f"{ROOT}/") or ".." in Path(m.name).parts or m.name.startswith("/"):
            raise BadSource(f"{label}: unexpected member {clip(repr(m.name), 200)} in a netsleuth bundle")
        if not m.isfile():
            raise BadSource(f"{label}: member {clip(repr(m.name), 200)} is not a regular file")
        if m.size > MAX_MEMBER:
            raise BadSource(
                f"{label}: member {clip(repr(m.name), 200)} is larger than {MAX_MEMBER >> 20} MiB"
            )
        total += m.size
        if total > MAX_TOTAL:
            raise BadSource(f"{label}: more than {MAX_TOTAL >> 30} GiB of evidence")
        name = m.name[len(ROOT) + 1 :]
        fh = tar.extractfile(m)
        if fh is None:
            raise BadSource(f"{label}: cannot read {name}")
        if name == "meta.json":
            if m.size > MAX_META:
                raise BadSource(f"{label}: meta.json is larger than {MAX_META >> 20} MiB")
            meta_data = fh.read()
            continue
        room = max(0, min(MAX_TEXT, MAX_KEPT - kept))
        data = fh.read(room)
        kept += len(data)
        if m.size > len(data):
            cut[name] = m.size
        texts[name] = data.decode(errors="replace")
    if meta_data is None:
        raise BadSource(f"{label}: missing meta.json")
    meta = _meta(meta_data, label)
    bundle = Bundle(
        source=f"bundle:{label}",
        hostname=meta.hostname,
        kernel=meta.kernel,
        collected_at=meta.collected_at,
        namespaces=list(meta.namespaces) or [""],
        notes=[n if isinstance(n, str) else note_of(n.model_dump()) for n in meta.notes],
    )

    def text(name: str) -> str:
        if name not in texts:
            raise BadSource(f"{label}: missing {clip(name, 200)}")
        return texts[name]

    for rec in meta.evidence:
        ev = Evidence(
            name=rec.name,
            status=rec.status,
            text=text(rec.data),
            source=rec.source,
            duration_s=rec.duration_s,
            netns=rec.netns,
            key=rec.key,
            rc=rec.rc,
            error=rec.error,
            why=words_of(rec.error) if rec.status != "ok" else None,
        )
        if rec.later:
            ev.later, ev.interval_s = text(rec.later), rec.interval_s or None
        for part in (rec.data, rec.later or ""):
            if part in cut:
                note = f"only the first {len(texts[part]) >> 20} MiB of {cut[part] / 2**20:.0f} MiB read"
                ev.error = f"{ev.error}; {note}" if ev.error else note
        bundle.add(ev)
    if cut:
        bundle.notes.append(
            Msg("evidence_cut", {"n": len(cut), "each": MAX_TEXT >> 20, "total": MAX_KEPT >> 20})
        )
    return bundle
