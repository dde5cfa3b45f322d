"""`ifconfig` (net-tools), old and new layouts: what sosreports of old hosts keep instead of `ip -s link`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsleuth.errors import ParseError

# text pasted from a terminal often loses the space between two counters ("overruns:8394frame:0")
_GLUED = re.compile(r"(?<=\d)(?=(?:frame|carrier|overruns|dropped|errors|collisions):)")


@dataclass(frozen=True)
class IfconfigIface:
    name: str
    flags: frozenset[str]
    mtu: int | None
    rx: dict[str, int] = field(default_factory=dict)  # packets, errors, dropped, over, frame
    tx: dict[str, int] = field(default_factory=dict)
    raw: str = ""  # the interface's block, as quoted evidence


def _blocks(text: str) -> list[str]:
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if (
            not line[0].isspace()
            and re.match(r"[^\s:]+[:\s]", line)
            and ("Link encap" in line or "flags=" in line)
        ):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            raise ParseError("ifconfig: text before the first interface", line)
    return ["\n".join(b) for b in blocks]


def parse_ifconfig(text: str) -> list[IfconfigIface]:
    """Parse `ifconfig` / `ifconfig -a` / `ifconfig IFACE`.

    >>> [i] = parse_ifconfig(SAMPLE_BOND2)   # seed 000, verbatim (note "overruns:8394frame:0")
    >>> i.name, i.mtu, i.rx["dropped"], i.rx["over"], "MASTER" in i.flags
    ('bond2', 1500, 1892018, 8394, True)
    """
    import jc  # only when there is ifconfig text to read (start-up)

    out: list[IfconfigIface] = []
    for block in _blocks(text):
        fixed = _GLUED.sub(" ", block)
        try:
            parsed = jc.parse("ifconfig", fixed, quiet=True)
        except Exception as exc:
            raise ParseError(f"ifconfig: {exc}", block.splitlines()[0]) from None
        rows = [r for r in parsed if isinstance(r, dict)] if isinstance(parsed, list) else []
        if len(rows) != 1:
            raise ParseError("ifconfig: could not read the interface block", block.splitlines()[0])
        r = rows[0]
        if r.get("rx_packets") is None or r.get("rx_dropped") is None:
            raise ParseError("ifconfig: no RX counters", block.splitlines()[0])
        flags: set[str] = set()
        for s in r.get("state") or []:
            flags.update(str(s).split())
        flags.update(str(r.get("flags") or "").split())
        if re.search(r"^\s*UP[\s,]", fixed, re.MULTILINE) or re.search(r"<UP[,>]", fixed):
            flags.add("UP")
        rx = {
            "packets": r.get("rx_packets"),
            "errors": r.get("rx_errors"),
            "dropped": r.get("rx_dropped"),
            "over": r.get("rx_overruns"),
            "frame": r.get("rx_frame"),
            "bytes": r.get("rx_bytes"),
        }
        tx = {
            "packets": r.get("tx_packets"),
            "errors": r.get("tx_errors"),
            "dropped": r.get("tx_dropped"),
            "carrier": r.get("tx_carrier"),
            "bytes": r.get("tx_bytes"),
        }
        out.append(
            IfconfigIface(
                str(r["name"]),
                frozenset(flags),
                r.get("mtu"),
                {k: int(v) for k, v in rx.items() if isinstance(v, int)},
                {k: int(v) for k, v in tx.items() if isinstance(v, int)},
                block,
            )
        )
    if not out:
        raise ParseError("ifconfig: no interface")
    return out


SAMPLE_BOND2 = """\
bond2 Link encap:Ethernet HWaddr00:0A:F7:5D:4A:E2
inet addr:172.16.3.51 Bcast:172.16.3.255 Mask:255.255.255.0
inet6 addr: fe80::20a:f7ff:fe5d:4ae2/64 Scope:Link
UP BROADCAST RUNNING MASTER MULTICAST MTU:1500 Metric:1
RX packets:5974542045 errors:8394 dropped:1892018 overruns:8394frame:0
TX packets:30430136566 errors:0 dropped:0 overruns:0 carrier:0
collisions:0 txqueuelen:0
RX bytes:5387974623010 (4.9 TiB) TX bytes:28489033161925 (25.9 TiB)
"""
