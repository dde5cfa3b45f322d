"""Write a netsleuth bundle: a host's evidence in one .tar.gz (read back by netsleuth.evidence.bundle).

Layout:  netsleuth-bundle/meta.json           format, host, scopes, one record per piece of evidence
         netsleuth-bundle/data/<n>.txt         its text
         netsleuth-bundle/data/<n>.later.txt   the second sample of a counter
"""

import io
import json
import os
import tarfile
import time
from typing import Any, Dict, Iterable, List, Optional

from netsleuth.collector.model import Record

FORMAT = "netsleuth.bundle/v1"
ROOT = "netsleuth-bundle"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo("{}/{}".format(ROOT, name))
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def write_bundle(
    path: str,
    records: Iterable[Record],
    hostname: str,
    kernel: str,
    collected_at: str,
    namespaces: List[str],
    source: str = "live",
    notes: Optional[List[str]] = None,
) -> None:
    """Write the bundle as a .tar.gz (mode 0600: it may hold addresses and process lists)."""
    meta_records: List[Dict[str, Any]] = []
    tmp = path + ".part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for n, rec in enumerate(records):
            meta: Dict[str, Any] = {
                "name": rec.name,
                "status": rec.status,
                "source": rec.source,
                "duration_s": round(rec.duration_s, 4),
                "netns": rec.netns,
                "key": rec.key,
                "rc": rec.rc,
                "error": rec.error,
                "data": "data/{}.txt".format(n),
            }
            _add(tar, meta["data"], rec.text.encode())
            if rec.later is not None:
                meta["later"], meta["interval_s"] = "data/{}.later.txt".format(n), rec.interval_s
                _add(tar, meta["later"], rec.later.encode())
            meta_records.append(meta)
        doc = {
            "format": FORMAT,
            "hostname": hostname,
            "kernel": kernel,
            "collected_at": collected_at,
            "source": source,
            "namespaces": namespaces,
            "notes": list(notes or []),
            "evidence": meta_records,
        }
        _add(tar, "meta.json", json.dumps(doc, indent=1).encode())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
