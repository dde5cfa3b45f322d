"""/proc/net/snmp: the kernel's per-protocol counters (a header line, then a values line)."""

from __future__ import annotations

from netsleuth.errors import ParseError


def parse_snmp_csum(text: str) -> tuple[dict[str, int], list[str]]:
    """InCsumErrors per protocol from /proc/net/snmp (header line, then values line).

    >>> parse_snmp_csum("Tcp: RtoAlgorithm InCsumErrors\\nTcp: 1 7\\nUdp: InDatagrams InCsumErrors\\nUdp: 5 0")
    ({'Tcp': 7, 'Udp': 0}, ['Tcp: InCsumErrors 7', 'Udp: InCsumErrors 0'])
    """
    out: dict[str, int] = {}
    lines: list[str] = []
    heads: dict[str, list[str]] = {}
    for line in text.splitlines():
        proto, sep, rest = line.partition(":")
        if not sep:
            continue
        toks = rest.split()
        if proto not in heads:
            heads[proto] = toks
            continue
        names = heads.pop(proto)
        if "InCsumErrors" in names and proto in ("Tcp", "Udp"):
            i = names.index("InCsumErrors")
            if i >= len(toks) or not toks[i].lstrip("-").isdigit():
                raise ParseError("/proc/net/snmp: InCsumErrors value missing", line)
            out[proto] = int(toks[i])
            lines.append(f"{proto}: InCsumErrors {toks[i]}")
    if not out:
        raise ParseError("/proc/net/snmp: no InCsumErrors counter")
    return out, lines
