"""`ip link` / `ip address`: JSON (`ip -j -d -s -s`, live) and text (`ip -s -d link`, sosreports)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from netsleuth.errors import ParseError

# counters kept from stats64 (JSON) and the text table, under one naming
RX_KEYS = ("bytes", "packets", "errors", "dropped", "missed", "over", "crc", "frame", "fifo")
TX_KEYS = ("bytes", "packets", "errors", "dropped", "carrier")


@dataclass
class Vxlan:
    vni: int | None = None
    remote: str = ""
    local: str = ""
    group: str = ""
    dev: str = ""
    port: int = 4789
    df: str = ""
    external: bool = False  # collect_md: a datapath port (OVS's vxlan_sys_4789), no tunnel of its own

    @property
    def ipv6(self) -> bool:
        return ":" in (self.remote or self.local or self.group)


@dataclass
class Link:
    ifindex: int
    name: str
    flags: frozenset[str]
    mtu: int
    operstate: str = "UNKNOWN"
    kind: str = ""  # linkinfo info_kind: veth, bridge, bond, vxlan, vlan, tun, openvswitch, ...
    slave_kind: str = ""  # bridge, bond, openvswitch when enslaved
    master: str = ""
    peer: str = ""  # `link`: veth peer or VLAN/macvlan parent in the same namespace
    peer_ifindex: int | None = None  # `link_index` / `@ifN`: peer in another namespace
    link_netnsid: int | None = None
    link_netns: str = ""  # name of the peer's namespace when the source says it
    link_type: str = "ether"
    address: str = ""
    parentbus: str = ""
    vlan_id: int | None = None
    vxlan: Vxlan | None = None
    bond_slave_state: str = ""
    mii_status: str = ""
    rx: dict[str, int] = field(default_factory=dict)
    tx: dict[str, int] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)  # "10.0.0.1/24"

    @property
    def admin_up(self) -> bool:
        return "UP" in self.flags

    @property
    def carrier(self) -> bool:
        return "NO-CARRIER" not in self.flags and (
            "LOWER_UP" in self.flags or self.operstate in ("UP", "UNKNOWN")
        )

    @property
    def is_loopback(self) -> bool:
        return self.link_type == "loopback" or "LOOPBACK" in self.flags

    @property
    def is_physical(self) -> bool:
        """A NIC on a bus (PCI, USB, virtio) rather than a software device."""
        if self.is_loopback or self.link_type != "ether":
            return False
        return bool(self.parentbus) or not self.kind

    @property
    def is_bond_member(self) -> bool:
        return self.slave_kind == "bond"


def parse_links(text: str) -> list[Link]:
    """Parse `ip -j -d -s -s link` / `ip -j -d address` (JSON) or their text forms."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ParseError(f"ip -j: invalid JSON ({exc.msg} at {exc.pos})") from None
        return [_link_from_json(d) for d in data if isinstance(d, dict) and "ifname" in d]
    return parse_links_text(text)


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _link_from_json(d: dict[str, Any]) -> Link:
    info = d.get("linkinfo") or {}
    data = info.get("info_data") or {}
    slave = info.get("info_slave_data") or {}
    kind = info.get("info_kind", "")
    link = Link(
        ifindex=int(d.get("ifindex", 0)),
        name=d["ifname"],
        flags=frozenset(d.get("flags", [])),
        mtu=int(d.get("mtu", 0)),
        operstate=d.get("operstate", "UNKNOWN"),
        kind=kind,
        slave_kind=info.get("info_slave_kind", ""),
        master=d.get("master", ""),
        peer=d.get("link", "") or "",
        peer_ifindex=_int(d.get("link_index")),
        link_netnsid=_int(d.get("link_netnsid")),
        link_type=d.get("link_type", "ether"),
        address=d.get("address", ""),
        parentbus=d.get("parentbus", ""),
        bond_slave_state=str(slave.get("state", "")) if info.get("info_slave_kind") == "bond" else "",
        mii_status=str(slave.get("mii_status", "")),
    )
    if kind == "vlan":
        link.vlan_id = _int(data.get("id"))
    if kind in ("vxlan", "geneve"):
        link.vxlan = Vxlan(
            vni=_int(data.get("id")),
            remote=data.get("remote", "") or data.get("remote6", ""),
            local=data.get("local", "") or data.get("local6", ""),
            group=data.get("group", "") or data.get("group6", ""),
            dev=str(data.get("link", "") or ""),
            port=_int(data.get("port")) or 4789,
            df=str(data.get("df", "")),
            external=bool(data.get("external") or data.get("collect_metadata")),
        )
    stats = d.get("stats64") or d.get("stats") or {}
    rx, tx = stats.get("rx") or {}, stats.get("tx") or {}
    link.rx = (
        {
            "bytes": rx.get("bytes", 0),
            "packets": rx.get("packets", 0),
            "errors": rx.get("errors", 0),
            "dropped": rx.get("dropped", 0),
            "missed": rx.get("missed_errors", 0),
            "over": rx.get("over_errors", 0),
            "crc": rx.get("crc_errors", 0),
            "frame": rx.get("frame_errors", 0),
            "fifo": rx.get("fifo_errors", 0),
        }
        if rx
        else {}
    )
    link.tx = (
        {
            "bytes": tx.get("bytes", 0),
            "packets": tx.get("packets", 0),
            "errors": tx.get("errors", 0),
            "dropped": tx.get("dropped", 0),
            "carrier": tx.get("carrier_errors", 0),
        }
        if tx
        else {}
    )
    for a in d.get("addr_info", []) or []:
        if "local" in a:
            link.addresses.append(f"{a['local']}/{a.get('prefixlen', '')}".rstrip("/"))
    return link


