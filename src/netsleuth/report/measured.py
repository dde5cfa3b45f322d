"""What a capture measured and what a trace saw, as rows the renderers lay out (text, Markdown,
HTML), worded in the report's language. Read from the report's `capture` and `trace` sections
(the `pcap.summary` and `trace.result` JSON), so a report read back from JSON renders the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from netsleuth.messages import ui, ui_or

Row = tuple[str, str]


def _n(x: Any) -> str:
    return f"{int(x):,}"


def _count(lang: str, key: str, n: Any) -> str:
    """A count and its noun, each count choosing its own plural form ("1 query", "2 servers").

    >>> _count("en", "cap_n_queries", 1), _count("en", "cap_n_servers", 1234), _count("zh", "cap_n_servers", 1)
    ('1 query', '1,234 servers', '1 个服务器')
    """
    return ui(lang, key, n=int(n))


def capture_rows(c: dict[str, Any], lang: str) -> list[Row]:
    """(label, value) rows of a capture summary; an empty capture says so and nothing else."""
    rows: list[Row] = [(ui(lang, "cap_file"), str(c.get("file", "")))]
    if c.get("interface"):
        rows.append((ui(lang, "cap_interface"), str(c["interface"])))
    packets = int(c.get("packets", 0))
    rows.append((ui(lang, "cap_packets"), _n(packets)))
    if not packets:
        rows.append((ui(lang, "cap_result"), ui(lang, "cap_empty")))
        return rows
    start = c.get("start")
    when = (
        datetime.fromtimestamp(float(start), UTC).isoformat(timespec="seconds") if start is not None else "?"
    )
    rows.append(
        (
            ui(lang, "cap_duration"),
            ui(lang, "cap_duration_v", s=f"{float(c.get('duration_s', 0)):.3f}", start=when),
        )
    )
    tcp = c.get("tcp") or {}
    data = int(tcp.get("data_segments", 0))
    retrans = _n(tcp.get("retransmissions", 0))
    if data:
        share = f"{int(tcp.get('retransmissions', 0)) / data:.2%}"
        retrans = ui(lang, "cap_retrans_v", n=retrans, share=share)
    rows += [
        (ui(lang, "cap_flows"), _n(tcp.get("flows", 0))),
        (ui(lang, "cap_data_segments"), _n(data)),
        (ui(lang, "cap_retrans"), retrans),
        (ui(lang, "cap_resets"), _n(tcp.get("resets", 0))),
        (ui(lang, "cap_zero_windows"), _n(tcp.get("zero_windows", 0))),
        (ui(lang, "cap_oversize"), _frames(c.get("oversize_frames") or [], lang)),
        (ui(lang, "cap_trailer"), _frames(c.get("trailer_frames") or [], lang)),
    ]
    none = ui(lang, "cap_none")
    dhcp = c.get("dhcp") or {}
    disc, ans = int(dhcp.get("discovers", 0)), int(dhcp.get("answered", 0))
    dhcp_v = ui(lang, "cap_dhcp_v", n=_n(disc), ok=_n(ans), no=_n(disc - ans))
    servers = (c.get("dns") or {}).get("servers") or []
    q = sum(int(s.get("queries", 0)) for s in servers)
    u = sum(int(s.get("unanswered", 0)) for s in servers)
    dns_v = ui(
        lang,
        "cap_dns_v",
        queries=_count(lang, "cap_n_queries", q),
        servers=_count(lang, "cap_n_servers", len(servers)),
        ok=_n(q - u),
        no=_n(u),
    )
    arp = c.get("arp") or {}
    targets, answered = int(arp.get("targets", 0)), int(arp.get("answered", 0))
    dups = len(arp.get("duplicates") or [])
    arp_v = ui(
        lang,
        "cap_arp_v",
        requests=_count(lang, "cap_n_requests", arp.get("requests", 0)),
        targets=_count(lang, "cap_n_addresses", targets),
        ok=_n(answered),
        no=_n(targets - answered),
        dup=_count(lang, "cap_n_addresses", dups),
    )
    rows += [
        (ui(lang, "cap_dhcp"), dhcp_v if disc else none),
        (ui(lang, "cap_dns"), dns_v if q else none),
        (ui(lang, "cap_arp"), arp_v if targets or dups else none),
    ]
    tags = (c.get("vlan") or {}).get("tags_seen") or []
    if tags:
        rows.append((ui(lang, "cap_vlan"), ", ".join(str(t) for t in tags)))
    frag = c.get("icmp_frag_needed") or []
    if frag:
        rows.append(
            (
                ui(lang, "cap_frag"),
                "; ".join(f"{f['from']} -> {f['to']}: MTU {f['mtu']} (x{f['count']})" for f in frag),
            )
        )
    return rows


def _frames(frames: list[dict[str, Any]], lang: str) -> str:
    if not frames:
        return "0"
    total = sum(int(f.get("count", 0)) for f in frames)
    largest = max(int(f.get("len", 0)) for f in frames)
    return ui(lang, "cap_frames_v", n=_n(total), largest=_n(largest))


def top_flows(c: dict[str, Any], lang: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the flows with the most retransmissions."""
    head = [
        ui(lang, "cap_flow"),
        ui(lang, "cap_retrans"),
        ui(lang, "cap_resets"),
        ui(lang, "cap_zero_windows"),
    ]
    flows = (c.get("tcp") or {}).get("top_flows") or []
    return head, [
        [str(f["flow"]), _n(f["retransmissions"]), _n(f["resets"]), _n(f["zero_windows"])] for f in flows
    ]


