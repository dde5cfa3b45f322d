"""The topology picture: the host's network (facts/topology.py) with the objects a finding names
drawn in its severity colour and the finding's id, and a trace's path with the hop where the probe
is lost. Many alike ports of one bridge (a compute node's tap/qvo/qvb, a container host's veths)
become one node with a count, so that 300 namespaces still give a picture one can read.

Laid out by graphviz `dot` when installed; otherwise by a simple built-in layout (report/layout.py),
with a note saying so. Every word is in the report's language (messages: [picture])."""

from __future__ import annotations

import itertools
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netsleuth import process
from netsleuth.facts.store import FactStore, Unavailable
from netsleuth.facts.topology import BOND, BRIDGE, OVS_BRIDGE, STUB, Edge, Node, Topology
from netsleuth.messages import Msg, message
from netsleuth.report.drawing import (
    KIND_FILL,
    LOST_COLOUR,
    SEV_COLOUR,
    SEV_FILL,
    SEV_RANK,
    TRACE_COLOUR,
    DrawEdge,
    DrawNode,
    View,
    wrap,
)
from netsleuth.report.layout import svg_of_view
from netsleuth.results.capture import TracePoint, TraceResult
from netsleuth.results.report import FindingOut, Report

HUBS = frozenset({BRIDGE, OVS_BRIDGE, BOND})
MAX_BRANCH = 6  # a port and what hangs off it (veth peer, per-VM bridge, tap) grouped as one
GROUP_MIN = 5  # alike branches of one bridge drawn as one node from this many on
DOT_TIMEOUT_S = 20.0


def say(lang: str, key: str, **params: Any) -> str:
    return message(lang, "picture", key, params)


def said(lang: str, m: Msg) -> str:
    params = {k: said(lang, v) if isinstance(v, Msg) else v for k, v in m.params.items()}
    return message(lang, "picture", m.key, params)


@dataclass
class Picture:
    view: View
    dot: str
    svg: str
    engine: str  # dot | builtin
    notes: list[str]


# --- findings and the trace on the graph ---------------------------------------------------------

_TOKENS = re.compile(r"[\s,;()\[\]]+|->|→")
_DAEMONS = {"ovs-vswitchd", "ovsdb-server", "openvswitch kernel module"}


def finding_nodes(topo: Topology, f: FindingOut) -> list[str]:
    """The nodes a finding names: its subject's words that are interface/bridge names (in the
    finding's namespace first), an address an interface holds, or every OVS bridge for a finding
    about the OVS daemons."""
    if f.subject in _DAEMONS:
        return [n.key for n in topo.nodes.values() if n.kind == OVS_BRIDGE]
    keys: list[str] = []
    for raw in _TOKENS.split(f.subject):
        tok = raw.strip(" '\"`:")
        if not tok:
            continue
        ns, _, name = tok.rpartition(":") if ":" in tok and not _is_ip(tok) else ("", "", tok)
        found = topo.named(name, ns or f.netns)
        if not found and _is_ip(tok.split("/")[0]):
            found = [n for n in topo.nodes.values() if any(a.split("/")[0] == tok for a in n.addresses)]
        keys += [n.key for n in found if n.kind != STUB]
    return list(dict.fromkeys(keys))


def _is_ip(tok: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]+", tok)) and ("." in tok or ":" in tok)


