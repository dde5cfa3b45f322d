"""nftables rule set: `nft -j list ruleset` (JSON, live) and `nft [-a] list ruleset` (text, sosreports)."""

from __future__ import annotations

import json
import re
from typing import Any

from netsleuth.errors import ParseError
from netsleuth.parsers.fwrule import FwRule, Ruleset

_VERDICTS = {"drop": "DROP", "reject": "REJECT", "accept": "ACCEPT"}
# what narrows a match beyond protocol/port/interface/destination
_NARROWING = ("saddr", "sport", "ct", "mark", "limit", "set", "ether")


def _right_ports(right: Any) -> tuple[tuple[int, int], ...]:
    if isinstance(right, int):
        return ((right, right),)
    if isinstance(right, dict) and "set" in right:
        out: list[tuple[int, int]] = []
        for item in right["set"]:
            out += list(_right_ports(item))
        return tuple(out)
    if isinstance(right, dict) and "range" in right:
        lo, hi = right["range"]
        return ((int(lo), int(hi)),)
    if isinstance(right, list) and len(right) == 2:  # older JSON ranges
        return ((int(right[0]), int(right[1])),)
    raise ParseError("nft: port match not understood", json.dumps(right))


def _show(right: Any) -> str:
    if isinstance(right, dict) and "set" in right:
        return "{ " + ", ".join(_show(x) for x in right["set"]) + " }"
    if isinstance(right, dict) and "range" in right:
        return "-".join(str(x) for x in right["range"])
    return str(right)


def _json_rule(r: dict[str, Any]) -> FwRule:
    table = f"{r.get('family', '')} {r.get('table', '')}"
    proto, iface, target = "", "", ""
    dports: tuple[tuple[int, int], ...] = ()
    conds: list[str] = []
    negated = False
    packets: int | None = None
    nbytes: int | None = None
    words: list[str] = []
    for e in r.get("expr", []):
        if not isinstance(e, dict) or not e:
            continue
        kind, body = next(iter(e.items()))
        if kind == "match":
            left, right, op = body.get("left", {}), body.get("right"), body.get("op", "==")
            if isinstance(left, dict) and "payload" in left:
                pl = left["payload"]
                field = pl.get("field", "")
                if field == "dport":
                    proto = pl.get("protocol", proto) if pl.get("protocol") != "th" else proto
                    if op == "!=":
                        negated = True
                    else:
                        dports = _right_ports(right)
                    words.append(f"{pl.get('protocol')} dport {'!= ' if op == '!=' else ''}{_show(right)}")
                    continue
                if field in ("daddr", "protocol", "nexthdr"):
                    if field in ("protocol", "nexthdr") and isinstance(right, str):
                        proto = right
                    words.append(f"{pl.get('protocol')} {field} {json.dumps(right)}")
                    continue
                conds.append(f"{pl.get('protocol')} {field} {op} {json.dumps(right)}")
            elif isinstance(left, dict) and "meta" in left:
                key = left["meta"].get("key", "")
                if key in ("iif", "iifname"):
                    iface = str(right) if op == "==" else f"!{right}"
                    words.append(f'{key} {"!= " if op != "==" else ""}"{right}"')
                elif key == "l4proto" and isinstance(right, str) and op == "==":
                    proto = right
                else:
                    conds.append(f"meta {key} {op} {json.dumps(right)}")
            else:
                conds.append(json.dumps(body))
        elif kind == "counter" and isinstance(body, dict):
            packets, nbytes = body.get("packets"), body.get("bytes")
        elif kind in _VERDICTS:
            target = _VERDICTS[kind]
        elif kind in ("jump", "goto") and isinstance(body, dict):
            target = str(body.get("target", ""))
        elif kind in ("limit", "ct", "set", "xt"):
            conds.append(kind)
    line = (
        f"{table} chain {r.get('chain')} handle {r.get('handle')}: "
        + " ".join(words + conds)
        + (f" counter packets {packets} bytes {nbytes}" if packets is not None else "")
        + f" {target.lower()}"
    )
    return FwRule(
        table,
        str(r.get("chain", "")),
        target,
        proto,
        dports,
        tuple(conds),
        iface,
        line,
        packets,
        nbytes,
        negated,
    )


