"""The picture of a fleet's tunnel mesh as inline SVG: hosts as nodes on a circle, tunnels as edges;
an edge with a finding is drawn red with the finding's id on it, a one-way tunnel carries an arrow
in the way it goes, a tunnel to an address no analysed host has is grey and dashed. Every text is
escaped; no script, no external resource."""

from __future__ import annotations

import math
from html import escape

from netsleuth.results.fleet import MeshEdge, MeshNode, MeshPicture

NODE_R = 14
SPACING = 80  # px of circumference per node
MARGIN = 130  # room for the labels around the circle
RED = "#d00000"
GREY = "#8a8a8a"
FILL = {"critical": "#f4b4b4", "warning": "#f6dc9c", "info": "#cfe3f5", "": "#c8e6c9"}


def _e(text: str) -> str:
    return escape(text, quote=True)


def _layout(nodes: list[MeshNode]) -> tuple[dict[str, tuple[float, float]], float]:
    hosts = [n for n in nodes if n.status != "address"]
    ordered = hosts + [n for n in nodes if n.status == "address"]
    radius = max(120.0, SPACING * len(ordered) / (2 * math.pi))
    centre = radius + MARGIN
    pos = {}
    for i, n in enumerate(ordered):
        angle = -math.pi / 2 + 2 * math.pi * i / max(1, len(ordered))
        pos[n.name] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    return pos, 2 * centre


def _edge(
    e: MeshEdge, pos: dict[str, tuple[float, float]], external: bool, titles: dict[str, str]
) -> list[str]:
    one_way = e.a_to_b != e.b_to_a
    src, dst = (e.b, e.a) if e.b_to_a and not e.a_to_b else (e.a, e.b)  # drawn the way traffic goes
    (x1, y1), (x2, y2) = pos[src], pos[dst]
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    dx, dy = (x2 - x1) / length, (y2 - y1) / length
    broken = bool(e.findings)
    colour = RED if broken else GREY
    attrs = [f'stroke="{colour}"', f'stroke-width="{3 if broken else 1.5}"']
    if external or (one_way and not broken):
        attrs.append('stroke-dasharray="6 4"')
    if one_way:
        attrs.append(f'marker-end="url(#arrow-{"red" if broken else "grey"})"')
    way = f"{src} -> {dst}" if one_way else f"{src} <-> {dst}"
    tip = "; ".join([way, *(f"{fid}: {titles.get(fid, '')}" for fid in e.findings)])
    out = [
        f'<g class="edge{" broken" if broken else ""}"><title>{_e(tip)}</title>'
        # from rim to rim, so that the arrow head shows
        f'<line x1="{x1 + dx * NODE_R:.1f}" y1="{y1 + dy * NODE_R:.1f}" x2="{x2 - dx * NODE_R:.1f}" '
        f'y2="{y2 - dy * NODE_R:.1f}" {" ".join(attrs)}/>'
    ]
    if broken:
        out.append(
            f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 6:.1f}" text-anchor="middle" font-size="12" '
            f'fill="{RED}" stroke="#ffffff" stroke-width="3" paint-order="stroke">{_e(", ".join(e.findings))}</text>'
        )
    out.append("</g>")
    return out


def _node(n: MeshNode, x: float, y: float, centre: float) -> list[str]:
    address = n.status == "address"
    fill = "#ffffff" if address else FILL.get(n.worst, FILL[""]) if n.status == "ok" else "#d0d0d0"
    stroke = f'stroke="{GREY}" stroke-dasharray="3 3"' if address else 'stroke="#333333"'
    # the label just outside the node, away from the centre of the circle
    far = math.hypot(x - centre, y - centre) or 1.0
    lx, ly = x + (x - centre) / far * (NODE_R + 6), y + (y - centre) / far * (NODE_R + 10)
    anchor = "start" if x > centre + 1 else "end" if x < centre - 1 else "middle"
    tip = n.name + (f" ({n.status})" if n.status not in ("ok", "address") else "")
    if n.addresses:
        tip += " — " + ", ".join(n.addresses)
    return [
        f'<g class="node"><title>{_e(tip)}</title>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{NODE_R}" fill="{fill}" {stroke} stroke-width="1.5"/>'
        f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="{anchor}" font-size="13">{_e(n.name)}</text></g>'
    ]


def mesh_svg(pic: MeshPicture, titles: dict[str, str] | None = None) -> str:
    """The mesh as one <svg> element (scales to the page width)."""
    titles = titles or {}
    pos, size = _layout(pic.nodes)
    external = {n.name for n in pic.nodes if n.status == "address"}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mesh" viewBox="0 0 {size:.0f} {size:.0f}" '
        f'width="100%" style="max-width:{size:.0f}px" role="img" font-family="sans-serif">',
        "<defs>",
        *(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in (("red", RED), ("grey", GREY))
        ),
        "</defs>",
    ]
    # red edges last, so that they are drawn over the grey ones
    for e in sorted(pic.edges, key=lambda e: bool(e.findings)):
        out += _edge(e, pos, e.a in external or e.b in external, titles)
    centre = size / 2
    for n in pic.nodes:
        x, y = pos[n.name]
        out += _node(n, x, y, centre)
    out.append("</svg>")
    return "\n".join(out)
