"""Interfaces of one namespace, their counters' rates, and veth peers across namespaces."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from netsleuth.evidence.model import HOST, Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg, reasons_of
from netsleuth.parsers.iproute import Link, Route, parse_links, parse_routes, route_dev


@dataclass(frozen=True)
class Rate:
    delta: int
    per_second: float
    measured: bool  # True: two samples; False: lifetime total normalised by uptime
    seconds: float


def link_line(link: Link) -> str:
    """The link as `ip link` prints its first line (the excerpt quoted in findings)."""
    peer = f"@{link.peer}" if link.peer else (f"@if{link.peer_ifindex}" if link.peer_ifindex else "")
    flags = ",".join(sorted(link.flags, key=lambda f: (f != "NO-CARRIER", f)))
    master = f" master {link.master}" if link.master else ""
    return f"{link.ifindex}: {link.name}{peer}: <{flags}> mtu {link.mtu}{master} state {link.operstate}"


@dataclass
class Links:
    """The interfaces of one namespace."""

    netns: str
    links: list[Link]
    evidence: Evidence
    later: dict[str, Link] = field(default_factory=dict)
    interval_s: float | None = None

    def __post_init__(self) -> None:
        self.by_name = {lnk.name: lnk for lnk in self.links}
        self.by_index = {lnk.ifindex: lnk for lnk in self.links}

    def get(self, name: str) -> Link | None:
        return self.by_name.get(name)

    def members(self, master: str) -> list[Link]:
        return [lnk for lnk in self.links if lnk.master == master]

    def rate(self, name: str, direction: str, *keys: str, uptime_s: float | None = None) -> Rate | None:
        """Rate of the sum of counters `keys` (e.g. rx dropped+missed+over) between two samples,
        or the lifetime total over uptime when only one sample exists."""
        first = self.by_name.get(name)
        if first is None:
            return None
        a = sum(getattr(first, direction).get(k, 0) for k in keys)
        second = self.later.get(name)
        if second is not None and self.interval_s:
            b = sum(getattr(second, direction).get(k, 0) for k in keys)
            return Rate(b - a, (b - a) / self.interval_s, True, self.interval_s)
        if uptime_s:
            return Rate(a, a / uptime_s, False, uptime_s)
        return None

    def source(self) -> str:
        return self.evidence.source


_KIND_BY_NAME = (
    (
        re.compile(r"^(virbr\d+|docker\d+|br-[0-9a-f]{12}|lxcbr\d+|cni\d+|qbr[0-9a-f-]+|br\d+|br100)$"),
        "bridge",
    ),
    (re.compile(r"^(veth|qvo|qvb|cali|vnet|tap)"), "veth"),
    (re.compile(r"^vxlan"), "vxlan"),
    (re.compile(r"^bond\d+$"), "bond"),
)


def infer_kinds(links: list[Link]) -> None:
    """Sources without details (`ip address show` in sosreports' namespaces, `ip a` quoted in
    tickets) do not say what a device is: a device others are enslaved to is a bridge/bond, and
    well-known names tell the rest. Links whose kind is known are left alone."""
    masters = {lnk.master for lnk in links if lnk.master}
    for lnk in links:
        if lnk.kind or lnk.parentbus or lnk.is_loopback:
            continue
        if lnk.name == "ovs-system":
            lnk.kind = "openvswitch"
            continue
        for rx, kind in _KIND_BY_NAME:
            if rx.match(lnk.name):
                lnk.kind = "tun" if kind == "veth" and lnk.name.startswith(("tap", "vnet")) else kind
                break
        else:
            if lnk.name in masters:
                lnk.kind = "bridge"
            elif lnk.peer_ifindex is not None:
                lnk.kind = "veth"  # name@ifN: the other end lives in another namespace


@provides(Links, reads=("ip.link", "ip.addr"))
def _links(fs: FactStore) -> Links:
    try:
        ev = fs.require("ip.link")
    except Unavailable as first:
        try:
            ev = fs.require("ip.addr")  # sosreports keep only `ip address show` per namespace
        except Unavailable as second:
            raise Unavailable(reasons_of(first.reason, second.reason)) from None
    links = parse_links(ev.content())
    if ev.name == "ip.link":
        addr = fs.evidence("ip.addr")
        if addr is not None and addr.ok:  # `ip link` has no addresses: take them from `ip address`
            try:
                by_name = {lnk.name: lnk.addresses for lnk in parse_links(addr.content())}
            except ValueError:
                by_name = {}
            for lnk in links:
                lnk.addresses = by_name.get(lnk.name, lnk.addresses)
    infer_kinds(links)
    later: dict[str, Link] = {}
    if ev.later:
        later = {lnk.name: lnk for lnk in parse_links(ev.later)}
    return Links(fs.netns, links, ev, later, ev.interval_s)


_NSID = re.compile(r"nsid\s+(\d+)\s+\(iproute2 netns name:\s*([^)\s]+)\)")


@dataclass
class AllLinks:
    """Interfaces of every analysed namespace: to follow a veth to its peer in another one."""

    scopes: dict[str, Links]
    nsid_names: dict[str, dict[int, str]]  # per scope: netnsid -> namespace name

    def peer(self, netns: str, link: Link) -> tuple[str, Link] | None:
        """The other end of a veth: (namespace, link), when that namespace was collected."""
        here = self.scopes.get(netns)
        if link.peer and here is not None:
            other = here.get(link.peer)
            return (netns, other) if other is not None else None
        if link.peer_ifindex is None:
            return None
        names = self.nsid_names.get(netns, {})
        candidates: list[str] = []
        if link.link_netns:
            candidates.append(link.link_netns)
        elif link.link_netnsid is not None and link.link_netnsid in names:
            candidates.append(names[link.link_netnsid])
        else:
            candidates += [ns for ns in self.scopes if ns != netns]
        for ns in candidates:
            links = self.scopes.get(ns)
            other = links.by_index.get(link.peer_ifindex) if links else None
            if other is not None and other.kind == link.kind and other.peer_ifindex in (None, link.ifindex):
                return ns, other
        return None


def _every_namespace(fs: FactStore) -> AllLinks:
    scopes: dict[str, Links] = {}
    ids: dict[str, dict[int, str]] = {}
    for ns in dict.fromkeys([HOST, *fs.bundle.scopes()]):
        links = fs.scope(ns).maybe(Links)  # that namespace's own store: parsed once
        if links is None:
            continue
        scopes[ns] = links
        ev = fs.evidence("ip.netns_ids", netns=ns)
        if ev is not None and ev.ok:
            ids[ns] = {int(m.group(1)): m.group(2) for m in _NSID.finditer(ev.text)}
    return AllLinks(scopes, ids)


@provides(AllLinks, reads=("ip.netns_ids",), uses=(Links,))
def _all_links(fs: FactStore) -> AllLinks:
    every = fs.once("all_links", _every_namespace)  # built once for all the scopes of the bundle
    if fs.netns not in every.scopes:
        raise Unavailable(Msg("no_links_in", {"netns": fs.netns or "host"}))
    return every


PROC_NET_INIT_INO = 0xEFFFFFF9  # the init namespace's fixed inode on kernels >= 6.x
_INODE = re.compile(r"net:\[(\d+)\]")


@dataclass(frozen=True)
class NetnsIdentity:
    """Which network namespace a scope is: its inode (kernel log lines name namespaces by it)
    and whether it is the init namespace (whose lines carry no `in netns N`)."""

    netns: str
    inode: int | None
    is_init: bool | None  # None: cannot tell (sosreports, old kernels without /proc/1 access)
    age_s: float | None = None  # how old the namespace was when the evidence was taken

    def owns(self, line_netns: str | None, line_age_s: float | None = None) -> bool:
        """Whether a kernel-log line about namespace `line_netns` (None: no namespace named),
        logged `line_age_s` ago, concerns this scope. Inode numbers are reused once a namespace
        is gone: a namespace younger than the line cannot have written it."""
        if line_age_s is not None and self.age_s is not None and line_age_s > self.age_s + 2:
            return False
        if line_netns is None:
            return self.is_init is True or (self.is_init is None and self.netns == HOST)
        if self.inode is not None:
            return str(self.inode) == line_netns
        return self.netns == HOST  # offline: lines of namespaces we cannot map stay with the host


def _inode(ev: Evidence | None) -> int | None:
    """The inode from `readlink` ("net:[4026531833]") or `stat -c '%i %Y'` ("4026531833 1795240660")."""
    if ev is None or not ev.ok:
        return None
    m = _INODE.search(ev.text)
    if m:
        return int(m.group(1))
    parts = ev.text.split()
    return int(parts[0]) if parts and parts[0].isdigit() else None


def _created(ev: Evidence | None) -> float | None:
    """Creation time (epoch) of the namespace: the mtime of its nsfs inode, from `stat -c '%i %Y'`."""
    parts = ev.text.split() if ev is not None and ev.ok else []
    return float(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


@provides(NetnsIdentity, reads=("netns.inode", "netns.init_inode"))
def _identity(fs: FactStore) -> NetnsIdentity:
    own = fs.evidence("netns.inode")
    inode = _inode(own)
    init = _inode(fs.evidence("netns.init_inode", host=True))
    created = _created(own)
    age: float | None = None
    if created is not None and fs.bundle.collected_at:
        taken = datetime.fromisoformat(fs.bundle.collected_at)
        age = max(0.0, taken.timestamp() - created)
    is_init: bool | None = None
    if inode is not None:
        is_init = inode == init if init is not None else (True if inode == PROC_NET_INIT_INO else None)
    return NetnsIdentity(fs.netns, inode, is_init, age)


@dataclass(frozen=True)
class Routes:
    """The routing tables of one namespace."""

    routes: list[Route]
    evidence: Evidence

    def dev_for(self, address: str) -> str | None:
        return route_dev(self.routes, address)


@provides(Routes, reads=("ip.route",))
def _routes(fs: FactStore) -> Routes:
    ev = fs.require("ip.route")
    return Routes(parse_routes(ev.content()), ev)