def lost_hop(trace: TraceResult) -> tuple[int, int | None, str] | None:
    """Where the traced probe goes missing, from the points' sightings: (index of the last point
    that saw it, index of the first that did not or None = beyond the last point, direction).
    When the probe never left because its next hop did not resolve, the trace's own conclusion
    (`TraceResult.loss`) says where the ARP / neighbour solicitation went missing: that is drawn,
    never "never left the sender" (direction `arp-request`, `arp-reply`, `arp-no-reply`, `nd-…`)."""
    loss = trace.loss()
    if loss is not None and loss.what in ("arp", "nd"):
        at = {p.label: i for i, p in enumerate(trace.points)}
        if loss.after in at:
            beyond = not loss.before or loss.before not in at
            step = "no-reply" if beyond else loss.direction
            return (at[loss.after], None if beyond else at[loss.before], f"{loss.what}-{step}")
    pts = [i for i, p in enumerate(trace.points) if not p.error]
    if not pts:
        return None
    if not trace.points[pts[0]].request.seen:
        return (pts[0], None, "unsent")
    for a, b in itertools.pairwise(pts):
        if trace.points[a].request.seen and not trace.points[b].request.seen:
            return (a, b, "request")
    if trace.reply_received:
        return None
    seen_reply = [i for i in pts if trace.points[i].reply.seen]
    if not seen_reply:
        return (pts[-1], None, "no-reply")
    for a, b in zip(reversed(pts), list(reversed(pts))[1:], strict=False):
        if trace.points[a].reply.seen and not trace.points[b].reply.seen:
            return (a, b, "reply")
    return None


def _point_node(topo: Topology, p: TracePoint) -> str:
    found = [n for n in topo.nodes.values() if n.name == p.iface and n.netns == p.netns]
    if found:
        return found[0].key
    key = f"trace|{p.netns}|{p.iface}"
    topo.nodes.setdefault(key, Node(key, p.iface, p.netns, "point"))
    return key


# --- grouping ------------------------------------------------------------------------------------

_TAIL = re.compile(r"[-_.]?(?:[0-9a-f]{6,}(?:-[0-9a-f]+)?|\d+[a-z]?)$")
_NUM = re.compile(r"(\d+)")


def natural(name: str) -> tuple[Any, ...]:
    """Sort key: ns-2 before ns-10."""
    return tuple(int(p) if p.isdigit() else p for p in _NUM.split(name))


def prefix(name: str) -> str:
    """The family of a name, without its per-object tail.

    >>> [prefix(n) for n in ("qvoe6366126-d8", "tap1a2b3c4d-5e", "veth12", "bv17a", "eth0", "vc0", "br-int")]
    ['qvo', 'tap', 'veth', 'bv', 'eth', 'vc', 'br-int']
    """
    head = _TAIL.sub("", name)
    return head or name[:3]


@dataclass
class _Group:
    hub: str
    branches: list[list[str]]
    edge: Edge


def _adjacency(topo: Topology) -> dict[str, list[tuple[str, Edge]]]:
    adj: dict[str, list[tuple[str, Edge]]] = defaultdict(list)
    for e in topo.edges:
        adj[e.a].append((e.b, e))
        adj[e.b].append((e.a, e))
    return adj


def _branch(adj: dict[str, list[tuple[str, Edge]]], start: str, hub: str) -> list[str] | None:
    """What hangs off `hub` through `start`, when it is small and reaches nothing else."""
    seen = [start]
    todo = [start]
    while todo:
        cur = todo.pop()
        for nxt, _e in adj.get(cur, []):
            if nxt == hub or nxt in seen:
                continue
            seen.append(nxt)
            if len(seen) > MAX_BRANCH:
                return None
            todo.append(nxt)
    return seen


def _signature(topo: Topology, branch: list[str], edge: Edge) -> tuple[Any, ...]:
    first = topo.nodes[branch[0]]
    return (
        edge.kind,
        repr(edge.label),
        tuple(
            sorted(
                (
                    n.kind,
                    prefix(n.name),
                    n.mtu,
                    n.state,
                    n.netns == first.netns,
                    prefix(n.netns) if n.netns else "",
                )
                for n in (topo.nodes[k] for k in branch)
            )
        ),
    )


