"""iptables rules: `iptables-save [-c]` (live and sosreports) and `iptables -vnxL` (sosreports, via jc).

Each rule keeps its table, chain, target, protocol, destination ports and the conditions that
narrow it (source address, connection state, ...), so a rule can tell "drops every DHCP packet"
from "drops DHCP packets from one spoofing VM".
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from netsleuth.errors import ParseError
from netsleuth.parsers.fwrule import FwRule, Ruleset

_ANY = {"0.0.0.0/0", "::/0"}


def _ports(spec: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        out.append((int(lo or 0), int(hi or 65535) if _ else int(lo)))
    return tuple(out)


def _rule(table: str, line: str, counters: tuple[int, int] | None) -> FwRule:
    # quotes only come with comments (`-m comment --comment "..."`): split plainly otherwise
    toks = shlex.split(line) if '"' in line or "'" in line or "\\" in line else line.split()
    if len(toks) < 2 or toks[0] != "-A":
        raise ParseError("iptables-save: expected `-A CHAIN ...`", line)
    chain = toks[1]
    target, proto, iface = "", "", ""
    dports: tuple[tuple[int, int], ...] = ()
    conds: list[str] = []
    negated = False
    i = 2
    while i < len(toks):
        tok = toks[i]
        neg = tok == "!"
        if neg:
            i += 1
            tok = toks[i] if i < len(toks) else ""
        val = toks[i + 1] if i + 1 < len(toks) else ""
        if tok in ("-j", "--jump", "-g", "--goto"):
            target = val
            # the rest are target options (--reject-with ...)
            break
        if tok in ("-c", "--set-counters"):
            counters = (int(val), int(toks[i + 2]))
            i += 3
            continue
        if tok in ("-p", "--protocol"):
            proto = "" if neg else val.lower()
        elif tok in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            if neg:
                negated = True
            else:
                dports = _ports(val)
        elif tok in ("-i", "--in-interface"):
            iface = ("!" if neg else "") + val
        elif (
            (tok in ("-s", "--source") and val in _ANY and not neg)
            or tok in ("-d", "--destination")
            or tok in ("-m", "--match")
            or tok == "--comment"
        ):
            pass
        elif tok.startswith("-"):
            # an option that narrows the match: source, state, sport, mark, set, limit, ...
            has_val = bool(val) and not val.startswith("-")
            conds.append(" ".join(["!" if neg else "", tok, val if has_val else ""]).strip())
            i += 2 if has_val else 1
            continue
        i += 2
    return FwRule(
        table=table,
        chain=chain,
        target=target,
        proto=proto,
        dports=dports,
        conditions=tuple(conds),
        in_iface=iface,
        line=line,
        packets=counters[0] if counters else None,
        bytes=counters[1] if counters else None,
        negated_port=negated,
    )


_COUNTED = re.compile(r"^\[(\d+):(\d+)\]\s+(-A .*)$")


def parse_iptables_save(text: str) -> Ruleset:
    """Parse `iptables-save` or `iptables-save -c` (also `ip6tables-save`).

    >>> t = parse_iptables_save(SAMPLE_SAVE)
    >>> [(r.chain, r.target, r.proto, r.dports, r.packets) for r in t.rules][:2]
    [('INPUT', 'DROP', 'udp', ((67, 67),), 1), ('INPUT', 'DROP', 'udp', ((53, 53),), 2)]
    >>> t.policies[("filter", "INPUT")]
    'ACCEPT'
    >>> parse_iptables_save("-A INPUT -j DROP")
    Traceback (most recent call last):
    ...
    netsleuth.errors.ParseError: iptables-save: rule outside a table: '-A INPUT -j DROP'
    """
    out = Ruleset()
    table = ""
    seen_any = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:].strip()
            seen_any = True
        elif line == "COMMIT":
            table = ""
        elif line.startswith(":"):
            parts = line[1:].split()
            if not table or len(parts) < 2:
                raise ParseError("iptables-save: chain outside a table", line)
            out.policies[(table, parts[0])] = parts[1]
            if parts[1] != "-":
                out.hooks[(table, parts[0])] = parts[0].lower()
        elif line.startswith(("-A ", "[")):
            if not table:
                raise ParseError("iptables-save: rule outside a table", line)
            m = _COUNTED.match(line)
            if m:
                out.rules.append(_rule(table, m.group(3), (int(m.group(1)), int(m.group(2)))))
            else:
                out.rules.append(_rule(table, line, None))
        elif line.startswith(("-N ", "-P ", "-X ")):
            continue
        else:
            raise ParseError("iptables-save: unexpected line", line)
    if not seen_any and text.strip():
        raise ParseError("iptables-save: no *table line", text.strip().splitlines()[0])
    return out


_OPT_PORT = re.compile(r"\b(udp|tcp) dpts?:(\d+)(?::(\d+))?")
_OPT_MULTI = re.compile(r"multiport dports ([\d,:]+)")


def parse_iptables_list(text: str, table: str = "filter") -> Ruleset:
    """Parse `iptables -vnxL` (sos's networking plugin keeps it), with jc's iptables parser.

    >>> t = parse_iptables_list(SAMPLE_LIST)
    >>> [(r.target, r.proto, r.dports, r.packets) for r in t.rules][:3]
    [('DROP', 'udp', ((67, 67),), 1), ('DROP', 'udp', ((53, 53),), 2), ('DROP', 'udp', ((4789, 4789),), 1)]
    """
    import jc

    if "Chain " not in text:
        raise ParseError("iptables -L: no `Chain` header", (text.strip().splitlines() or [""])[0])
    chains: Any = jc.parse("iptables", text, quiet=True)
    out = Ruleset()
    protos = {"6": "tcp", "17": "udp", "1": "icmp", "0": "", "all": ""}
    for ch in chains:
        name = str(ch.get("chain", ""))
        policy = ch.get("default_policy")
        out.policies[(table, name)] = str(policy) if policy else "-"
        if policy:
            out.hooks[(table, name)] = name.lower()
        for r in ch.get("rules", []):
            opts = str(r.get("options") or "")
            dports: tuple[tuple[int, int], ...] = ()
            m = _OPT_PORT.search(opts)
            mm = _OPT_MULTI.search(opts)
            if mm:
                dports = _ports(mm.group(1))
            elif m:
                dports = ((int(m.group(2)), int(m.group(3) or m.group(2))),)
            prot = str(r.get("prot") or "")
            conds = []
            src = str(r.get("source") or "0.0.0.0/0")
            if src not in _ANY:
                conds.append(f"-s {src}")
            if re.search(r"\bspts?:|state |ctstate |match-set|mark match|limit:", opts):
                conds.append(opts)
            line = " ".join(
                str(x)
                for x in (r.get("target"), prot, r.get("in"), src, r.get("destination"), opts)
                if x is not None
            )
            iface = str(r.get("in") or "")
            out.rules.append(
                FwRule(
                    table=table,
                    chain=name,
                    target=str(r.get("target") or ""),
                    proto=protos.get(prot, prot),
                    dports=dports,
                    conditions=tuple(conds),
                    in_iface="" if iface in ("*", "any") else iface,
                    line=line,
                    packets=int(r["pkts"]) if r.get("pkts") is not None else None,
                    bytes=int(r["bytes"]) if r.get("bytes") is not None else None,
                )
            )
    return out


# captured on the test machine: `iptables-save -c` in a namespace whose firewall drops DHCP/DNS/VXLAN/SSH
SAMPLE_SAVE = """\
# Generated by iptables-save v1.8.9 (nf_tables) on Sat Nov 21 05:35:40 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
[1:48] -A INPUT -p udp -m udp --dport 67 -j DROP
[2:96] -A INPUT -p udp -m udp --dport 53 -j DROP
[1:48] -A INPUT -p udp -m udp --dport 4789 -j DROP
[0:0] -A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
[0:0] -A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT
COMMIT
"""

SAMPLE_LIST = """\
Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination
       1       48 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:67
       2       96 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:53
       1       48 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:4789
       0        0 REJECT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 reject-with tcp-reset
"""
