"""The flight recorder: when a fault is raised, the bundle of that moment is kept (mode 0600, in
a folder only root reads), so that `netsleuth diagnose BUNDLE` finds the fault later, offline.
Bundles are rotated: the oldest go first once there are more than `max_count` or they take more
than `max_bytes` together (the newest one is always kept)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from netsleuth.errors import NetsleuthError
from netsleuth.evidence.bundle import write_bundle
from netsleuth.evidence.model import Bundle

PATTERN = "netsleuth-*.tar.gz"


class RecorderError(Exception):
    """A bundle could not be kept (folder read-only, disk full): said in an event, watch goes on."""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "host"


@dataclass
class Recorder:
    folder: Path
    max_count: int = 20
    max_bytes: int = 200 * 1024 * 1024

    def keep(self, bundle: Bundle, why: str) -> Path:
        """Write the bundle; return its path. `why` (the finding id) goes into its name."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"netsleuth-{_safe(bundle.hostname)}-{stamp}-{_safe(why)}.tar.gz"
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_bundle(bundle, path)  # removes what it wrote when it fails
        except OSError as exc:
            raise RecorderError(exc.strerror or str(exc)) from None
        except NetsleuthError as exc:  # BadOutput: the folder full, read-only, not a folder
            raise RecorderError(str(exc)) from None
        self.rotate(keep=path)
        return path

    def kept(self) -> list[Path]:
        """The bundles in the folder, oldest first."""
        found = []
        for p in self.folder.glob(PATTERN):
            with contextlib.suppress(OSError):
                found.append((p.stat().st_mtime_ns, p.name, p))
        return [p for _, _, p in sorted(found)]

    def rotate(self, keep: Path | None = None) -> list[Path]:
        """Remove the oldest bundles beyond the count and size limits; return those removed."""
        bundles = self.kept()
        sizes = {}
        for p in bundles:
            with contextlib.suppress(OSError):
                sizes[p] = p.stat().st_size
        removed: list[Path] = []
        total = sum(sizes.values())
        for p in bundles:
            over = len(bundles) - len(removed) > self.max_count or total > self.max_bytes
            if not over or p == keep:
                continue
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
                total -= sizes.get(p, 0)
        return removed