_HEADER = re.compile(r"^(\d+):\s+([^:@\s]+)(?:@([^:\s]+))?:\s+<([^>]*)>\s+(.*)$")
_SKIP_FIRST = {
    "link/",
    "RX:",
    "TX:",
    "RX",
    "TX",
    "inet",
    "inet6",
    "valid_lft",
    "altname",
    "alias",
    "vf",
    "prop",
}


def _kv(tokens: list[str], key: str) -> str:
    try:
        return tokens[tokens.index(key) + 1]
    except (ValueError, IndexError):
        return ""


def parse_links_text(text: str) -> list[Link]:
    """Parse the text of `ip -s -d link`, `ip -d address` or `ip address show`.

    >>> links = parse_links_text(SAMPLE_IP_S_D_LINK)
    >>> [(l.name, l.mtu, l.kind, l.master, l.peer_ifindex, l.is_physical) for l in links]
    [('lo', 65536, '', '', None, False), ('va1', 1400, 'veth', 'br9', 2, False), ('eth0', 1400, '', '', None, True)]
    >>> links[1].link_netns, links[1].carrier, links[2].rx["dropped"]
    ('tB', False, 7)
    """
    links: list[Link] = []
    cur: Link | None = None
    pending_stats: tuple[str, list[str]] | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        m = _HEADER.match(raw)
        if m:
            idx, name, at, flags, rest = m.groups()
            toks = rest.split()
            cur = Link(
                ifindex=int(idx),
                name=name,
                flags=frozenset(f for f in flags.split(",") if f),
                mtu=int(_kv(toks, "mtu") or 0),
                operstate=_kv(toks, "state") or "UNKNOWN",
                master=_kv(toks, "master"),
            )
            if at:
                if at.startswith("if") and at[2:].isdigit():
                    cur.peer_ifindex = int(at[2:])
                elif at != "NONE":
                    cur.peer = at
            links.append(cur)
            pending_stats = None
            continue
        if cur is None:
            raise ParseError("ip: line before the first interface header", raw)
        toks = raw.split()
        first = toks[0]
        if pending_stats is not None:
            direction, names = pending_stats
            pending_stats = None
            if all(t.isdigit() for t in toks):
                _store_stats(cur, direction, names, [int(t) for t in toks])
                continue
        if first in ("RX:", "TX:") or (first in ("RX", "TX") and len(toks) > 1 and toks[1] == "errors:"):
            direction = first.rstrip(":").lower()
            names = toks[1:] if first.endswith(":") else toks[2:]
            pending_stats = (direction, names)
            continue
        if first.startswith("link/"):
            cur.link_type = first[5:]
            if len(toks) > 1:
                cur.address = toks[1]
            cur.link_netns = _kv(toks, "link-netns")
            nsid = _kv(toks, "link-netnsid")
            cur.link_netnsid = int(nsid) if nsid.isdigit() else None
            cur.parentbus = _kv(toks, "parentbus")
            continue
        if first in ("inet", "inet6"):
            cur.addresses.append(toks[1])
            continue
        if first in _SKIP_FIRST or first.startswith("link/"):
            continue
        if first.endswith("_slave"):
            cur.slave_kind = first[: -len("_slave")]
            if cur.slave_kind == "bond":
                cur.bond_slave_state = _kv(toks, "state")
                cur.mii_status = _kv(toks, "mii_status")
            cur.parentbus = cur.parentbus or _kv(toks, "parentbus")
            continue
        if first in ("addrgenmode", "numtxqueues", "promiscuity"):
            cur.parentbus = cur.parentbus or _kv(toks, "parentbus")
            continue
        if not cur.kind:
            cur.kind = first
            if first == "vlan":
                vid = _kv(toks, "id")
                cur.vlan_id = int(vid) if vid.isdigit() else None
            elif first in ("vxlan", "geneve"):
                port = _kv(toks, "dstport")
                vni = _kv(toks, "id")
                cur.vxlan = Vxlan(
                    vni=int(vni) if vni.isdigit() else None,
                    remote=_kv(toks, "remote"),
                    local=_kv(toks, "local"),
                    group=_kv(toks, "group"),
                    dev=_kv(toks, "dev"),
                    port=int(port) if port.isdigit() else 4789,
                    df=_kv(toks, "df"),
                    external="external" in toks,
                )
            cur.parentbus = cur.parentbus or _kv(toks, "parentbus")
    return links


