"""netsleuth bundles: a host's evidence in one .tar.gz, read back exactly as collected.

Layout:  netsleuth-bundle/meta.json           format, host, scopes, one record per piece of evidence
         netsleuth-bundle/data/<n>.txt         its text
         netsleuth-bundle/data/<n>.later.txt   the second sample of a counter
Reading never extracts to disk: members are read in memory, checked one by one.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from netsleuth.errors import BadSource
from netsleuth.evidence.model import Bundle, Evidence, Status
from netsleuth.messages import note_json, note_of

FORMAT = "netsleuth.bundle/v1"
ROOT = "netsleuth-bundle"
MAX_TOTAL = 2 * 1024**3  # bytes of evidence a bundle may hold
MAX_MEMBER = 512 * 1024**2


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def write_bundle(bundle: Bundle, path: Path) -> None:
    """Write the bundle as a .tar.gz (mode 0600: it may hold addresses and process lists)."""
    records: list[dict[str, Any]] = []
    tmp = path.with_name(path.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
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
    tmp.chmod(0o600)
    tmp.replace(path)


def is_bundle(tar: tarfile.TarFile) -> bool:
    try:
        tar.getmember(f"{ROOT}/meta.json")
    except KeyError:
        return False
    return True


def read_bundle(tar: tarfile.TarFile, label: str) -> Bundle:
    """Read a bundle from an open archive; every member is checked before it is read."""
    members: dict[str, tarfile.TarInfo] = {}
    total = 0
    for m in tar.getmembers():
        if not m.name.startswith(f"{ROOT}/") or ".." in Path(m.name).parts or m.name.startswith("/"):
            raise BadSource(f"{label}: unexpected member {m.name!r} in a netsleuth bundle")
        if not m.isfile():
            raise BadSource(f"{label}: member {m.name!r} is not a regular file")
        if m.size > MAX_MEMBER:
            raise BadSource(f"{label}: member {m.name!r} is larger than {MAX_MEMBER >> 20} MiB")
        total += m.size
        if total > MAX_TOTAL:
            raise BadSource(f"{label}: more than {MAX_TOTAL >> 30} GiB of evidence")
        members[m.name[len(ROOT) + 1 :]] = m

    def text(name: str) -> str:
        info = members.get(name)
        if info is None:
            raise BadSource(f"{label}: missing {name}")
        fh = tar.extractfile(info)
        if fh is None:
            raise BadSource(f"{label}: cannot read {name}")
        return fh.read().decode(errors="replace")

    try:
        meta = json.loads(text("meta.json"))
    except json.JSONDecodeError as exc:
        raise BadSource(f"{label}: meta.json is not valid JSON ({exc.msg})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BadSource(
            f"{label}: unknown bundle format {meta.get('format') if isinstance(meta, dict) else '?'!r}"
        )
    bundle = Bundle(
        source=f"bundle:{label}",
        hostname=str(meta.get("hostname", "")),
        kernel=str(meta.get("kernel", "")),
        collected_at=str(meta.get("collected_at", "")),
        namespaces=list(meta.get("namespaces") or [""]),
        notes=[note_of(n) for n in meta.get("notes") or []],
    )
    for rec in meta.get("evidence", []):
        try:
            status = Status(rec["status"])
            ev = Evidence(
                name=str(rec["name"]),
                status=status,
                text=text(rec["data"]),
                source=str(rec.get("source", "")),
                duration_s=float(rec.get("duration_s", 0)),
                netns=str(rec.get("netns", "")),
                key=str(rec.get("key", "")),
                rc=rec.get("rc"),
                error=str(rec.get("error", "")),
            )
            if rec.get("later"):
                ev.later, ev.interval_s = text(rec["later"]), float(rec.get("interval_s") or 0) or None
        except (KeyError, ValueError, TypeError) as exc:
            raise BadSource(f"{label}: bad evidence record in meta.json ({exc})") from None
        bundle.add(ev)
    return bundle
