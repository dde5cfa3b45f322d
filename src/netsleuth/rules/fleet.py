"""Faults only visible between hosts (seeds 000, 003, 004): VXLAN that works one way only because
one side has no tunnel back, or listens on another port (4789 vs Linux's 8472); one host's overlay
MTU different from its peers'; an address answered by two machines; clocks that make the hosts' logs
impossible to line up; the mesh probe's one-way UDP; and an agent the controller sees dead, matched
to the host where its process is gone. Each rule reads the fleet model: one summary per host."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

from netsleuth.facts.fleet import SHARED_MACS, FleetModel, HostSummary, MeshMatrix, Remote, Vtep
from netsleuth.facts.neutron import NeutronAgents
from netsleuth.messages import Msg
from netsleuth.parsers.docker import Container
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Seen, Severity, Skip, rule
from netsleuth.rules.where import agent_container, agent_restart, ovs_cmd

SHOWN = 6  # hosts named in a finding's text
CLOCK_SKEW_S = 30  # log lines further apart than this cannot be matched across hosts
CLOCK_SPREAD_S = 10  # hosts collected within this of each other were collected "at once"


def _names(hosts: Iterable[str]) -> str | Msg:
    shown = sorted(hosts)
    text = ", ".join(shown[:SHOWN])
    return Msg("more", {"shown": text, "more": len(shown) - SHOWN}) if len(shown) > SHOWN else text


def _need_two(model: FleetModel, what: str = "interfaces") -> list[HostSummary]:
    known = [h for h in model.hosts.values() if h.why_unknown(what) is None]
    if len(known) < 2:
        raise Skip(
            f"needs at least two analysed hosts with their {what} ({len(known)} of {len(model.hosts)})"
        )
    return known


def _tunnels(model: FleetModel) -> Iterator[tuple[HostSummary, Vtep, Remote]]:
    for name in sorted(model.hosts):
        h = model.hosts[name]
        for v in h.vteps:
            for r in v.remotes:
                yield h, v, r


def _own_addresses(h: HostSummary) -> set[str]:
    return {ip for ip, _ in h.addresses()} | {v.local for v in h.vteps if v.local}


def _reaches(b: HostSummary, a: HostSummary, mine: set[str]) -> bool | None:
    """Whether one of b's VTEPs sends to a, whose addresses are `mine` (None: cannot tell, b's peers
    are chosen per flow)."""
    unknown = False
    for v in b.vteps:
        if any(r.address in mine for r in v.remotes):
            return True
        if v.group and any(w.group == v.group for w in a.vteps):
            return True
        unknown = unknown or v.flow_remote
    return None if unknown else False


def _peers(model: FleetModel) -> dict[str, set[str]]:
    """Hosts joined by a tunnel either way (undirected)."""
    out: dict[str, set[str]] = {n: set() for n in model.hosts}
    for h, _v, r in _tunnels(model):
        b = model.owner(r.address)
        if b is not None and b != h.name:
            out[h.name].add(b)
            out[b].add(h.name)
    return out


def _overlays(model: FleetModel) -> list[list[str]]:
    """Groups of hosts joined by tunnels (connected components), each sorted; lone hosts left out."""
    peers = _peers(model)
    seen: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(peers):
        if start in seen or not peers[start]:
            continue
        stack, group = [start], set()
        while stack:
            n = stack.pop()
            if n in group:
                continue
            group.add(n)
            stack += peers[n] - group
        seen |= group
        groups.append(sorted(group))
    return groups


def _odd_ones(values: dict[str, int]) -> tuple[int | None, list[str]]:
    """The value most hosts share and the hosts that differ; with no majority, every host."""
    counts = Counter(values.values()).most_common()
    if len(counts) < 2:
        return (counts[0][0] if counts else None), []
    if counts[0][1] == counts[1][1]:
        return None, sorted(values)
    major = counts[0][0]
    return major, sorted(n for n, v in values.items() if v != major)


def _ssh(host: str, *cmds: RemedyLine) -> list[RemedyLine]:
    return [f"ssh {host}", *cmds]


def _agent_container(h: HostSummary, process: str) -> Container | None:
    """The container that runs a Neutron agent on that host (kolla, TripleO), from its own list."""
    return agent_container(process, h.containers)


# ---- tunnel mesh -------------------------------------------------------------------------------


@rule(
    "fleet.tunnel_mesh_incomplete", needs=(FleetModel,), seed="003", severity=Severity.CRITICAL, scope="fleet"
)
def tunnel_mesh_incomplete(model: FleetModel) -> Iterator[Finding]:
    """A host tunnels to a peer that has no tunnel back, or to an address no host of the fleet owns."""
    _need_two(model)
    addresses = {n: _own_addresses(h) for n, h in model.hosts.items()}
    done: set[tuple[str, str]] = set()
    for a, vtep, remote in _tunnels(model):
        owners = model.owners(remote.address)
        if not owners:
            yield from _nobody(model, a, vtep, remote)
            continue
        b = owners[0]
        if b == a.name or (a.name, b) in done:
            continue
        done.add((a.name, b))
        hb = model.hosts[b]
        if hb.why_unknown("interfaces") is not None or _reaches(hb, a, addresses[a.name]) is not False:
            continue
        back = [v.line for v in hb.vteps] or [f"{b} has no tunnel endpoint at all"]
        mine = sorted(addresses[a.name])
        yield Finding(
            Severity.CRITICAL,
            subject=f"{a.name}->{b}",
            params={
                "src": a.name,
                "dst": b,
                "remote": remote.address,
                "vtep": vtep.name,
                "type": vtep.type,
                "what": Msg("no_way_back", {"src": a.name, "dst": b}),
            },
            seen=[
                Seen(f"{a.name}: {remote.source}", remote.line),
                Seen(f"{b}: {hb.links_source or 'tunnel endpoints'}", "\n".join(back[:SHOWN])),
            ],
            now=_ssh(b, *_way_back(hb, vtep, a, mine)),
            seed="003",
            hosts=[a.name, b],
            links=[(a.name, b)],
        )


def _way_back(b: HostSummary, vtep: Vtep, a: HostSummary, a_addrs: list[str]) -> list[RemedyLine]:
    """The command that gives b the tunnel back to a, in the form a's end uses."""
    target = vtep.local or (a_addrs[0] if a_addrs else "<address of " + a.name + ">")
    same = [v for v in b.vteps if v.impl == vtep.impl and v.type == vtep.type]
    if vtep.impl == "ovs":
        agent = "neutron-openvswitch-agent"
        return [
            ovs_cmd(b.ovs_home, "ovs-vsctl show"),
            Cmd(agent_restart(agent, _agent_container(b, agent))[-1], Msg("c_agent_recreates")),
            Cmd(
                ovs_cmd(
                    b.ovs_home,
                    f"ovs-vsctl add-port br-tun {vtep.type}-back -- set interface "
                    f"{vtep.type}-back type={vtep.type} options:remote_ip={target} options:key=flow",
                ),
                Msg("c_by_hand"),
            ),
        ]
    dev = same[0].name if same else vtep.name
    return [f"bridge fdb show dev {dev}", f"bridge fdb append 00:00:00:00:00:00 dev {dev} dst {target}"]