def groups(topo: Topology, keep: set[str]) -> list[_Group]:
    """Alike branches of each hub (a bridge's ports and what hangs off them) and alike small
    islands, GROUP_MIN or more of them; branches holding a node in `keep` (named by a finding, on
    the trace's path) stay drawn one by one."""
    adj = _adjacency(topo)
    taken: set[str] = set()
    out: list[_Group] = []
    hubs = sorted((k for k, n in topo.nodes.items() if n.kind in HUBS), key=lambda k: -len(adj.get(k, [])))
    for hub in hubs:
        if hub in taken:
            continue
        alike: dict[tuple[Any, ...], list[tuple[list[str], Edge]]] = defaultdict(list)
        for nxt, e in adj.get(hub, []):
            if nxt in taken:
                continue
            br = _branch(adj, nxt, hub)
            if (
                br is None
                or keep & set(br)
                or any(topo.nodes[k].kind in HUBS and len(adj[k]) > MAX_BRANCH for k in br)
            ):
                continue
            alike[_signature(topo, br, e)].append((br, e))
        for members in alike.values():
            if len(members) >= GROUP_MIN:
                out.append(_Group(hub, [br for br, _ in members], members[0][1]))
                taken |= {k for br, _ in members for k in br}
    islands: dict[tuple[Any, ...], list[list[str]]] = defaultdict(list)
    seen: set[str] = set(taken)
    for key in topo.nodes:
        if key in seen:
            continue
        comp = _branch(adj, key, "")
        if comp is None:
            seen.add(key)
            continue
        seen |= set(comp)
        if keep & set(comp) or taken & set(comp):
            continue
        sig = (
            "island",
            tuple(
                sorted(
                    (topo.nodes[k].kind, prefix(topo.nodes[k].name), topo.nodes[k].mtu, topo.nodes[k].state)
                    for k in comp
                )
            ),
            prefix(topo.nodes[comp[0]].netns),
        )
        islands[sig].append(comp)
    for comps in islands.values():
        if len(comps) >= GROUP_MIN:
            out.append(_Group("", comps, Edge("", "", "")))
    return out


# --- the view ------------------------------------------------------------------------------------


def _state_word(lang: str, state: str) -> str:
    return (say(lang, f"state_{state.replace('-', '_')}") or state) if state else ""


def _node_lines(lang: str, n: Node) -> list[str]:
    lines = [n.name]
    kind = say(lang, f"kind_{n.kind.replace('-', '_')}")
    details = [said(lang, d) for d in n.details]
    lines.append(" · ".join([kind, *details]) if details else kind)
    facts = []
    if n.mtu:
        facts.append(say(lang, "mtu", mtu=n.mtu))
    if n.state:
        facts.append(_state_word(lang, n.state))
    if facts:
        lines.append(" · ".join(facts))
    if n.addresses:
        lines.append(", ".join(n.addresses[:2]) + (" …" if len(n.addresses) > 2 else ""))
    return lines


def _ns_label(lang: str, ns: str) -> str:
    return say(lang, "ns_host") if not ns else say(lang, "ns", name=ns)


def _range(names: list[str]) -> str:
    names = sorted(names, key=natural)
    return names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"


def _group_node(lang: str, topo: Topology, g: _Group, gid: str) -> DrawNode:
    firsts = [topo.nodes[br[0]] for br in g.branches]
    head = firsts[0]
    chain = [topo.nodes[k] for k in g.branches[0]]
    lines = [say(lang, "group", name=prefix(head.name) + "…", n=len(g.branches))]
    shape = " — ".join(f"{say(lang, 'kind_' + n.kind.replace('-', '_'))} {prefix(n.name)}…" for n in chain)
    lines.append(say(lang, "group_each", shape=shape))
    facts = []
    mtus = sorted({n.mtu for br in g.branches for n in (topo.nodes[k] for k in br) if n.mtu})
    if mtus:
        facts.append(say(lang, "mtu", mtu="/".join(str(m) for m in mtus)))
    states = dict.fromkeys(topo.nodes[k].state for k in g.branches[0] if topo.nodes[k].state)
    facts += [_state_word(lang, s) for s in states]  # alike branches: the same states
    if facts:
        lines.append(" · ".join(facts))
    other_ns = sorted({topo.nodes[k].netns for br in g.branches for k in br} - {head.netns})
    if other_ns:
        lines.append(say(lang, "group_netns", n=len(other_ns), range=_range(other_ns)))
    names = [n.name for n in firsts]
    tooltip = ", ".join(sorted(names, key=natural)[:50]) + (" …" if len(names) > 50 else "")
    return DrawNode(gid, head.netns, "group", lines, tooltip, count=len(g.branches))