_TEXT_RX = {
    "bytes": "bytes",
    "packets": "packets",
    "errors": "errors",
    "dropped": "dropped",
    "missed": "missed",
    "overrun": "over",
    "over": "over",
    "crc": "crc",
    "frame": "frame",
    "fifo": "fifo",
}
_TEXT_TX = {
    "bytes": "bytes",
    "packets": "packets",
    "errors": "errors",
    "dropped": "dropped",
    "carrier": "carrier",
}


def _store_stats(link: Link, direction: str, names: list[str], values: list[int]) -> None:
    table, target = (_TEXT_RX, link.rx) if direction == "rx" else (_TEXT_TX, link.tx)
    for n, v in zip(names, values, strict=False):
        key = table.get(n)
        if key:
            target[key] = v


SAMPLE_IP_S_D_LINK = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0  allmulti 0 minmtu 0 maxmtu 0 addrgenmode eui64
    RX:  bytes packets errors dropped  missed   mcast
          3193      29      0       0       0       0
    TX:  bytes packets errors dropped carrier collsns
          3193      29      0       0       0       0
2: va1@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1400 qdisc noqueue master br9 state DOWN mode DEFAULT group default qlen 1000
    link/ether 6e:14:8b:79:c7:db brd ff:ff:ff:ff:ff:ff link-netns tB promiscuity 1  allmulti 1 minmtu 68 maxmtu 65535
    veth
    bridge_slave state disabled priority 32 cost 2 hairpin off guard off addrgenmode eui64 numtxqueues 2
4: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000
    link/ether 02:fc:00:00:00:01 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 addrgenmode eui64 numtxqueues 1 parentbus virtio parentdev virtio2
    RX:  bytes packets errors dropped  missed   mcast
      65844639    1789      0       7       0       0
    RX errors:  length    crc   frame    fifo overrun
                     0      0       0       0       0
    TX:  bytes packets errors dropped carrier collsns
        117979    1108      0       0       0       0
"""


@dataclass(frozen=True)
class Route:
    dst: str  # "default" or a prefix ("10.0.0.0/24", "10.0.0.5")
    dev: str
    table: str = "main"
    type: str = "unicast"


_ROUTE_TYPES = {
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "unreachable",
    "prohibit",
    "blackhole",
    "throw",
    "nat",
    "anycast",
}


def parse_routes(text: str) -> list[Route]:
    """Parse `ip -j route show table all` (JSON) or its text form (sosreports).

    >>> rs = parse_routes(SAMPLE_ROUTES)
    >>> [(r.dst, r.dev, r.table, r.type) for r in rs][:3]
    [('default', 'eth0', 'main', 'unicast'), ('192.0.2.0/24', 'eth0', 'main', 'unicast'), ('127.0.0.0/8', 'lo', 'local', 'local')]
    """
    s = text.lstrip()
    if s.startswith("["):
        try:
            data = json.loads(s)
        except json.JSONDecodeError as exc:
            raise ParseError(f"ip -j route: invalid JSON ({exc.msg})") from None
        return [
            Route(
                str(d.get("dst", "")),
                str(d.get("dev", "")),
                str(d.get("table", "main")),
                str(d.get("type", "unicast")),
            )
            for d in data
            if isinstance(d, dict) and d.get("dev")
        ]
    routes: list[Route] = []
    for line in text.splitlines():
        toks = line.split()
        if not toks or "dev" not in toks:
            continue
        kind = "unicast"
        if toks[0] in _ROUTE_TYPES:
            kind, toks = toks[0], toks[1:]
        routes.append(Route(toks[0], _kv(toks, "dev"), _kv(toks, "table") or "main", kind))
    return routes


def route_dev(routes: list[Route], address: str) -> str | None:
    """The device the main table sends `address` out of (longest prefix match).

    >>> route_dev(parse_routes(SAMPLE_ROUTES), "192.0.2.77"), route_dev(parse_routes(SAMPLE_ROUTES), "8.8.8.8")
    ('eth0', 'eth0')
    """
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    best: tuple[int, str] | None = None
    for r in routes:
        if r.table != "main" or r.type != "unicast":
            continue
        try:
            net = ipaddress.ip_network(
                "0.0.0.0/0"
                if r.dst == "default" and ip.version == 4
                else "::/0"
                if r.dst == "default"
                else r.dst,
                strict=False,
            )
        except ValueError:
            continue
        if net.version == ip.version and ip in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, r.dev)
    return best[1] if best else None


SAMPLE_ROUTES = """\
default via 192.0.2.1 dev eth0
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2
"""