def _nobody(model: FleetModel, a: HostSummary, vtep: Vtep, remote: Remote) -> Iterator[Finding]:
    """A tunnel to an address no analysed host has: a fault when the fleet is the whole inventory,
    worth knowing otherwise (the peer may just not have been given)."""
    if model.not_analysed(remote.address) is not None:
        return  # the host is listed with the reason it could not be analysed
    sev = Severity.CRITICAL if model.inventory else Severity.INFO
    what = Msg("nobody_there") if model.inventory else Msg("not_among", {"count": len(model.hosts)})
    yield Finding(
        sev,
        subject=f"{a.name}->{remote.address}",
        params={
            "src": a.name,
            "dst": remote.address,
            "remote": remote.address,
            "vtep": vtep.name,
            "type": vtep.type,
            "what": what,
        },
        seen=[Seen(f"{a.name}: {remote.source}", remote.line)],
        now=_ssh(a.name, f"ip route get {remote.address}", f"ping -c 3 {remote.address}"),
        seed="003",
        hosts=[a.name],
        links=[(a.name, remote.address)],
    )


# ---- ports and VNIs --------------------------------------------------------------------------------


@rule("fleet.vxlan_port_mismatch", needs=(FleetModel,), seed="003", severity=Severity.CRITICAL, scope="fleet")
def vxlan_port_mismatch(model: FleetModel) -> Iterator[Finding]:
    """The VTEPs of one overlay send to different UDP ports (4789 vs Linux's 8472) or VNIs."""
    _need_two(model)
    for field in ("port", "vni"):
        broken: list[tuple[HostSummary, Vtep, HostSummary]] = []
        for a, vtep, remote in _tunnels(model):
            b = model.owner(remote.address)
            if b is None or b == a.name:
                continue
            value = _sent(field, vtep, remote)
            theirs = {_heard(field, w) for w in model.hosts[b].vteps if w.type == vtep.type} - {None}
            if value is not None and theirs and value not in theirs:
                broken.append((a, vtep, model.hosts[b]))
        if broken:
            yield from _mismatch_findings(model, field, broken)


