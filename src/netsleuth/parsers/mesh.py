"""The fleet's mesh matrix (`netsleuth fleet probe`, schema `netsleuth.mesh/v1`): every host probed
every peer's underlay address (ICMP, path MTU with DF, UDP to the tunnel port with a token-checked
responder), and where the UDP probe was seen on its way (left the source, reached the destination's
NIC, delivered to the responder)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from netsleuth.errors import ParseError

SCHEMA = "netsleuth.mesh/v1"
OUTCOMES = ("ok", "lost", "skipped")


@dataclass(frozen=True)
class UdpSeen:
    """Where the UDP probe was seen; None: not observed (no capture point there)."""

    left_src: bool | None = None
    reached_dst_nic: bool | None = None
    delivered: bool | None = None


@dataclass(frozen=True)
class MeshResult:
    src: str
    dst: str
    icmp: str  # ok | lost | skipped
    udp: str  # ok | lost | skipped
    pmtu: int | None = None
    seen: UdpSeen = field(default_factory=UdpSeen)
    detail: str = ""

    def line(self, port: int) -> str:
        """One line for a finding's evidence: what was sent, what came back, where it was seen."""
        seen = []
        for label, v in (
            ("left src", self.seen.left_src),
            ("at dst NIC", self.seen.reached_dst_nic),
            ("delivered", self.seen.delivered),
        ):
            if v is not None:
                seen.append(f"{label}: {'yes' if v else 'no'}")
        where = f" ({', '.join(seen)})" if seen else ""
        detail = f" — {self.detail}" if self.detail else ""
        return f"{self.src} -> {self.dst}: icmp {self.icmp}, udp/{port} {self.udp}{where}{detail}"


@dataclass(frozen=True)
class Mesh:
    port: int
    addresses: dict[str, str]  # host name -> underlay address probed
    results: list[MeshResult]

    def result(self, src: str, dst: str) -> MeshResult | None:
        for r in self.results:
            if r.src == src and r.dst == dst:
                return r
        return None


def _outcome(value: Any, what: str) -> str:
    if value not in OUTCOMES:
        raise ParseError(f"mesh: {what} must be one of {', '.join(OUTCOMES)}", repr(value))
    return str(value)


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_mesh(text: str) -> Mesh:
    """Parse a `netsleuth.mesh/v1` matrix.

    >>> m = parse_mesh(SAMPLE_MESH)
    >>> m.port, m.addresses["hv4"], [(r.src, r.dst, r.udp) for r in m.results if r.udp != "ok"]
    (4789, '10.99.0.4', [('hv1', 'hv4', 'lost')])
    >>> m.result("hv1", "hv4").line(m.port)
    'hv1 -> hv4: icmp ok, udp/4789 lost (left src: yes, at dst NIC: yes, delivered: no)'
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"mesh: invalid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise ParseError(f"mesh: not a {SCHEMA} matrix", repr(got))
    hosts = doc.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise ParseError("mesh: `hosts` must be an object", repr(hosts)[:80])
    addresses = {str(k): str((v or {}).get("address", "")) for k, v in hosts.items() if isinstance(v, dict)}
    results: list[MeshResult] = []
    for row in doc.get("results") or []:
        if not isinstance(row, dict) or "src" not in row or "dst" not in row:
            raise ParseError("mesh: a result needs src and dst", repr(row)[:120])
        seen = row.get("udp_seen") or {}
        pmtu = row.get("pmtu")
        results.append(
            MeshResult(
                src=str(row["src"]),
                dst=str(row["dst"]),
                icmp=_outcome(row.get("icmp"), "icmp"),
                udp=_outcome(row.get("udp"), "udp"),
                pmtu=pmtu if isinstance(pmtu, int) else None,
                seen=UdpSeen(
                    _flag(seen.get("left_src")),
                    _flag(seen.get("reached_dst_nic")),
                    _flag(seen.get("delivered")),
                ),
                detail=str(row.get("detail", "")),
            )
        )
    port = doc.get("port", 4789)
    if not isinstance(port, int):
        raise ParseError("mesh: `port` must be a number", repr(port))
    return Mesh(port, addresses, results)


SAMPLE_MESH = """\
{"schema": "netsleuth.mesh/v1", "port": 4789,
 "hosts": {"hv1": {"address": "10.99.0.1"}, "hv4": {"address": "10.99.0.4"}},
 "results": [
  {"src": "hv1", "dst": "hv4", "icmp": "ok", "pmtu": 1500, "udp": "lost",
   "udp_seen": {"left_src": true, "reached_dst_nic": true, "delivered": false}, "detail": ""},
  {"src": "hv4", "dst": "hv1", "icmp": "ok", "pmtu": 1500, "udp": "ok",
   "udp_seen": {"left_src": true, "reached_dst_nic": true, "delivered": true}, "detail": ""}]}
"""