def parse_nft_json(text: str) -> Ruleset:
    """Parse `nft -j list ruleset`.

    >>> rs = parse_nft_json(SAMPLE_JSON)
    >>> [(r.target, r.proto, r.dports, r.packets) for r in rs.rules]
    [('ACCEPT', '', (), None), ('DROP', 'udp', ((67, 67), (68, 68)), 0)]
    >>> rs.hooks
    {('inet filter', 'input'): 'input'}
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"nft -j: not JSON ({exc.msg})", text[:80]) from None
    if not isinstance(data, dict) or "nftables" not in data:
        raise ParseError("nft -j: no `nftables` list", text[:80])
    out = Ruleset()
    for item in data["nftables"]:
        if "chain" in item:
            c = item["chain"]
            key = (f"{c.get('family', '')} {c.get('table', '')}", str(c.get("name", "")))
            out.policies[key] = str(c.get("policy", "-")).upper() if c.get("hook") else "-"
            if c.get("hook"):
                out.hooks[key] = str(c["hook"])
        elif "rule" in item:
            out.rules.append(_json_rule(item["rule"]))
    return out


_TABLE = re.compile(r"^table\s+(\w+)\s+(\S+)\s*\{")
_CHAIN = re.compile(r"^chain\s+(\S+)\s*\{")
_HOOK = re.compile(r"type\s+\w+\s+hook\s+(\w+)\s+priority\s+[^;]+;(?:\s*policy\s+(\w+);)?")
_DPORT = re.compile(r"\b(udp|tcp|th)\s+dport\s+(!=\s*)?(\{[^}]*\}|\d+(?:-\d+)?)")
_L4 = re.compile(r"\bmeta\s+l4proto\s+(\w+)")
_COUNTER = re.compile(r"\bcounter packets (\d+) bytes (\d+)")
_IIF = re.compile(r"\biif(?:name)?\s+(!=\s*)?\"?([^\s\"]+)\"?")
_VERDICT = re.compile(r"\b(drop|reject|accept)\b(?:\s+with\s+.*)?\s*(?:#.*)?$")
_JUMP = re.compile(r"\b(?:jump|goto)\s+(\S+)")


def _text_ports(spec: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for part in spec.strip("{} ").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi) if hi else int(lo)))
    return tuple(out)


def parse_nft_text(text: str) -> Ruleset:
    """Parse `nft list ruleset` / `nft -a list ruleset` text.

    >>> rs = parse_nft_text(SAMPLE_TEXT)
    >>> [(r.chain, r.target, r.proto, r.dports, r.packets) for r in rs.rules][1:3]
    [('input', 'DROP', 'udp', ((67, 67), (68, 68)), 0), ('input', 'REJECT', 'udp', ((53, 53),), 0)]
    """
    out = Ruleset()
    table, chain = "", ""
    depth = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := _TABLE.match(line):
            table, depth = f"{m.group(1)} {m.group(2)}", 1
            continue
        if not table:
            raise ParseError("nft: line outside a table", line)
        if m := _CHAIN.match(line):
            chain, depth = m.group(1), 2
            out.policies[(table, chain)] = "-"
            continue
        if line.startswith("}"):
            depth -= 1
            if depth == 1:
                chain = ""
            elif depth <= 0:
                table = ""
            continue
        if not chain:
            if line.endswith("{"):
                depth += 1  # set/map/flowtable blocks
            continue
        if line.endswith("{"):
            depth += 1
            continue
        if m := _HOOK.search(line):
            out.hooks[(table, chain)] = m.group(1)
            out.policies[(table, chain)] = (m.group(2) or "accept").upper()
            continue
        body = re.sub(r"\s*#\s*handle\s+\d+\s*$", "", line)
        proto, negated = "", False
        dports: tuple[tuple[int, int], ...] = ()
        if dm := _DPORT.search(body):
            proto = dm.group(1) if dm.group(1) != "th" else ""
            negated = bool(dm.group(2))
            dports = () if negated else _text_ports(dm.group(3))
        if lm := _L4.search(body):
            proto = lm.group(1)
        iface = ""
        if im := _IIF.search(body):
            iface = ("!" if im.group(1) else "") + im.group(2)
        target = ""
        if vm := _VERDICT.search(body):
            target = vm.group(1).upper()
        elif jm := _JUMP.search(body):
            target = jm.group(1)
        conds = tuple(w for w in _NARROWING if re.search(rf"\b{w}\b", body))
        packets = nbytes = None
        if cm := _COUNTER.search(body):
            packets, nbytes = int(cm.group(1)), int(cm.group(2))
        out.rules.append(
            FwRule(
                table,
                chain,
                target,
                proto,
                dports,
                conds,
                iface,
                f"{table} chain {chain}: {body}",
                packets,
                nbytes,
                negated,
            )
        )
    return out


def parse_nft(text: str) -> Ruleset:
    """Either form, told apart by the first character."""
    return parse_nft_json(text) if text.lstrip().startswith("{") else parse_nft_text(text)


# captured on the test machine (`nft -j list ruleset` in a namespace; shortened)
SAMPLE_JSON = """{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5",
"json_schema_version": 1}}, {"table": {"family": "inet", "name": "filter", "handle": 1}},
{"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter",
"hook": "input", "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "filter",
"chain": "input", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}},
"right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input",
"handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
"right": {"set": [67, 68]}}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}]}"""

SAMPLE_TEXT = """\
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		iif "lo" accept
		udp dport { 67, 68 } counter packets 0 bytes 0 drop
		udp dport 53 counter packets 0 bytes 0 reject
		tcp dport 22 counter packets 0 bytes 0 drop
		udp dport 4789 counter packets 0 bytes 0 accept
	}
}
"""
