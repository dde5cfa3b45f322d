"""Probe results -> evidence -> a Bundle, which the rules that read them judge
(analysis.probe_report): the same report as diagnose."""

from __future__ import annotations

import platform
import socket
from datetime import UTC, datetime
from typing import Any

from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.messages import Msg
from netsleuth.results.probes import (
    to_json,
)

__all__ = ["HOST", "Bundle", "Evidence", "Status"]


def evidence(kind: str, result: Any, source: str, duration_s: float = 0.0) -> Evidence:
    key = getattr(result, "target", "") or getattr(result, "iface", "") or getattr(result, "name", "")
    return Evidence(
        f"probe.{kind}", Status.OK, text=to_json(result), source=source, key=key, duration_s=duration_s
    )


def skipped(kind: str, key: str, why: str, source: str) -> Evidence:
    """A probe that could not run (no root, no route): evidence with the reason, never a pass."""
    status = Status.DENIED if "root" in why else Status.ERROR
    return Evidence(f"probe.{kind}", status, source=source, key=key, error=why)


def passive(names: tuple[str, ...], timeout: float = 2.0) -> list[Evidence]:
    from netsleuth.evidence.catalogue import spec
    from netsleuth.evidence.live import collect_spec

    out: list[Evidence] = []
    for name in names:
        out += collect_spec(spec(name), timeout, HOST)
    return out


def new_bundle(items: list[Evidence]) -> Bundle:
    b = Bundle(
        source="live",
        hostname=socket.gethostname(),
        kernel=platform.release(),
        collected_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    for it in items:
        b.add(it)
    for it in items:
        if it.name.startswith("probe.") and not it.ok:
            b.notes.append(Msg("probe_skipped", {"name": it.name, "key": it.key, "error": it.error}))
    return b
