"""Open vSwitch: `ovs-vsctl list` (JSON live, text in sosreports) and the daemons' log files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from netsleuth.errors import ParseError

Row = dict[str, Any]


def _json_value(v: Any) -> Any:
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
        tag, body = v
        if tag == "set":
            return [_json_value(x) for x in body]
        if tag == "map":
            return {str(_json_value(k)): _json_value(x) for k, x in body}
        if tag in ("uuid", "named-uuid"):
            return body
    return v


def _text_value(s: str) -> Any:
    s = s.strip()
    if s in ("[]", "{}"):
        return [] if s == "[]" else {}
    if s.startswith("{") and s.endswith("}"):
        out: dict[str, Any] = {}
        for part in re.findall(r'([\w:.-]+)=("(?:[^"\\]|\\.)*"|[^,}]*)', s):
            out[part[0]] = _text_value(part[1])
        return out
    if s.startswith("[") and s.endswith("]"):
        return [_text_value(x) for x in s[1:-1].split(",") if x.strip()]
    if s.startswith('"') and s.endswith('"'):
        return s[1:-1].replace('\\"', '"')
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    return s


def parse_vsctl_list(text: str) -> list[Row]:
    """Rows of `ovs-vsctl --format=json list TABLE` or of its text form.

    >>> rows = parse_vsctl_list(SAMPLE_LIST_INTERFACE)
    >>> [(r["name"], r["ofport"], r["error"], r["link_state"]) for r in rows]
    [('eth9', -1, 'could not open network device eth9 (No such device)', []), ('qvoe6366126-d8', 6, [], 'up')]
    """
    s = text.strip()
    if not s:
        return []
    if s.startswith("{"):
        try:
            doc = json.loads(s)
        except json.JSONDecodeError as exc:
            raise ParseError(f"ovs-vsctl json: {exc.msg}") from None
        heads = doc.get("headings", [])
        return [{h: _json_value(v) for h, v in zip(heads, row, strict=False)} for row in doc.get("data", [])]
    rows: list[Row] = []
    cur: Row = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                rows.append(cur)
                cur = {}
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ParseError("ovs-vsctl list: expected 'key : value'", line)
        cur[key.strip()] = _text_value(value)
    if cur:
        rows.append(cur)
    return rows


def parse_vsctl_show(text: str) -> tuple[list[Row], list[Row], list[Row]]:
    """`ovs-vsctl show` (what a sosreport keeps when it lacks `list port`) as rows of the Bridge,
    Port and Interface tables, joined by made-up uuids ("port:NAME", "iface:NAME"); columns as
    `parse_vsctl_list` gives them (tag, trunks, type, options, error).

    >>> bridges, ports, ifaces = parse_vsctl_show(SAMPLE_SHOW)  # a real sosreport's (hotsos compute4)
    >>> [(b["name"], b["ports"], b["datapath_type"]) for b in bridges]
    [('br-tun', ['port:vxlan-0a000085'], 'system'), ('br-int', ['port:tap0e778df8-ca', 'port:patch-tun'], 'system')]
    >>> [(p["name"], p["tag"]) for p in ports]
    [('vxlan-0a000085', []), ('tap0e778df8-ca', 3), ('patch-tun', [])]
    >>> [(i["name"], i["type"], i["options"].get("remote_ip") or i["options"].get("peer")) for i in ifaces]
    [('vxlan-0a000085', 'vxlan', '10.0.0.133'), ('tap0e778df8-ca', '', None), ('patch-tun', 'patch', 'patch-int')]
    """
    bridges: list[Row] = []
    ports: list[Row] = []
    ifaces: list[Row] = []
    cur: Row | None = None
    for line in text.splitlines():
        stripped = line.strip()
        word, _, rest = stripped.partition(" ")
        if word == "Bridge":
            bridges.append({"name": _text_value(rest), "ports": [], "datapath_type": ""})
            cur = bridges[-1]
        elif word == "Port" and bridges:
            name = _text_value(rest)
            ports.append({"_uuid": f"port:{name}", "name": name, "tag": [], "trunks": [], "interfaces": []})
            bridges[-1]["ports"].append(f"port:{name}")
            cur = ports[-1]
        elif word == "Interface" and ports:
            name = _text_value(rest)
            ifaces.append({"_uuid": f"iface:{name}", "name": name, "type": "", "options": {}, "error": []})
            ports[-1]["interfaces"].append(f"iface:{name}")
            cur = ifaces[-1]
        elif cur is not None and ":" in stripped and not stripped.startswith(("Controller", "Manager")):
            key, _, value = stripped.partition(":")
            if key in ("tag", "trunks", "type", "options", "error", "datapath_type", "bond_mode"):
                cur[key] = _text_value(value)
    return bridges, ports, ifaces


@dataclass(frozen=True)
class OvsLogLine:
    when: datetime | None
    module: str
    level: str
    message: str
    raw: str


_LOG = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?)\|\d+\|([^|]+)\|([A-Z]+)\|(.*)$")


def parse_ovs_log(lines: list[str]) -> list[OvsLogLine]:
    """Lines of ovs-vswitchd.log / ovsdb-server.log.

    >>> [(l.level, l.module, l.message) for l in parse_ovs_log(
    ...   ["2015-09-07T19:43:59.058Z|00010|reconnect|WARN|unix:connection dropped (Broken pipe)"])]
    [('WARN', 'reconnect', 'unix:connection dropped (Broken pipe)')]
    """
    out: list[OvsLogLine] = []
    for raw in lines:
        m = _LOG.match(raw)
        if not m:
            if raw.strip():
                out.append(OvsLogLine(None, "", "", raw.strip(), raw))
            continue
        ts = m.group(1).replace("Z", "+00:00")
        try:
            when: datetime | None = datetime.fromisoformat(ts if "+" in ts else ts + "+00:00")
        except ValueError:
            when = None
        out.append(OvsLogLine(when, m.group(2), m.group(3), m.group(4), raw))
    return out


SAMPLE_LIST_INTERFACE = """\
_uuid               : 4a0bb32f-4e3c-4a67-9c8d-2b0c5e1e9a11
admin_state         : []
error               : "could not open network device eth9 (No such device)"
link_state          : []
mtu                 : []
name                : eth9
ofport              : -1
options             : {}
type                : ""

_uuid               : 9c1e6c53-0d2b-4b8e-8a4f-3c6a3b7d2e10
admin_state         : up
error               : []
link_state          : up
mtu                 : 1500
name                : "qvoe6366126-d8"
ofport              : 6
options             : {remote_ip="10.0.0.2", key=flow}
type                : ""
"""

SAMPLE_SHOW = """\
b8a20458-9009-41a0-aa49-71bcc0080537
    Manager "ptcp:6640:127.0.0.1"
        is_connected: true
    Bridge br-tun
        Controller "tcp:127.0.0.1:6633"
            is_connected: true
        fail_mode: secure
        datapath_type: system
        Port vxlan-0a000085
            Interface vxlan-0a000085
                type: vxlan
                options: {df_default="true", egress_pkt_mark="0", in_key=flow, local_ip="10.0.0.128", out_key=flow, remote_ip="10.0.0.133"}
    Bridge br-int
        Controller "tcp:127.0.0.1:6633"
            is_connected: true
        fail_mode: secure
        datapath_type: system
        Port tap0e778df8-ca
            tag: 3
            Interface tap0e778df8-ca
        Port patch-tun
            Interface patch-tun
                type: patch
                options: {peer=patch-int}
    ovs_version: "2.13.3"
"""