def _sent(field: str, v: Vtep, r: Remote) -> int | None:
    """The port or VNI a VTEP puts on packets for remote `r` (a Linux FDB entry may override them)."""
    if field == "port":
        return r.port or v.port
    return r.vni if r.vni is not None else v.vni


def _heard(field: str, v: Vtep) -> int | None:
    """The port a VTEP listens on, or the VNI it accepts (None: any, chosen per flow)."""
    return v.port if field == "port" else v.vni


def _mismatch_findings(
    model: FleetModel, field: str, broken: list[tuple[HostSummary, Vtep, HostSummary]]
) -> Iterator[Finding]:
    involved = {a.name for a, _, _ in broken} | {b.name for _, _, b in broken}
    for group in _overlays(model):
        if not involved & set(group):
            continue
        values: dict[str, int] = {}
        vteps: dict[str, Vtep] = {}
        for name in group:
            for v in model.hosts[name].vteps:
                val = _heard(field, v)
                if v.remotes and val is not None and name not in values:
                    values[name], vteps[name] = val, v
        major, odd = _odd_ones(values)
        for name in odd:
            if name not in involved:
                continue
            v = vteps[name]
            pairs = [(a.name, b.name) for a, _, b in broken if name in (a.name, b.name)]
            peers = sorted({x for p in pairs for x in p} - {name})
            cmd = (
                ovs_cmd(
                    model.hosts[name].ovs_home, f"ovs-vsctl set interface {v.name} options:dst_port={major}"
                )
                if v.impl == "ovs" and field == "port" and major is not None
                else f"ip -d link show {v.name}"
            )
            fix: list[RemedyLine] = []
            if v.impl == "linux" and major is not None:
                dev = f" dev {v.underlay}" if v.underlay else ""
                vni = major if field == "vni" else v.vni
                port = major if field == "port" else v.port
                fix = [
                    Cmd(
                        f"ip link del {v.name} && ip link add {v.name} type {v.type} id {vni} dstport {port}"
                        f"{' local ' + v.local if v.local else ''}{dev}",
                        Msg("c_readd"),
                    )
                ]
            yield Finding(
                Severity.CRITICAL,
                subject=name,
                params={
                    "host": name,
                    "vtep": v.name,
                    "field": Msg(f"field_{field}"),
                    "value": values[name],
                    "majority": major if major is not None else Msg("no_majority"),
                    "peers": _names(peers),
                },
                seen=[Seen(f"{n}: {vteps[n].source}", vteps[n].line) for n in [name, *peers] if n in vteps][
                    : SHOWN + 1
                ],
                now=_ssh(name, cmd, *fix),
                seed="003",
                hosts=[name],
                links=pairs,
            )


# ---- MTU -------------------------------------------------------------------------------------------


@rule("fleet.mtu_inconsistent", needs=(FleetModel,), seed="003", severity=Severity.WARNING, scope="fleet")
def mtu_inconsistent(model: FleetModel) -> Iterator[Finding]:
    """The same overlay or underlay has different MTUs on different hosts."""
    _need_two(model)
    peers = _peers(model)
    for group in _overlays(model):
        for layer in ("overlay", "underlay"):
            values: dict[str, int] = {}
            where: dict[str, Vtep] = {}
            for name in group:
                for v in model.hosts[name].vteps:
                    mtu = v.mtu if layer == "overlay" else v.underlay_mtu
                    if mtu and v.remotes and name not in values:
                        values[name], where[name] = mtu, v
            major, odd = _odd_ones(values)
            for name in odd:
                v = where[name]
                dev = v.name if layer == "overlay" else v.underlay
                others = sorted(n for n in values if values[n] != values[name])
                yield Finding(
                    Severity.WARNING,
                    subject=f"{name} {dev}",
                    params={
                        "host": name,
                        "dev": dev,
                        "mtu": values[name],
                        "layer": Msg(f"layer_{layer}"),
                        "majority": major if major is not None else Msg("no_majority"),
                        "others": _names(others),
                    },
                    seen=[
                        Seen(
                            f"{n}: {model.hosts[n].links_source or where[n].source}",
                            _mtu_line(model, n, where[n], layer),
                        )
                        for n in [name, *others[:SHOWN]]
                    ],
                    now=_ssh(name, f"ip link set dev {dev} mtu {major}")
                    if major
                    else _ssh(name, f"ip -d link show {dev}"),
                    seed="003",
                    hosts=[name],
                    links=[(name, o) for o in others if o in peers[name]],
                )


