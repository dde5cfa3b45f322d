"""What this host's own configuration says about a target: the outgoing interface and its MTU."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from netsleuth import process


@dataclass(frozen=True)
class RouteTo:
    target: str
    dev: str
    src: str
    gateway: str
    mtu: int | None  # the route's own mtu, else the interface's


def route_to(target: str, timeout: float = 2.0) -> RouteTo | None:
    """`ip -j route get TARGET` (None when there is no route)."""
    r = process.run(["ip", "-j", "route", "get", target], timeout)
    if r.rc != 0 or not r.text().strip():
        return None
    data = json.loads(r.text())
    if not data:
        return None
    r = data[0]
    dev = str(r.get("dev", ""))
    mtu = r.get("metrics", [{}])[0].get("mtu") if r.get("metrics") else None
    if mtu is None and dev:
        mtu = iface_mtu(dev)
    return RouteTo(target, dev, str(r.get("prefsrc", "")), str(r.get("gateway", "")), mtu)


def iface_mtu(dev: str) -> int | None:
    try:
        return int(Path(f"/sys/class/net/{dev}/mtu").read_text().strip())
    except (OSError, ValueError):
        return None
