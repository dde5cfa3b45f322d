"""What the topology picture draws, before layout: nodes, edges, namespaces, legend; and its
colours. Shared by the picture (report/picture.py) and the built-in layout (report/layout.py)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

SEV_COLOUR = {"critical": "#b00020", "warning": "#b35c00", "info": "#00639b"}
SEV_FILL = {"critical": "#fde7ea", "warning": "#fff1dc", "info": "#e3f1fb"}
SEV_RANK = {"critical": 2, "warning": 1, "info": 0}
TRACE_COLOUR = "#1565c0"
LOST_COLOUR = "#d50000"
KIND_FILL = {
    "nic": "#eceff1",
    "bond": "#e0e0e0",
    "bridge": "#e3f2fd",
    "ovs-bridge": "#e8f5e9",
    "ovs-port": "#f1f8e9",
    "veth": "#ffffff",
    "tun": "#ffffff",
    "tunnel": "#f3e5f5",
    "vlan": "#fffde7",
    "other": "#ffffff",
    "stub": "#ffffff",
    "point": "#ffffff",
    "group": "#fafafa",
}


def width(text: str) -> int:
    """Columns a line takes: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, columns: int = 110) -> list[str]:
    """Lines of at most `columns` (wide characters count twice), broken after a space or a
    punctuation mark when there is one, else where the line is full (Chinese has no spaces).

    >>> wrap("aaa bbb ccc", 8)
    ['aaa bbb', 'ccc']
    >>> wrap("颜色与标记：某个发现所指的对象", 12)
    ['颜色与标记：', '某个发现所指', '的对象']
    """
    out: list[str] = []
    line, cols, brk = "", 0, -1
    for ch in text:
        line += ch
        cols += width(ch)
        if ch in " ，、；：。,;:":
            brk = len(line)
        if cols > columns:
            cut = brk if brk > 0 else len(line) - 1
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
            cols, brk = width(line), -1
    if line.strip() or not out:
        out.append(line.rstrip())
    return out


@dataclass
class DrawNode:
    id: str
    netns: str
    kind: str
    lines: list[str]
    tooltip: str
    severity: str = ""
    findings: list[str] = field(default_factory=list)
    trace: str = ""  # "" | seen | lost
    count: int = 1


@dataclass
class DrawEdge:
    a: str
    b: str
    kind: str
    label: str = ""
    trace: str = ""  # "" | path | lost


@dataclass
class View:
    """The picture before layout: clusters (namespaces), nodes, edges, legend and what is missing."""

    namespaces: dict[str, str]  # netns -> its label
    nodes: list[DrawNode]
    edges: list[DrawEdge]
    legend: list[str]
    missing: list[str]
    lang: str
    quoted: list[str] = field(
        default_factory=list
    )  # what it quotes as the evidence says it (errors, reasons)