def _mtu_line(model: FleetModel, host: str, v: Vtep, layer: str) -> str:
    if layer == "overlay":
        return v.line
    iface = next((i for i in model.hosts[host].interfaces if i.name == v.underlay), None)
    return iface.line if iface is not None else f"{v.underlay}: mtu {v.underlay_mtu}"


# ---- addresses -------------------------------------------------------------------------------------


@rule("fleet.duplicate_ip", needs=(FleetModel,), seed="003", severity=Severity.CRITICAL, scope="fleet")
def duplicate_ip(model: FleetModel) -> Iterator[Finding]:
    """One address (or MAC address) is configured on two hosts of the fleet."""
    known = _need_two(model)
    by_ip: dict[str, dict[str, list[str]]] = {}
    by_mac: dict[str, dict[str, list[str]]] = {}
    for h in known:
        for ip, iface in h.addresses():
            by_ip.setdefault(ip, {}).setdefault(h.name, []).append(f"{iface.line}\n    inet {ip}")
        for iface in h.interfaces:
            if iface.faces_out and iface.kind != "bridge" and iface.mac and iface.mac not in SHARED_MACS:
                by_mac.setdefault(iface.mac, {}).setdefault(h.name, []).append(
                    iface.line + f"\n    link/ether {iface.mac}"
                )
    for kind, table in (("ip", by_ip), ("mac", by_mac)):
        for value in sorted(table):
            holders = table[value]
            if len(holders) < 2:
                continue
            hosts = sorted(holders)
            yield Finding(
                Severity.CRITICAL,
                subject=value,
                params={
                    "address": value,
                    "what": Msg(f"what_{kind}"),
                    "count": len(hosts),
                    "hosts": _names(hosts),
                },
                seen=[
                    Seen(f"{n}: {model.hosts[n].links_source}", "\n".join(holders[n][:3]))
                    for n in hosts[: SHOWN + 1]
                ],
                now=[
                    Cmd(f"arping -D -c 3 -I <interface> {value}", Msg("c_third_host"))
                    if kind == "ip"
                    else Cmd(f"bridge fdb show | grep -i {value}", Msg("c_between")),
                    *(f"ssh {n} ip -br address show" for n in hosts[:SHOWN]),
                ],
                seed="003",
                hosts=hosts,
            )


# ---- clocks ----------------------------------------------------------------------------------------


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


@rule("fleet.clock_skew", needs=(FleetModel,), seed="000", severity=Severity.WARNING, scope="fleet")
def clock_skew(model: FleetModel) -> Iterator[Finding]:
    """Host clocks differ enough that their log timelines cannot be correlated."""
    taken = {n: t for n, h in model.hosts.items() if (t := _when(h.collected_at)) is not None}
    if len(taken) < 2:
        raise Skip(Msg("needs_two_times", {"n": len(taken), "of": len(model.hosts)}))
    offsets: dict[str, float] = {}
    asked = {n: _when(s.requested_at) for n, s in model.statuses.items() if n in taken}
    if asked and all(asked.values()):  # the controller's clock when each collection began
        for n, t in taken.items():
            start = asked[n]
            assert start is not None
            late = (t - start).total_seconds()
            span = model.statuses[n].duration_s or 0.0
            offsets[n] = late if late < 0 else max(0.0, late - span)
        basis = Msg("basis_controller")
    else:
        stamps = {n: t.timestamp() for n, t in taken.items()}
        import statistics  # here: it imports decimal and fractions, a cost at every start-up

        mid = statistics.median(stamps.values())
        close = [n for n, s in stamps.items() if abs(s - mid) <= CLOCK_SPREAD_S]
        if len(close) * 2 <= len(stamps):
            raise Skip(Msg("no_collection_start"))
        offsets = {n: s - mid for n, s in stamps.items()}
        basis = Msg("basis_peers", {"count": len(close)})
    for n in sorted(offsets):
        off = offsets[n]
        if abs(off) <= CLOCK_SKEW_S or _timezone_only(model.hosts[n], off):
            continue
        yield Finding(
            Severity.WARNING,
            subject=n,
            params={
                "host": n,
                "offset_s": round(abs(off)),
                "direction": Msg("ahead" if off > 0 else "behind"),
                "basis": basis,
            },
            seen=[
                Seen(
                    f"{n}: {model.hosts[n].source}",
                    f"evidence taken at {model.hosts[n].collected_at} (host clock)",
                )
            ],
            now=_ssh(
                n,
                "timedatectl",
                "chronyc tracking || ntpq -p",
                Cmd("chronyc makestep", Msg("c_step_clock")),
            ),
            seed="000",
            hosts=[n],
        )


