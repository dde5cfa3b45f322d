"""A simple layout for the topology picture when graphviz `dot` is not installed (or fails): each
namespace a box, its nodes in rows (bridges first), edges as straight lines. Less tidy than dot,
but the same nodes, marks, trace and legend, and every text escaped."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from netsleuth.report.drawing import (
    KIND_FILL,
    LOST_COLOUR,
    SEV_COLOUR,
    SEV_FILL,
    TRACE_COLOUR,
    DrawNode,
    View,
    width,
    wrap,
)

CHAR_W = 6.2
LINE_H = 13
PAD = 8
PER_ROW = 4
GAP = 18
CLUSTER_PAD = 14
CLUSTERS_PER_ROW = 3
ORDER = {"ovs-bridge": 0, "bridge": 1, "bond": 2, "nic": 3, "tunnel": 4, "vlan": 5, "ovs-port": 6, "group": 7}


def text_width(s: str) -> float:
    """Pixels of a line in the 9-10 px sans-serif of the picture (wide CJK characters count twice)."""
    return width(s) * CHAR_W


def _size(n: DrawNode) -> tuple[float, float]:
    return max(text_width(line) for line in n.lines) + 2 * PAD, len(n.lines) * LINE_H + PAD


def svg_of_view(view: View) -> str:
    by_ns: dict[str, list[DrawNode]] = defaultdict(list)
    for n in view.nodes:
        by_ns[n.netns].append(n)
    pos: dict[str, tuple[float, float, float, float]] = {}  # id -> x, y, w, h
    boxes: list[tuple[float, float, float, float, str]] = []
    x0: float = GAP
    y0: float = GAP
    row_h = 0.0
    max_w = 0.0
    for ci, (ns, members) in enumerate(by_ns.items()):
        members = sorted(members, key=lambda n: ORDER.get(n.kind, 9))
        sizes = [_size(n) for n in members]
        cols = min(PER_ROW, len(members))
        col_w = max(w for w, _ in sizes)
        rows = [members[i : i + cols] for i in range(0, len(members), cols)]
        y = y0 + CLUSTER_PAD + LINE_H
        for r, row in enumerate(rows):
            h = max(_size(n)[1] for n in row)
            for c, n in enumerate(row):
                w, nh = sizes[r * cols + c]
                pos[n.id] = (x0 + CLUSTER_PAD + c * (col_w + GAP), y, w, nh)
            y += h + GAP
        width = 2 * CLUSTER_PAD + cols * col_w + (cols - 1) * GAP
        width = max(width, text_width(view.namespaces.get(ns, ns)) + 2 * CLUSTER_PAD)
        height = y - y0 + CLUSTER_PAD - GAP
        boxes.append((x0, y0, width, height, view.namespaces.get(ns, ns)))
        row_h = max(row_h, height)
        x0 += width + GAP
        max_w = max(max_w, x0)
        if (ci + 1) % CLUSTERS_PER_ROW == 0:
            x0, y0, row_h = GAP, y0 + row_h + GAP, 0.0
    legend_y = y0 + row_h + GAP + LINE_H
    footer = [part for line in view.legend + view.missing for part in wrap(line)]
    total_w = max([max_w, *(text_width(line) + 2 * GAP for line in footer)])
    total_h = legend_y + len(footer) * LINE_H + GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="sans-serif" font-size="9">'
    ]
    for x, y, w, h, label in boxes:
        out.append(
            f'<g class="cluster"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
            f'fill="#fafafa" stroke="#90a4ae"/><text x="{x + CLUSTER_PAD:.1f}" y="{y + LINE_H:.1f}" '
            f'font-size="10">{escape(label)}</text></g>'
        )
    for e in view.edges:
        if e.a not in pos or e.b not in pos:
            continue
        ax, ay, aw, ah = pos[e.a]
        bx, by, bw, bh = pos[e.b]
        x1, y1, x2, y2 = ax + aw / 2, ay + ah / 2, bx + bw / 2, by + bh / 2
        colour = LOST_COLOUR if e.trace == "lost" else TRACE_COLOUR if e.trace else "#78909c"
        dash = ' stroke-dasharray="5,3"' if e.kind in ("veth", "underlay") else ""
        width = 2.5 if e.trace else 1
        out.append(
            f'<g class="edge"><line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="{width}"{dash}/>'
        )
        if e.label:
            out.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 2:.1f}" font-size="8" '
                f'fill="{colour}">{escape(e.label)}</text>'
            )
        out.append("</g>")
    for n in view.nodes:
        if n.id not in pos:
            continue
        x, y, w, h = pos[n.id]
        stroke, fill, sw = "#546e7a", KIND_FILL.get(n.kind, "#ffffff"), 1.0
        if n.severity:
            stroke, fill, sw = SEV_COLOUR[n.severity], SEV_FILL[n.severity], 2.5
        elif n.trace:
            stroke, sw = (LOST_COLOUR if n.trace == "lost" else TRACE_COLOUR), 2.0
        cls = f' class="node sev-{n.severity}"' if n.severity else ' class="node"'
        out.append(
            f'<g id="{escape(n.id)}"{cls}><title>{escape(n.tooltip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{sw}"/>'
        )
        for i, line in enumerate(n.lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(
                f'<text x="{x + PAD:.1f}" y="{y + PAD / 2 + (i + 1) * LINE_H - 3:.1f}"{weight}>{escape(line)}</text>'
            )
        out.append("</g>")
    for i, line in enumerate(footer):
        out.append(f'<text x="{GAP}" y="{legend_y + i * LINE_H:.1f}" font-size="10">{escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
