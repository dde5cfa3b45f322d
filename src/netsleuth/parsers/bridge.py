"""`bridge fdb show` (live, and sosreports' `bridge -s -s -d -t fdb show`): the forwarding entries,
of which those with a `dst` are the VXLAN remotes a VTEP sends to (flannel, hand-made meshes)."""

from __future__ import annotations

from dataclasses import dataclass

from netsleuth.errors import ParseError
from netsleuth.parsers.iproute import _kv as _after  # the token after a keyword


@dataclass(frozen=True)
class FdbEntry:
    mac: str
    dev: str
    dst: str = ""  # the remote VTEP (VXLAN devices only)
    vni: int | None = None
    port: int | None = None
    master: str = ""
    permanent: bool = False  # configured (permanent/static), not learned from traffic (ages out)
    line: str = ""  # the entry as the file shows it


def parse_fdb(text: str) -> list[FdbEntry]:
    """Parse `bridge fdb show`; keeps every entry, `remotes()` picks the VXLAN ones.

    >>> es = parse_fdb(SAMPLE_FDB)
    >>> [(e.dev, e.dst) for e in es if e.dst]
    [('flannel.1', '10.6.1.235'), ('flannel.1', '10.6.3.76'), ('vx0', '10.99.200.1'), ('vx0', '10.99.0.2')]
    >>> es[0].mac, es[-1].vni, es[-1].port
    ('01:00:5e:00:00:01', 42, 8472)
    >>> [e.permanent for e in es if e.dev == "vx0"]  # learned from traffic, configured
    [False, True]
    """
    out: list[FdbEntry] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        toks = line.split()
        if "dev" not in toks or ":" not in toks[0]:
            raise ParseError("bridge fdb: expected 'MAC dev DEV ...'", raw)
        vni, port = _after(toks, "vni"), _after(toks, "port")
        out.append(
            FdbEntry(
                mac=toks[0].lower(),
                dev=_after(toks, "dev"),
                dst=_after(toks, "dst"),
                vni=int(vni) if vni.isdigit() else None,
                port=int(port) if port.isdigit() else None,
                master=_after(toks, "master"),
                permanent="permanent" in toks or "static" in toks,
                line=line,
            )
        )
    return out


SAMPLE_FDB = """\
01:00:5e:00:00:01 dev ens3 self permanent
46:af:62:75:ec:ee dev flannel.1 dst 10.6.1.235 used 5/1004 self permanent
92:22:3f:b6:02:6c dev flannel.1 dst 10.6.3.76 used 2/1004 self permanent
12:7e:61:46:05:b0 dev ens3 used 0/0 master br-ens3
1a:b4:0d:7f:d3:6b dev vx0 dst 10.99.200.1 self
00:00:00:00:00:00 dev vx0 dst 10.99.0.2 port 8472 vni 42 self permanent
"""