def _sighting(s: dict[str, Any], lang: str) -> str:
    out = ui(lang, "tr_seen") if s.get("seen") else ui(lang, "tr_not_seen")
    if s.get("vlan"):
        out += " · vlan " + ".".join(str(t) for t in s["vlan"])
    o = s.get("outer")
    if o:
        out += f" · {str(o.get('kind', '')).upper()} VNI {o.get('vni')} UDP {o.get('port')} {o.get('src')} > {o.get('dst')}"
    return out


def role(name: str, lang: str) -> str:
    """A trace point's role in the report's language (the role itself when it has no wording).

    >>> role("ovs-port", "zh"), role("sender", "en"), role("new-kind", "zh")
    ('OVS 端口', 'sender', 'new-kind')
    """
    return ui_or(lang, "tr_role_" + name.replace("-", "_"), name)


def trace_rows(t: dict[str, Any], lang: str) -> tuple[list[str], list[list[str]]]:
    """Header and one row per point, in path order: role, request, reply, the next hops'
    resolution (ARP / NDP) seen there, and why a point could not capture."""
    head = [ui(lang, k) for k in ("tr_point", "tr_role", "tr_request", "tr_reply", "tr_neighbours")]
    rows = []
    for p in t.get("points") or []:
        label = f"{p['netns']}:{p['iface']}" if p.get("netns") else str(p.get("iface", ""))
        neigh = [
            f"{n['target']}: {_sighting(n['request'], lang)} / {_sighting(n['reply'], lang)}"
            for n in p.get("neighbours") or []
        ]
        req = _sighting(p["request"], lang) + (f" ({p['error']})" if p.get("error") else "")
        rows.append(
            [label, role(str(p.get("role", "")), lang), req, _sighting(p["reply"], lang), "\n".join(neigh)]
        )
    return head, rows


def trace_loss(t: dict[str, Any], lang: str) -> str:
    """Where it goes missing, in one line ("" when it made the round trip)."""
    loss = t.get("loss")
    if not loss:
        return ui(lang, "tr_no_loss")
    what = ui(lang, f"tr_what_{loss['what']}", target=loss.get("target", ""))
    after, before = loss.get("after") or "", loss.get("before") or ""
    where = f"{after} -> {before}" if after and before else before or ui(lang, "tr_beyond", point=after)
    return ui(lang, "tr_loss", what=what, direction=ui(lang, f"tr_{loss['direction']}"), where=where)