def _timezone_only(h: HostSummary, offset: float) -> bool:
    """sosreports record their start time in the host's local time, without a zone: a difference of
    whole half-hours there is a time zone, not a clock."""
    return h.source.startswith("sosreport:") and abs(offset) >= 1800 and abs(offset) % 1800 <= CLOCK_SKEW_S


# ---- the mesh probe --------------------------------------------------------------------------------


@rule("fleet.udp_one_way", needs=(MeshMatrix,), seed="003", severity=Severity.CRITICAL, scope="fleet")
def udp_one_way(matrix: MeshMatrix) -> Iterator[Finding]:
    """The mesh probe passes one way and not the other, or ICMP passes while UDP to the tunnel port does not."""
    mesh = matrix.mesh
    blamed: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for r in mesh.results:
        if r.udp != "lost":
            continue
        back = mesh.result(r.dst, r.src)
        if r.icmp != "ok" and not (back is not None and back.udp == "ok"):
            continue  # nothing passes either way: the host is unreachable, not a one-way fault
        if r.seen.left_src is False:
            key = (r.src, "send")
        elif r.seen.left_src and r.seen.reached_dst_nic is False:
            key = (r.dst, "between")
        else:
            key = (r.dst, "receive")
        blamed.setdefault(key, []).append((r.src, r.dst))
    for (host, where), pairs in sorted(blamed.items()):
        peers = sorted({s if where != "send" else d for s, d in pairs})
        shown = [mesh.result(s, d) for s, d in pairs] + [mesh.result(d, s) for s, d in pairs]
        lines = [r.line(mesh.port) for r in shown if r is not None]
        yield Finding(
            Severity.CRITICAL,
            subject=host,
            params={
                "host": host,
                "port": mesh.port,
                "peers": _names(peers),
                "headline": Msg(f"where_{where}", {"host": host, "port": mesh.port, "peers": _names(peers)}),
            },
            seen=[Seen(matrix.source, "\n".join(lines[: 2 * SHOWN]))],
            now=_ssh(
                host,
                f"iptables-save -c | grep -w {mesh.port}",
                f"nft list ruleset | grep -w {mesh.port}",
                f"tcpdump -ni any udp port {mesh.port} -c 20",
            ),
            seed="003",
            hosts=[host],
            links=pairs,
        )


# ---- Neutron agents --------------------------------------------------------------------------------


@rule(
    "fleet.agent_down",
    needs=(FleetModel, NeutronAgents),
    seed="000",
    severity=Severity.CRITICAL,
    scope="fleet",
)
def agent_down(model: FleetModel, agents: NeutronAgents) -> Iterator[Finding]:
    """An agent the controller's agent list reports down, matched to the host where its process is gone."""
    by_name = {n: h for h in model.hosts.values() for n in h.names() if n}
    for a in agents.agents:
        if a.alive or not a.admin_up:
            continue
        h = by_name.get(a.host) or by_name.get(a.host.split(".")[0])
        seen = [Seen(agents.source, a.line)]
        if h is None:
            state, name = Msg("host_not_in_fleet", {"count": len(model.hosts)}), a.host
        elif h.process_count is None:
            state, name = Msg("process_unknown"), h.name
        elif a.process in h.agents:
            state, name = Msg("process_runs", {"process": a.process}), h.name
            seen.append(Seen(f"{h.name}: ps", f"{a.process} is running"))
        else:
            state, name = Msg("process_gone", {"process": a.process}), h.name
            seen.append(
                Seen(f"{h.name}: ps", f"no process running {a.process} among {h.process_count} processes")
            )
        yield Finding(
            Severity.CRITICAL,
            subject=f"{a.agent_type} on {name}",
            params={"agent": a.agent_type, "agent_host": name, "process": a.process, "state": state},
            seen=seen,
            now=[
                *_ssh(name, *agent_restart(a.process, _agent_container(h, a.process) if h else None)),
                f"openstack network agent show {a.id}",
            ],
            seed="000",
            hosts=[name] if h is not None else [],
        )
