"""The host's network as a graph, from the evidence of any source: namespaces, Linux bridges and
their ports, Open vSwitch bridges with their patch/tunnel/internal ports and VLAN tags, veth pairs
across namespaces, VXLAN and VLAN devices over their underlay or parent, bonds and physical NICs,
each with its MTU and state. What the evidence does not say is listed in `missing`, never guessed.

The report draws it (report/picture.py); wording of the details is `Msg`, rendered there in the
report's language."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.evidence.model import HOST
from netsleuth.facts.network import AllLinks, Links, Routes
from netsleuth.facts.ovs import OvsState
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg, Reason, reasons_of
from netsleuth.parsers.iproute import Link
from netsleuth.parsers.ovs import Row, parse_vsctl_show
from netsleuth.results.capture import TraceResult

# kinds of node, as drawn
NIC, BOND, BRIDGE, OVS_BRIDGE, OVS_PORT, VETH, TUN, TUNNEL, VLAN, OTHER, STUB = (
    "nic",
    "bond",
    "bridge",
    "ovs-bridge",
    "ovs-port",
    "veth",
    "tun",
    "tunnel",
    "vlan",
    "other",
    "stub",
)
TUNNEL_KINDS = frozenset({"vxlan", "geneve", "gre", "gretap", "ip6gre", "ip6gretap", "ipip", "sit", "stt"})


@dataclass
class Node:
    """One object of the picture: a device of a namespace, an OVS bridge or port."""

    key: str  # unique within the topology
    name: str
    netns: str  # "" = the namespace netsleuth looked from (the host)
    kind: str
    mtu: int | None = None
    state: str = ""  # up | down | no-carrier | unknown | lowerlayerdown | dormant | ""
    details: list[Msg] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    a: str  # node keys
    b: str
    kind: str  # port | bond | veth | patch | underlay | vlan | parent | ovs-port
    label: Msg | None = None


@dataclass
class Topology:
    nodes: dict[str, Node]
    edges: list[Edge]
    namespaces: list[str]  # every analysed scope, in order ("" = host)
    missing: list[Msg] = field(default_factory=list)
    trace: TraceResult | None = None

    def named(self, name: str, netns: str | None = None) -> list[Node]:
        """Nodes called `name`: in `netns` when given; failing that, the one node of that name
        elsewhere (an OVS port whose device lives in another namespace), never every eth0 of a
        host."""
        found = [n for n in self.nodes.values() if n.name == name]
        if netns is None:
            return found
        here = [n for n in found if n.netns == netns]
        return here or (found if len(found) == 1 else [])

    def neighbours(self, key: str) -> list[str]:
        return [e.b if e.a == key else e.a for e in self.edges if key in (e.a, e.b)]


def link_state(link: Link) -> str:
    """What a reader of the picture wants to know first: down, no carrier, or its operstate."""
    if not link.admin_up and not link.is_loopback:
        return "down"
    if "NO-CARRIER" in link.flags:
        return "no-carrier"
    return link.operstate.lower() if link.operstate else "unknown"


def _kind(link: Link) -> str:
    k = link.kind
    if k == "bridge":
        return BRIDGE
    if k == "bond":
        return BOND
    if k == "veth":
        return VETH
    if k == "tun":
        return TUN
    if k in TUNNEL_KINDS:
        return TUNNEL
    if k == "vlan":
        return VLAN
    if k == "openvswitch":
        return OVS_BRIDGE
    return NIC if link.is_physical else OTHER


def node_key(netns: str, name: str) -> str:
    return f"if|{netns}|{name}"


class _Builder:
    def __init__(self, scopes: list[str]) -> None:
        self.topo = Topology({}, [], scopes)
        self.edge_seen: set[tuple[str, str, str]] = set()

    def add(self, node: Node) -> Node:
        return self.topo.nodes.setdefault(node.key, node)

    def edge(self, a: str, b: str, kind: str, label: Msg | None = None) -> None:
        ident = (min(a, b), max(a, b), kind)
        if a == b or ident in self.edge_seen:
            return
        self.edge_seen.add(ident)
        self.topo.edges.append(Edge(a, b, kind, label))

    def missing(self, key: str, **params: object) -> None:
        self.topo.missing.append(Msg(key, dict(params)))


def _link_node(ns: str, link: Link) -> Node:
    details: list[Msg] = []
    if link.vlan_id is not None:
        details.append(Msg("d_vlan", {"id": link.vlan_id}))
    if link.vxlan is not None:
        vx = link.vxlan
        details.append(Msg("d_vni", {"kind": link.kind, "vni": "?" if vx.vni is None else vx.vni}))
        if vx.remote or vx.group:
            details.append(Msg("d_remote", {"ip": vx.remote or vx.group, "port": vx.port}))
    if link.is_bond_member and link.mii_status:
        details.append(Msg("d_mii", {"state": link.mii_status.lower()}))
    return Node(
        node_key(ns, link.name),
        link.name,
        ns,
        _kind(link),
        link.mtu or None,
        link_state(link),
        details,
        [a for a in link.addresses if not a.startswith("fe80:")],
    )


def _kernel(b: _Builder, every: AllLinks, fs: FactStore) -> None:
    """Every namespace's devices, what they are enslaved to, veth peers, VLAN parents, tunnels'
    underlay."""
    stubs = 0
    for ns, links in every.scopes.items():
        for link in links.links:
            if link.is_loopback or link.name in ("ovs-system", "ovs-netdev"):  # OVS datapath devices
                continue
            b.add(_link_node(ns, link))
        for link in links.links:
            key = node_key(ns, link.name)
            if key not in b.topo.nodes:
                continue
            if link.master and node_key(ns, link.master) in b.topo.nodes:
                master = links.get(link.master)
                kind = "bond" if master is not None and master.kind == "bond" else "port"
                b.edge(node_key(ns, link.master), key, kind)
            if link.kind == "veth" or (link.peer_ifindex is not None and not link.kind):
                peer = every.peer(ns, link)
                if peer is not None:
                    b.edge(key, node_key(peer[0], peer[1].name), "veth")
                elif link.peer_ifindex is not None or link.peer:
                    stubs += 1
                    stub = b.add(
                        Node(f"stub|{ns}|{link.name}", f"@if{link.peer_ifindex or link.peer}", ns, STUB)
                    )
                    b.edge(key, stub.key, "veth")
            elif link.peer and node_key(ns, link.peer) in b.topo.nodes:  # VLAN/macvlan parent
                label = Msg("e_vlan", {"id": link.vlan_id}) if link.vlan_id is not None else None
                b.edge(node_key(ns, link.peer), key, "vlan" if label else "parent", label)
            if link.vxlan is not None:
                _underlay(b, fs, ns, links, link)
    if stubs:
        b.missing("m_peers", n=stubs)


def _underlay(b: _Builder, fs: FactStore, ns: str, links: Links, link: Link) -> None:
    vx = link.vxlan
    assert vx is not None
    dev = vx.dev
    if not dev and (vx.remote or vx.local or vx.group):
        routes = fs.scope(ns).maybe(Routes)
        if routes is None:
            b.missing("m_underlay", name=link.name)
            return
        dev = routes.dev_for(vx.remote or vx.group or vx.local) or ""
    if dev and links.get(dev) is not None:
        b.edge(node_key(ns, dev), node_key(ns, link.name), "underlay", Msg("e_underlay", {"port": vx.port}))


def _find_device(b: _Builder, name: str) -> Node | None:
    """The kernel device an OVS interface row names, in whichever namespace holds it (Neutron
    moves qr-/qg- internal ports into qrouter- namespaces)."""
    for ns in b.topo.namespaces:
        node = b.topo.nodes.get(node_key(ns, name))
        if node is not None:
            return node
    return None


def _row_state(row: Row) -> str:
    admin, link = str(row.get("admin_state") or ""), str(row.get("link_state") or "")
    if admin == "down":
        return "down"
    return link or admin


def _int_or_none(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _tag_label(port: Row) -> Msg | None:
    tag = _int_or_none(port.get("tag"))
    trunks = port.get("trunks")
    if tag is not None:
        return Msg("e_tag", {"tag": tag})
    if isinstance(trunks, list) and trunks:
        return Msg("e_trunks", {"trunks": ",".join(str(t) for t in trunks)})
    if isinstance(trunks, int):
        return Msg("e_trunks", {"trunks": str(trunks)})
    return None


def _tables(ovs: OvsState) -> tuple[list[Row], list[Row], list[Row]] | None:
    """The Bridge, Port and Interface tables; when a source lacks one (sosreports often keep no
    `list port`), as `ovs-vsctl show` tells them, with what the Interface table adds (MTU, state)."""
    if ovs.bridges and ovs.ports and ovs.interfaces:
        return ovs.bridges, ovs.ports, ovs.interfaces
    if not ovs.vsctl.ok:
        return None
    try:
        bridges, ports, ifaces = parse_vsctl_show(ovs.vsctl.content())
    except ValueError:
        return None
    listed = {str(r.get("name")): r for r in ovs.interfaces}
    ifaces = [
        {**row, **{k: v for k, v in listed.get(str(row["name"]), {}).items() if k != "_uuid"}}
        for row in ifaces
    ]
    return (bridges, ports, ifaces) if bridges else None


def _ovs(b: _Builder, ovs: OvsState, fs: FactStore) -> None:
    """OVS bridges, their ports (with VLAN tag/trunks), bonds, patch pairs and tunnels."""
    tables = _tables(ovs)
    if tables is None:
        b.missing("m_ovs_tables")
        return
    bridges, port_rows, if_rows = tables
    ifs = {str(r.get("_uuid")): r for r in if_rows}
    ports = {str(r.get("_uuid")): r for r in port_rows}
    patch_of: dict[str, str] = {}  # patch interface name -> its bridge's node key
    patches: list[tuple[str, str, str]] = []  # (bridge key, own name, peer name)
    for br in bridges:
        name = str(br.get("name"))
        dev = _find_device(b, name)
        details = [Msg("d_datapath", {"type": br.get("datapath_type")})] if br.get("datapath_type") else []
        br_node = Node(f"ovs|{name}", name, dev.netns if dev else HOST, OVS_BRIDGE, None, "", details)
        if dev is not None:  # the bridge's own internal port: one node, not two
            br_node.mtu, br_node.state, br_node.addresses = dev.mtu, dev.state, dev.addresses
            del b.topo.nodes[dev.key]
            b.topo.edges[:] = [
                Edge(
                    br_node.key if e.a == dev.key else e.a,
                    br_node.key if e.b == dev.key else e.b,
                    e.kind,
                    e.label,
                )
                for e in b.topo.edges
            ]
        b.add(br_node)
        for pu in _uuids(br.get("ports")):
            port = ports.get(pu)
            if port is None:
                continue
            rows = [ifs[u] for u in _uuids(port.get("interfaces")) if u in ifs]
            label = _tag_label(port)
            if len(rows) > 1:  # an OVS bond
                bond = b.add(
                    Node(
                        f"ovsbond|{name}|{port.get('name')}",
                        str(port.get("name")),
                        br_node.netns,
                        BOND,
                        details=[Msg("d_ovs_bond", {"mode": port.get("bond_mode") or "active-backup"})],
                    )
                )
                b.edge(br_node.key, bond.key, "ovs-port", label)
                for row in rows:
                    b.edge(bond.key, _ovs_interface(b, row, name, fs).key, "bond")
                continue
            for row in rows:
                if str(row.get("name")) == name and row.get("type") == "internal":
                    continue  # the bridge itself
                if row.get("type") == "patch":  # drawn as the line between the two bridges
                    opts = row.get("options")
                    peer = str(opts.get("peer", "")) if isinstance(opts, dict) else ""
                    patch_of[str(row.get("name"))] = br_node.key
                    patches.append((br_node.key, str(row.get("name")), peer))
                    continue
                node = _ovs_interface(b, row, name, fs)
                b.edge(br_node.key, node.key, "ovs-port", label)
    for br_key, own, peer in patches:
        other = patch_of.get(peer)
        if other is not None and other != br_key:
            a, z = sorted((own, peer))
            b.edge(br_key, other, "patch", Msg("e_patch", {"a": a, "b": z}))


def _uuids(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _ovs_interface(
    b: _Builder,
    row: Row,
    bridge: str,
    fs: FactStore,
) -> Node:
    name = str(row.get("name"))
    typ = str(row.get("type") or "")
    opts = row.get("options") if isinstance(row.get("options"), dict) else {}
    assert isinstance(opts, dict)
    dev = _find_device(b, name) if typ not in TUNNEL_KINDS else None
    if dev is not None:
        if typ == "internal":
            dev.kind = OVS_PORT
            dev.details.insert(0, Msg("d_internal"))
        return dev
    details: list[Msg] = []
    kind = OVS_PORT
    if typ in TUNNEL_KINDS:
        kind = TUNNEL
        details.append(Msg("d_ovs_tunnel", {"kind": typ}))
        if opts.get("key"):
            details.append(Msg("d_key", {"key": opts["key"]}))
        remote = str(opts.get("remote_ip", ""))
        if remote:
            details.append(
                Msg(
                    "d_remote", {"ip": remote, "port": opts.get("dst_port", "4789" if typ == "vxlan" else "")}
                )
            )
    elif typ:
        details.append(Msg("d_ovs_type", {"type": typ}))
    err = row.get("error")
    if isinstance(err, str) and err:
        details.append(Msg("d_error", {"error": err}))
    node = b.add(
        Node(
            f"ovsif|{bridge}|{name}",
            name,
            HOST,
            kind,
            _int_or_none(row.get("mtu")),
            _row_state(row),
            details,
        )
    )
    remote = str(opts.get("remote_ip", ""))
    if kind == TUNNEL and remote and remote != "flow":
        routes = fs.scope(HOST).maybe(Routes) if HOST in b.topo.namespaces else None
        dev_name = routes.dev_for(remote) if routes is not None else None
        under = b.topo.nodes.get(node_key(HOST, dev_name)) if dev_name else None
        if under is not None:
            b.edge(under.key, node.key, "underlay", Msg("e_underlay", {"port": opts.get("dst_port", 4789)}))
        else:
            b.missing("m_underlay", name=name)
    return node


@provides(Topology, reads=(), uses=(AllLinks, Links, Routes, OvsState, TraceResult))
def _topology(fs: FactStore) -> Topology:
    scopes = list(dict.fromkeys(fs.bundle.scopes()))
    b = _Builder(scopes)
    reasons: list[Reason] = []
    every: AllLinks | None = None
    for ns in scopes:
        try:
            fs.scope(ns).get(Links)
        except Unavailable as exc:
            reasons += reasons_of(exc.reason)
            b.missing("m_links", netns=ns or "host", why=str(exc))
    for ns in scopes:  # AllLinks is one value for the whole bundle, reachable from any scope with links
        every = fs.scope(ns).maybe(AllLinks)
        if every is not None:
            b.topo.namespaces = list(dict.fromkeys([*every.scopes, *scopes]))
            _kernel(b, every, fs)
            break
    try:
        ovs: OvsState | None = fs.get(OvsState)
    except Unavailable as exc:
        ovs = None
        if any(n.kind == OVS_BRIDGE for n in b.topo.nodes.values()):
            b.missing("m_ovs", why=str(exc))
    if ovs is not None:
        _ovs(b, ovs, fs)
    b.topo.trace = fs.maybe(TraceResult)
    if not b.topo.nodes and b.topo.trace is None:
        raise Unavailable(reasons or Msg("no_links_anywhere"))
    return b.topo
