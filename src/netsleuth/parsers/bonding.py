"""`/proc/net/bonding/BOND`: the kernel bonding driver's view of a bond and its members."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class BondMember:
    name: str
    mii_status: str  # "up" / "down" / "going back" ...
    link_failures: int
    speed: str = ""

    @property
    def up(self) -> bool:
        return self.mii_status == "up"


@dataclass(frozen=True)
class Bond:
    name: str
    mode: str
    mii_status: str
    active: str = ""  # "Currently Active Slave" (active-backup)
    members: list[BondMember] = field(default_factory=list)

    def member(self, name: str) -> BondMember | None:
        return next((m for m in self.members if m.name == name), None)


def parse_bonding(text: str, name: str) -> Bond:
    """Parse one /proc/net/bonding/<name> file.

    >>> b = parse_bonding(SAMPLE_BOND2, "bond2")
    >>> b.mode, b.active, [(m.name, m.mii_status, m.link_failures) for m in b.members]
    ('fault-tolerance (active-backup)', 'p6p2', [('p6p2', 'up', 0), ('p7p2', 'down', 3)])
    >>> parse_bonding("MII Status: up\\nSlave Interface p6p2", "bond0")
    Traceback (most recent call last):
    ...
    netsleuth.errors.ParseError: /proc/net/bonding: expected 'Key: value': 'Slave Interface p6p2'
    """
    head: dict[str, str] = {}
    members: list[dict[str, str]] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("Ethernet Channel Bonding Driver"):
            continue
        key, sep, value = s.partition(":")
        if not sep:
            raise ParseError("/proc/net/bonding: expected 'Key: value'", line)
        key, value = key.strip(), value.strip()
        if key == "Slave Interface":
            members.append({"name": value})
        elif members:
            members[-1].setdefault(key, value)
        else:
            head.setdefault(key, value)
    if "Bonding Mode" not in head and "MII Status" not in head:
        raise ParseError("/proc/net/bonding: no 'Bonding Mode' / 'MII Status' line")
    out: list[BondMember] = []
    for m in members:
        count = m.get("Link Failure Count", "0")
        if not count.isdigit():
            raise ParseError("/proc/net/bonding: Link Failure Count is not a number", count)
        out.append(BondMember(m["name"], m.get("MII Status", "").lower(), int(count), m.get("Speed", "")))
    return Bond(
        name,
        head.get("Bonding Mode", ""),
        head.get("MII Status", "").lower(),
        head.get("Currently Active Slave", ""),
        out,
    )


# The layout the kernel's bond_procfs.c prints (the test machines have no bonding driver to
# capture from); member names from seed 000 (bond2 over p6p2 and p7p2).
SAMPLE_BOND2 = """\
Ethernet Channel Bonding Driver: v3.7.1 (April 27, 2011)

Bonding Mode: fault-tolerance (active-backup)
Primary Slave: None
Currently Active Slave: p6p2
MII Status: up
MII Polling Interval (ms): 100
Up Delay (ms): 0
Down Delay (ms): 0

Slave Interface: p6p2
MII Status: up
Speed: 10000 Mbps
Duplex: full
Link Failure Count: 0
Permanent HW addr: 00:0a:f7:5d:4a:e2
Slave queue ID: 0

Slave Interface: p7p2
MII Status: down
Speed: Unknown
Duplex: Unknown
Link Failure Count: 3
Permanent HW addr: 00:0a:f7:5d:4a:e3
Slave queue ID: 0
"""
