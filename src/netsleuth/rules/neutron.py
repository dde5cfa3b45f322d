"""Neutron (seeds 000, 002): the L3 agent or the DHCP agent is down, so every public IP behind
the router is unreachable and no instance gets an address; and floating IPs left pointing at the
fixed IP of an instance that no longer exists, because the database was left inconsistent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netsleuth.facts.host import ContainerList, HostInfo, Processes
from netsleuth.facts.neutron import FloatingIpRows, NeutronAgents, NeutronNamespaces
from netsleuth.messages import Msg
from netsleuth.parsers.neutron import PlatformRows
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, Skip, rule
from netsleuth.rules.where import agent_container, agent_enable, agent_restart

SHOWN = 5  # namespaces named in a finding


def _running(procs: Processes, needle: str) -> bool:
    return any(p.program not in ("grep", "rg", "pgrep") for p in procs.matching(needle))


@rule(
    "neutron.agent_down",
    needs=(),
    optional=(NeutronAgents, NeutronNamespaces, Processes, HostInfo, ContainerList),
    seed="000",
    severity=Severity.CRITICAL,
    scope="host",
)
def agent_down(
    agents: NeutronAgents | None,
    nss: NeutronNamespaces | None,
    procs: Processes | None,
    host: HostInfo | None,
    containers: ContainerList | None,
) -> Iterator[Finding]:
    """A Neutron L3/DHCP/OVS/metadata agent is not alive, or its process is gone while its namespaces remain."""
    cut = procs is not None and not procs.complete
    if cut:
        procs = None  # a process list cut short cannot say that an agent is not running
    if agents is None and (nss is None or procs is None):
        raise Skip(Msg("needs_agent_list_cut" if cut else "needs_agent_list"))
    reported: set[str] = set()
    ctrs = containers.items if containers is not None else []  # kolla, TripleO: where the agents run
    if agents is not None:
        for a in agents.agents:
            if a.alive or not a.admin_up:  # an agent disabled on purpose is not an outage
                continue
            reported.add(a.process)
            # this host's containers say how the agent runs only when the agent is on this host
            here = host is not None and host.is_named(a.host)
            ctr = agent_container(a.process, ctrs) if here else None
            yield Finding(
                Severity.CRITICAL,
                subject=f"{a.agent_type} on {a.host}",
                params={
                    "agent": a.agent_type,
                    "who": Msg("who_on", {"agent": a.agent_type, "host": a.host}),
                    "process": a.process,
                    "agent_host": a.host,
                    "how": Msg("how_agents"),
                    "namespaces": "",
                    "ns_count": 0,
                },
                seen=[Seen(agents.source, a.line)],
                now=[
                    *([] if here else [f"ssh {a.host}"]),
                    *agent_restart(a.process, ctr),
                    f"openstack network agent show {a.id}",
                ],
                persist=[agent_enable(a.process, ctr)],
            )
    if nss is None or procs is None:
        return
    for agent in ("neutron-l3-agent", "neutron-dhcp-agent"):
        owned = nss.owned_by(agent)
        if not owned or agent in reported:
            continue
        if not _running(procs, agent):
            shown: Msg | str = ", ".join(owned[:SHOWN])
            if len(owned) > SHOWN:
                shown = Msg("ns_more", {"shown": shown, "more": len(owned) - SHOWN})
            yield Finding(
                Severity.CRITICAL,
                subject=agent,
                params={
                    "agent": agent,
                    "who": agent,
                    "process": agent,
                    "agent_host": Msg("this_host"),
                    "how": Msg("how_namespaces"),
                    "namespaces": shown,
                    "ns_count": len(owned),
                },
                seen=[
                    Seen(nss.source, "\n".join(nss.lines[n] for n in owned[:SHOWN])),
                    Seen("ps", f"no process running {agent} among {len(procs.items)} processes"),
                ],
                now=agent_restart(agent, agent_container(agent, ctrs)),
                persist=[agent_enable(agent, agent_container(agent, ctrs))],
            )
            continue
        if agent != "neutron-dhcp-agent":
            continue
        dnsmasq = [p for p in procs.named("dnsmasq")]
        dhcp = agent_container(agent, ctrs)
        restart = agent_restart(agent, dhcp)[-1]
        for ns in owned:
            net_id = ns[len("qdhcp-") :]
            if any(net_id in p.command for p in dnsmasq):
                continue
            yield Finding(
                Severity.CRITICAL,
                subject=ns,
                params={
                    "agent": Msg("agent_dnsmasq"),
                    "who": ns,
                    "process": "dnsmasq",
                    "agent_host": Msg("this_host"),
                    "how": Msg("how_dnsmasq"),
                    "namespaces": ns,
                    "ns_count": 1,
                },
                seen=[
                    Seen(nss.source, nss.lines[ns]),
                    Seen(
                        "ps", f"no dnsmasq with {net_id} in its command line ({len(dnsmasq)} dnsmasq running)"
                    ),
                ],
                now=[
                    f"ip netns exec {ns} ip addr",
                    "grep -i error /var/log/neutron/dhcp-agent.log | tail",
                    Cmd(f"openstack network show {net_id}", Msg("c_then_restart", {"restart": restart})),
                ],
                persist=[agent_enable(agent, dhcp)],
            )


def _deleted(row: dict[str, Any] | None) -> bool:
    if row is None:
        return True
    flag = str(row.get("deleted") or "0")
    return flag not in ("0", "", "False", "false") or str(row.get("vm_state") or "") == "deleted"


def _nova_orphans(rows: PlatformRows) -> Iterator[tuple[dict[str, Any], Msg, str]]:
    """(floating row, why, fixed_ip_id) for nova-network floating IPs whose instance is gone."""
    if not rows.floating_ips:
        return
    if not rows.fixed_ips and not rows.instances:
        raise Skip(Msg("fips_without_fixed"))
    fixed = {str(r.get("id")): r for r in rows.fixed_ips}
    insts = {str(r.get("uuid")): r for r in rows.instances}
    for fip in rows.floating_ips:
        fid = fip.get("fixed_ip_id")
        if fid is None or _deleted_flag(fip):
            continue
        fx = fixed.get(str(fid))
        if rows.fixed_ips and fx is None:
            yield fip, Msg("fixed_row_missing", {"id": fid}), str(fid)
            continue
        if fx is not None and _deleted_flag(fx):
            yield fip, Msg("fixed_row_deleted", {"id": fid}), str(fid)
            continue
        uuid = str(fx.get("instance_uuid")) if fx is not None else ""
        if fx is not None and fx.get("instance_uuid") is None:
            yield fip, Msg("fixed_unallocated", {"address": fx.get("address")}), str(fid)
            continue
        if rows.instances and uuid:
            inst = insts.get(uuid)
            if inst is None:
                yield fip, Msg("instance_missing", {"uuid": uuid}), str(fid)
            elif _deleted(inst):
                yield (
                    fip,
                    Msg("instance_deleted_named", {"uuid": uuid, "hostname": inst.get("hostname", "?")}),
                    str(fid),
                )


def _deleted_flag(row: dict[str, Any]) -> bool:
    return str(row.get("deleted") or "0") not in ("0", "", "False", "false")


def _neutron_orphans(rows: PlatformRows) -> Iterator[tuple[dict[str, Any], Msg, str]]:
    if not rows.neutron_fips:
        return
    servers = {str(s.get("id") or s.get("ID")): s for s in rows.servers}
    servers |= {str(r.get("uuid")): r for r in rows.instances}
    ports = {str(p.get("id") or p.get("ID")): p for p in rows.ports}
    if not servers:
        raise Skip(Msg("fips_without_servers"))
    for fip in rows.neutron_fips:
        port_id = fip.get("port_id") or fip.get("fixed_port_id") or fip.get("Port")
        if not port_id or str(port_id) == "None":
            continue
        details = fip.get("port_details") if isinstance(fip.get("port_details"), dict) else {}
        device = (details or {}).get("device_id") or (ports.get(str(port_id)) or {}).get("device_id")
        if not device:
            if rows.ports and str(port_id) not in ports:
                yield fip, Msg("port_missing", {"id": port_id}), str(port_id)
            continue
        srv = servers.get(str(device))
        if srv is None:
            yield fip, Msg("instance_missing", {"uuid": device}), str(port_id)
        elif _deleted(srv) or str(srv.get("status") or srv.get("Status") or "").upper() in (
            "DELETED",
            "SOFT_DELETED",
        ):
            yield fip, Msg("instance_deleted", {"uuid": device}), str(port_id)


@rule(
    "neutron.floating_ip_orphan", needs=(FloatingIpRows,), seed="002", severity=Severity.WARNING, scope="host"
)
def floating_ip_orphan(fips: FloatingIpRows) -> Iterator[Finding]:
    """A floating IP still points at the fixed IP of an instance that no longer exists."""
    rows = fips.rows
    for fip, why, fixed_id in _nova_orphans(rows):
        addr = str(fip.get("address"))
        yield Finding(
            Severity.WARNING,
            subject=addr,
            params={"address": addr, "reason": why, "fixed_ip_id": fixed_id},
            seen=[Seen(rows.sources.get("floating_ips", "SQL dump"), _row_line("floating_ips", fip))],
            now=[
                f"mysql nova -e \"select * from floating_ips where fixed_ip_id = '{fixed_id}';\"",
                f"mysql nova -e \"update floating_ips set fixed_ip_id = NULL, host = NULL where fixed_ip_id = '{fixed_id}';\"",
            ],
            persist=[Msg("do_out_of_pool", {"fixed_id": fixed_id})],
        )
    for fip, why, port_id in _neutron_orphans(rows):
        addr = str(fip.get("floating_ip_address") or fip.get("Floating IP Address"))
        fid = str(fip.get("id") or fip.get("ID"))
        yield Finding(
            Severity.WARNING,
            subject=addr,
            params={"address": addr, "reason": why, "fixed_ip_id": port_id},
            seen=[Seen(rows.sources.get("neutron_fips", "floating IP list"), _row_line("floatingips", fip))],
            now=[f"openstack floating ip show {fid}", f"openstack floating ip unset --port {fid}"],
            persist=[],
        )


def _row_line(table: str, row: dict[str, Any]) -> str:
    return f"{table}: " + ", ".join(f"{k}={v!r}" for k, v in row.items() if not isinstance(v, dict | list))