def build_view(topo: Topology, findings: Iterable[FindingOut], lang: str) -> View:
    """Mark, group and word the topology for drawing."""
    topo = Topology(dict(topo.nodes), list(topo.edges), list(topo.namespaces), list(topo.missing), topo.trace)
    marks: dict[str, list[FindingOut]] = defaultdict(list)
    for f in findings:
        for key in finding_nodes(topo, f):
            marks[key].append(f)
    path: list[str] = []
    lost: tuple[int, int | None, str] | None = None
    trace = topo.trace
    if trace is not None:
        path = [_point_node(topo, p) for p in trace.points]
        lost = lost_hop(trace)
    keep = set(marks) | set(path)
    grouped = groups(topo, keep)
    ids: dict[str, str] = {}
    nodes: list[DrawNode] = []
    for i, g in enumerate(grouped):
        gid = f"g{i}"
        for br in g.branches:
            for k in br:
                ids[k] = gid
        nodes.append(_group_node(lang, topo, g, gid))
    for i, (key, n) in enumerate(topo.nodes.items()):
        if key in ids:
            continue
        ids[key] = f"n{i}"
        lines = _node_lines(lang, n)
        dn = DrawNode(ids[key], n.netns, n.kind, lines, " — ".join(lines))
        fs = sorted(marks.get(key, []), key=lambda f: -SEV_RANK.get(f.severity, 0))
        if fs:  # a finding the configuration suppresses is named, muted: no colour, not counted
            loud = [f for f in fs if f.suppressed is None]
            dn.severity = loud[0].severity if loud else ""
            dn.findings = list(dict.fromkeys(f.id for f in loud))
            muted = [say(lang, "suppressed", id=f.id) for f in fs if f.suppressed is not None]
            dn.lines.append("⚠ " + ", ".join(dict.fromkeys([*dn.findings, *muted])))
        nodes.append(dn)
    by_id = {n.id: n for n in nodes}
    edges: list[DrawEdge] = []
    seen_edges: set[tuple[str, str, str]] = set()
    for e in topo.edges:
        a, b = ids.get(e.a), ids.get(e.b)
        if a is None or b is None or a == b:
            continue
        ident = (a, b, e.kind)
        if ident in seen_edges:
            continue
        seen_edges.add(ident)
        edges.append(DrawEdge(a, b, e.kind, said(lang, e.label) if e.label else ""))
    if trace is not None:
        _draw_trace(lang, trace, path, lost, ids, by_id, nodes, edges)
    namespaces = {ns: _ns_label(lang, ns) for ns in topo.namespaces}
    for dn in nodes:
        namespaces.setdefault(dn.netns, _ns_label(lang, dn.netns))
    drawn_ns = {dn.netns for dn in nodes}
    holding = {n.netns for n in topo.nodes.values()}
    bare = [ns for ns in topo.namespaces if ns not in holding]  # only lo (or nothing) there
    missing = [said(lang, m) for m in topo.missing]
    if bare:
        missing.append(say(lang, "m_bare", n=len(bare), range=_range([ns or "host" for ns in bare])))
    legend = [say(lang, "legend_severity"), say(lang, "legend_edges")]
    if grouped:
        legend.append(say(lang, "legend_group", n=GROUP_MIN))
    if trace is not None:
        legend.append(say(lang, "legend_trace"))
    quoted = [str(d.params["error"]) for n in topo.nodes.values() for d in n.details if d.key == "d_error"]
    quoted += [str(m.params["why"]) for m in topo.missing if "why" in m.params]
    drawn = {ns: lbl for ns, lbl in namespaces.items() if ns in drawn_ns}
    return View(drawn, nodes, edges, legend, missing, lang, quoted)


