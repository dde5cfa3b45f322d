"""Write a netsleuth bundle: a host's evidence in one .tar.gz (read back by netsleuth.evidence.bundle).

Layout:  netsleuth-bundle/meta.json           format, host, scopes, one record per piece of evidence
         netsleuth-bundle/data/<n>.txt         its text
         netsleuth-bundle/data/<n>.later.txt   the second sample of a counter
"""

import binascii
import contextlib
import io
import json
import os
import tarfile
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from netsleuth.collector.model import Record

FORMAT = "netsleuth.bundle/v1"
ROOT = "netsleuth-bundle"


class CannotWrite(OSError):
    """The bundle cannot be written there (one line: what and why)."""


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo("{}/{}".format(ROOT, name))
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def check_writable(path: str) -> None:
    """CannotWrite when `path` cannot be written (said before collecting, not after)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CannotWrite("cannot write {}: it is a directory".format(path))
    if not os.path.isdir(folder):
        raise CannotWrite("cannot write {}: no such directory {}".format(path, folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CannotWrite("cannot write {}: {} is not writable".format(path, folder))


def _create_private(path: str) -> Tuple[int, str]:
    """A new file beside `path`, mode 0600 from the start, under a random name, created
    exclusively and never through a link (another user cannot read it while it is written, nor
    plant a link that it would follow)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    folder, base = os.path.split(os.path.abspath(path))
    for _ in range(16):
        tmp = os.path.join(folder, ".{}.{}.part".format(base, binascii.hexlify(os.urandom(8)).decode()))
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise CannotWrite("cannot write {}: {}".format(path, exc.strerror)) from None
    raise CannotWrite("cannot write {}: no free temporary name in {}".format(path, folder))


def write_bundle(
    path: str,
    records: Iterable[Record],
    hostname: str,
    kernel: str,
    collected_at: str,
    namespaces: List[str],
    source: str = "live",
    notes: Optional[List[Any]] = None,
) -> None:
    """Write the bundle as a .tar.gz, mode 0600 from its first byte (it may hold addresses and
    process lists), renamed into place when complete."""
    check_writable(path)
    meta_records: List[Dict[str, Any]] = []
    fd, tmp = _create_private(path)
    try:
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
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        if isinstance(exc, CannotWrite):
            raise
        raise CannotWrite("cannot write {}: {}".format(path, exc.strerror or exc)) from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
