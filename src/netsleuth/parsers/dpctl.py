"""Open vSwitch datapath and bond state: `ovs-dpctl show` / `ovs-appctl dpctl/show [-s]`,
and `ovs-appctl bond/show`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class DpPort:
    number: int
    name: str
    type: str = ""  # "internal", "tap", "" for a system device


@dataclass(frozen=True)
class Datapath:
    name: str  # "system@ovs-system", "netdev@ovs-netdev"
    hit: int
    missed: int
    lost: int  # upcalls dropped: packets that missed the flow cache and never reached ovs-vswitchd
    flows: int | None
    ports: list[DpPort] = field(default_factory=list)
    lookups_line: str = ""  # quoted as evidence


@dataclass
class _DpBuild:
    name: str
    lookups: tuple[int, int, int] | None = None
    line: str = ""
    flows: int | None = None
    ports: list[DpPort] = field(default_factory=list)

    def build(self) -> Datapath:
        if self.lookups is None:
            raise ParseError("dpctl show: datapath without a 'lookups:' line", self.name)
        return Datapath(self.name, *self.lookups, self.flows, self.ports, self.line)


_DP = re.compile(r"^(\S+@\S+):$")
_LOOKUPS = re.compile(r"^lookups:\s+hit:(\d+)\s+missed:(\d+)\s+lost:(\d+)")
_PORT = re.compile(r"^port (\d+):\s+(\S+)(?:\s+\(([^)]*)\))?")


def datapath_named(command: str) -> str:
    """The datapath a command names (`ovs-appctl dpctl/show -s system@ovs-system`), else "".

    >>> datapath_named("ovs-appctl dpctl/show -s system@ovs-system"), datapath_named("ovs-dpctl show")
    ('system@ovs-system', '')
    """
    return next((w for w in command.split() if _DP.match(w + ":")), "")


def parse_dpctl_show(text: str, name: str = "") -> list[Datapath]:
    """Parse `ovs-dpctl show` / `ovs-appctl dpctl/show [-s]` (port statistics lines are skipped).

    >>> [dp] = parse_dpctl_show(SAMPLE_SEED004)   # seed 004, compute01
    >>> dp.name, dp.hit, dp.missed, dp.lost, dp.flows, dp.ports[3]
    ('system@ovs-system', 7589478, 410086, 0, 54, DpPort(number=3, name='eth1', type=''))

    A block without its `system@ovs-system:` header line (as some reports hold it) is still a
    datapath, called `name` (the one the command named) or "datapath":

    >>> [(dp.name, dp.lost) for dp in parse_dpctl_show(SAMPLE_NO_HEADER, "system@ovs-system")]
    [('system@ovs-system', 54691089)]
    """
    out: list[Datapath] = []
    cur: _DpBuild | None = None
    for raw in text.splitlines():
        s = raw.strip()
        if not s:
            continue
        m = _DP.match(s)
        if m and not raw[0].isspace():
            if cur is not None:
                out.append(cur.build())
            cur = _DpBuild(m.group(1))
            continue
        if cur is None:
            if not _LOOKUPS.match(s):
                raise ParseError("dpctl show: text before the first datapath", raw)
            cur = _DpBuild(name or "datapath")  # the header line is not there
        lm = _LOOKUPS.match(s)
        if lm:
            cur.lookups = (int(lm.group(1)), int(lm.group(2)), int(lm.group(3)))
            cur.line = s
            continue
        if s.startswith("flows:"):
            value = s.split(":", 1)[1].strip()
            if not value.isdigit():
                raise ParseError("dpctl show: flows is not a number", raw)
            cur.flows = int(value)
            continue
        pm = _PORT.match(s)
        if pm:
            cur.ports.append(DpPort(int(pm.group(1)), pm.group(2), pm.group(3) or ""))
            continue
        # masks:, caches:, port statistics (RX packets:..., TX ..., collisions:, RX bytes:) are
        # not needed; a line of another shape is not dpctl output
        if not re.match(r"[\w/ -]+:", s):
            raise ParseError("dpctl show: unexpected line", raw)
    if cur is not None:
        out.append(cur.build())
    if not out:
        raise ParseError("dpctl show: no datapath")
    return out


@dataclass(frozen=True)
class OvsBondMember:
    name: str
    enabled: bool
    active: bool = False
    may_enable: bool | None = None


@dataclass(frozen=True)
class OvsBond:
    name: str
    mode: str
    lacp_status: str
    members: list[OvsBondMember] = field(default_factory=list)
    raw: str = ""


_BOND = re.compile(r"^---- (\S+) ----$")
_MEMBER = re.compile(r"^(?:member|slave) (\S+): (enabled|disabled)$")


def parse_bond_show(text: str) -> list[OvsBond]:
    """Parse `ovs-appctl bond/show` (Open vSwitch >= 2.15 says "member", older "slave").

    >>> [b] = parse_bond_show(SAMPLE_BOND_SHOW)   # captured from OVS 3.1 (userspace datapath)
    >>> b.name, b.mode, [(m.name, m.enabled, m.active, m.may_enable) for m in b.members]
    ('bond26462', 'active-backup', [('nb1a26462', True, True, True), ('nb2a26462', False, False, False)])
    >>> parse_bond_show("")
    []
    """
    bonds: list[OvsBond] = []
    name = ""
    head: dict[str, str] = {}
    members: list[dict[str, object]] = []
    lines: list[str] = []

    def close() -> None:
        if not name:
            return
        bonds.append(
            OvsBond(
                name,
                head.get("bond_mode", ""),
                head.get("lacp_status", ""),
                [
                    OvsBondMember(
                        str(m["name"]),
                        bool(m["enabled"]),
                        bool(m.get("active", False)),
                        m.get("may_enable") if isinstance(m.get("may_enable"), bool) else None,  # type: ignore[arg-type]
                    )
                    for m in members
                ],
                "\n".join(lines).strip(),
            )
        )

    for raw in text.splitlines():
        s = raw.strip()
        if not s:
            lines.append("")
            continue
        bm = _BOND.match(s)
        if bm:
            close()
            name, head, members, lines = bm.group(1), {}, [], [s]
            continue
        if not name:
            raise ParseError("bond/show: text before the first '---- bond ----' header", raw)
        lines.append(raw)
        mm = _MEMBER.match(s)
        if mm:
            members.append({"name": mm.group(1), "enabled": mm.group(2) == "enabled"})
            continue
        if members and s in ("active member", "active slave"):
            members[-1]["active"] = True
            continue
        key, sep, value = s.partition(":")
        if not sep:
            raise ParseError("bond/show: expected 'key: value'", raw)
        if members and key.strip() == "may_enable":
            members[-1]["may_enable"] = value.strip() == "true"
        elif not members:
            head.setdefault(key.strip(), value.strip())
    close()
    return bonds


SAMPLE_SEED004 = """\
system@ovs-system:
\tlookups: hit:7589478 missed:410086 lost:0
\tflows: 54
\tmasks: hit:62147619 total:10 hit/pkt:7.77
\tport 0: ovs-system (internal)
\tport 1: br-int (internal)
\tport 2: br-tun (internal)
\tport 3: eth1
\tport 4: br-data (internal)
\tport 5: qvo34b16ff1-bb
\tport 6: qvoe6366126-d8
"""

SAMPLE_BOND_SHOW = """\
---- bond26462 ----
bond_mode: active-backup
bond may use recirculation: no, Recirc-ID : -1
bond-hash-basis: 0
lb_output action: disabled, bond-id: -1
updelay: 0 ms
downdelay: 0 ms
lacp_status: off
lacp_fallback_ab: false
active-backup primary: <none>
active member mac: 26:1b:08:9f:93:b8(nb1a26462)

member nb1a26462: enabled
  active member
  may_enable: true

member nb2a26462: disabled
  may_enable: false

"""


# hotsos's field case of lost upcalls: the whole `ovs-appctl dpctl/show -s system@ovs-system` file
SAMPLE_NO_HEADER = """\
lookups: hit:39017272903 missed:137481120 lost:54691089
"""