def _draw_trace(
    lang: str,
    trace: TraceResult,
    path: list[str],
    lost: tuple[int, int | None, str] | None,
    ids: dict[str, str],
    by_id: dict[str, DrawNode],
    nodes: list[DrawNode],
    edges: list[DrawEdge],
) -> None:
    loss = trace.loss()
    neighbour = loss.target if loss is not None and loss.what in ("arp", "nd") else ""
    for i, (p, key) in enumerate(zip(trace.points, path, strict=True)):
        dn = by_id.get(ids[key])
        if dn is None:
            continue
        marks = say(
            lang,
            "trace_point",
            i=i + 1,
            request="✓" if p.request.seen else "✗",
            reply="✓" if p.reply.seen else "✗",
        )
        if p.error:
            marks += " — " + say(lang, "trace_no_capture")
        dn.lines.append(marks)
        if neighbour:
            n = p.neighbour(neighbour)
            if n.request.seen or n.reply.seen:
                dn.lines.append(
                    say(
                        lang,
                        f"trace_{n.what}",
                        target=neighbour,
                        request="✓" if n.request.seen else "✗",
                        reply="✓" if n.reply.seen else "✗",
                    )
                    + (f" · {n.request.carried()}" if n.request.carried() else "")
                )
        dn.trace = dn.trace or "seen"
    for a, b in itertools.pairwise(path):
        edges.append(DrawEdge(ids[a], ids[b], "trace", "", "path"))
    if lost is None:
        return
    i, j, direction = lost
    word = say(lang, f"lost_{direction.replace('-', '_')}", target=neighbour)
    if j is None:
        toward = say(lang, "beyond", dest=neighbour or trace.dest)
        beyond = DrawNode("lost", trace.points[i].netns, "point", [toward, word], word)
        beyond.trace = "lost"
        nodes.append(beyond)
        edges.append(DrawEdge(ids[path[i]], "lost", "trace", "✗ " + word, "lost"))
        return
    a, b = (ids[path[i]], ids[path[j]])
    by_id[b].trace = "lost"
    edges.append(DrawEdge(a, b, "trace", "✗ " + word, "lost"))


# --- DOT -----------------------------------------------------------------------------------------

_CTRL = re.compile(r"[\x00-\x1f\x7f]")


