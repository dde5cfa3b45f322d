"""netsleuth bundles: a host's evidence in one .tar.gz, read back exactly as collected.

Layout:  netsleuth-bundle/meta.json           format, host, scopes, one record per piece of evidence
         netsleuth-bundle/data/<n>.txt         its text
         netsleuth-bundle/data/<n>.later.txt   the second sample of a counter
Reading never extracts to disk: members are read in memory, checked one by one, each bounded.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsleuth.errors import BadOutput, BadSource, clip
from netsleuth.evidence.model import MAX_TEXT, Bundle, Evidence
from netsleuth.messages import Msg, note_json, note_of

if TYPE_CHECKING:
    from netsleuth.evidence.bundle_meta import Meta

FORMAT = "netsleuth.bundle/v1"
ROOT = "netsleuth-bundle"
MAX_TOTAL = 2 * 1024**3  # bytes a bundle may unpack to (refused beyond, before reading it all)
MAX_MEMBER = 512 * 1024**2  # a member declaring more is refused at its header
MAX_META = 64 * 1024**2  # bytes of meta.json
MAX_KEPT = 192 * 1024**2  # bytes of evidence text held in memory for one bundle


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def check_writable(path: Path) -> None:
    """BadOutput, one line, when `path` cannot be written (said before collecting, not after)."""
    folder = path.parent
    if path.is_dir():
        raise BadOutput(f"cannot write {path}: it is a directory")
    if not folder.is_dir():
        raise BadOutput(f"cannot write {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadOutput(f"cannot write {path}: {folder} is not writable")


def _create_private(path: Path) -> tuple[int, Path]:
    """A new file beside `path`, mode 0600 from the start, under a random name, created
    exclusively and never through a link (another user cannot read it while it is written, nor
    plant a link that it would follow)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(16):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise BadOutput(f"cannot write {path}: {exc.strerror}") from None
    raise BadOutput(f"cannot write {path}: no free temporary name in {path.parent}")


def write_bundle(bundle: Bundle, path: Path) -> None:
    """Write the bundle as a .tar.gz, mode 0600 from its first byte (it may hold addresses and
    process lists), renamed into place when complete."""
    check_writable(path)
    records: list[dict[str, Any]] = []
    fd, tmp = _create_private(path)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for n, ev in enumerate(bundle.items):
                rec: dict[str, Any] = {
                    "name": ev.name,
                    "status": ev.status.value,
                    "source": ev.source,
                    "duration_s": round(ev.duration_s, 4),
                    "netns": ev.netns,
                    "key": ev.key,
                    "rc": ev.rc,
                    "error": ev.error,
                    "data": f"data/{n}.txt",
                }
                _add(tar, rec["data"], ev.content().encode())
                rec["error"] = ev.error  # content() says when it was cut
                if ev.later is not None:
                    rec["later"], rec["interval_s"] = f"data/{n}.later.txt", ev.interval_s
                    _add(tar, rec["later"], ev.later.encode())
                records.append(rec)
            meta = {
                "format": FORMAT,
                "hostname": bundle.hostname,
                "kernel": bundle.kernel,
                "collected_at": bundle.collected_at,
                "source": bundle.source,
                "namespaces": bundle.namespaces,
                "notes": [note_json(n) for n in bundle.notes],
                "evidence": records,
            }
            _add(tar, "meta.json", json.dumps(meta, indent=1).encode())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadOutput(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_bundle(tar: tarfile.TarFile) -> bool:
    """Whether the archive is a netsleuth bundle, from its first member alone (asking for
    meta.json by name would decompress the whole archive first, however large)."""
    first = tar.next()
    return first is not None and first.name.startswith(f"{ROOT}/")


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