def dot_string(text: str) -> str:
    """A DOT double-quoted string: backslash and quote escaped (dot would read `\\n`, `\\N` ... in a
    label), control characters shown as U+FFFD.

    >>> print(dot_string('a"b\\\\c<d>'))
    "a\\"b\\\\c<d>"
    """
    return '"' + _CTRL.sub("\ufffd", text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(lines: list[str]) -> str:
    """Lines as one DOT label, centred (dot's `\\n`)."""
    return '"' + "\\n".join(dot_string(line)[1:-1] for line in lines) + '"'


_EDGE_STYLE = {
    "port": 'color="#607d8b"',
    "ovs-port": 'color="#2e7d32"',
    "bond": 'color="#424242", style=bold',
    "veth": 'color="#6d4c41", style=dashed',
    "patch": 'color="#2e7d32", style=dotted, penwidth=2',
    "underlay": 'color="#7b1fa2", style=dashed',
    "vlan": 'color="#f9a825"',
    "parent": 'color="#9e9e9e"',
    "trace": f'color="{TRACE_COLOUR}", penwidth=2.5, constraint=false, arrowhead=normal',
}


def _footer(view: View, width: int = 110) -> list[str]:
    """The legend and what is missing, wrapped for the foot of the picture."""
    return [part for line in view.legend + view.missing for part in wrap(line, width)]


def to_dot(view: View) -> str:
    out = [
        "digraph netsleuth {",
        '  graph [rankdir=TB, fontname="sans-serif", fontsize=10, nodesep=0.2, ranksep=0.45, '
        # pad: dot measures text a few per cent narrower than browsers draw it; without room to
        # spare the end of the widest legend line is cut off at the picture's right edge
        'newrank=true, compound=true, labelloc=b, labeljust=l, pad="0.3,0.06", '
        "label=" + '"' + "".join(dot_string(line)[1:-1] + "\\l" for line in _footer(view)) + '"];',
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=9, margin="0.08,0.04"];',
        '  edge [arrowhead=none, fontname="sans-serif", fontsize=8];',
    ]
    by_ns: dict[str, list[DrawNode]] = defaultdict(list)
    for n in view.nodes:
        by_ns[n.netns].append(n)
    for i, (ns, members) in enumerate(by_ns.items()):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(
            f'    label={dot_string(view.namespaces.get(ns, ns))}; labelloc=t; style="rounded"; color="#90a4ae"; '
            f'bgcolor="{"#fafafa" if ns else "#ffffff"}";'
        )
        out += [f"    {_node_dot(n)}" for n in members]
        out.append("  }")
    for e in view.edges:
        attrs = [_EDGE_STYLE.get(e.kind, "")]
        if e.trace == "lost":
            attrs = [
                f'color="{LOST_COLOUR}", penwidth=3, constraint=false, arrowhead=normal, fontcolor="{LOST_COLOUR}"'
            ]
        if e.label:
            attrs.append(f"label={dot_string(e.label)}")
        out.append(f"  {e.a} -> {e.b} [{', '.join(a for a in attrs if a)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _node_dot(n: DrawNode) -> str:
    attrs = [f"label={_label(n.lines)}", f"tooltip={dot_string(n.tooltip)}", f'id="{n.id}"']
    fill = KIND_FILL.get(n.kind, "#ffffff")
    if n.kind == "group":
        attrs.append('shape=box3d, style="filled"')
    if n.kind in ("stub", "point"):
        attrs.append('style="rounded,dashed"')
    if n.severity:
        fill = SEV_FILL[n.severity]
        attrs.append(f'color="{SEV_COLOUR[n.severity]}", penwidth=2.5, class="sev-{n.severity}"')
    elif n.trace == "lost":
        attrs.append(f'color="{LOST_COLOUR}", penwidth=2.5, style="rounded,filled,dashed"')
    elif n.trace == "seen":
        attrs.append(f'color="{TRACE_COLOUR}", penwidth=2')
    attrs.append(f'fillcolor="{fill}"')
    return f"{n.id} [{', '.join(attrs)}];"


# --- layout --------------------------------------------------------------------------------------


def svg_of_dot(dot: str, timeout: float = DOT_TIMEOUT_S) -> tuple[str | None, str]:
    """SVG from graphviz `dot` (without its XML prologue, to embed), or None and why not."""
    exe = shutil.which("dot")
    if exe is None:
        return None, "no_dot"
    ran = process.run([exe, "-Tsvg"], timeout, input=dot.encode("utf-8"))
    if ran.timed_out:
        return None, "dot_timeout"
    if not ran.ok:
        return None, "dot_failed"
    svg = ran.text()
    start = svg.find("<svg")
    return (svg[start:] if start >= 0 else None), ("" if start >= 0 else "dot_failed")


def picture(topo: Topology, findings: Iterable[FindingOut], lang: str, layout: bool = True) -> Picture:
    """The picture of `topo` with `findings` marked, as DOT and SVG (dot, else the built-in layout)."""
    view = build_view(topo, findings, lang)
    dot = to_dot(view)
    notes: list[str] = []
    svg, why = svg_of_dot(dot) if layout else (None, "")
    engine = "dot"
    if svg is None:
        engine = "builtin"
        if why:
            notes.append(say(lang, why))
        svg = svg_of_view(view)
    return Picture(view, dot, svg, engine, notes)


def report_picture(facts: FactStore, report: Report, layout: bool = True) -> Picture:
    """The picture of the facts a report was judged on, its findings marked. With no interface
    known at all it is still a picture: it says what is missing."""
    try:
        topo = facts.get(Topology)
    except Unavailable as exc:
        topo = Topology({}, [], list(facts.bundle.scopes()), [Msg("m_nothing", {"why": str(exc)})])
    return picture(topo, report.findings, report.lang, layout)


def standalone_svg(pic: Picture) -> str:
    """The picture as an SVG file of its own."""
    return '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + pic.svg
