"""Links without carrier (seeds 002/003): the bank's containers were cut off after a move to a new
room; OVS and the VLAN plugin looked fine — the host NIC behind the bridge had no cable. An
interface that is up but has no carrier forwards nothing, and OVS does not send to it."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.evidence.model import HOST
from netsleuth.facts.network import Links, link_line
from netsleuth.facts.ovs import OvsState
from netsleuth.parsers.iproute import Link
from netsleuth.rules.base import Finding, Seen, Severity, rule

IGNORED_KINDS = {"bridge", "openvswitch", "tun", "dummy", "ifb", "nlmon"}  # no carrier is normal for these


def carries_traffic(link: Link) -> bool:
    """An uplink, a bond member, a bridge/OVS port, or an addressed interface."""
    return (
        link.is_physical
        or bool(link.master)
        or bool(link.addresses)
        or link.kind in ("vlan", "macvlan", "bond", "vxlan")
    )


def _why(link: Link) -> str:
    if link.is_bond_member:
        return f"member of bond {link.master}"
    if link.master:
        return f"port of {link.master}"
    if link.addresses:
        return "holds " + ", ".join(link.addresses[:3])
    return "physical NIC" if link.is_physical else f"{link.kind or 'device'}"


@rule("nic.no_carrier", needs=(Links,), optional=(OvsState,), seed="003", severity=Severity.CRITICAL)
def no_carrier(links: Links, ovs: OvsState | None) -> Iterator[Finding]:
    """An interface that carries traffic is up but has no carrier (cable out, peer down)."""
    for link in links.links:
        if not link.admin_up or link.carrier or link.is_loopback or link.kind in IGNORED_KINDS:
            continue
        used = carries_traffic(link)
        if not used and not link.is_physical:
            continue
        severity = Severity.CRITICAL if used else Severity.INFO
        if link.is_bond_member:
            healthy = [m for m in links.members(link.master) if m.name != link.name and m.carrier]
            if healthy:
                severity = Severity.WARNING  # the bond still has a working member
        peer = (
            f"veth peer {link.peer or ('if' + str(link.peer_ifindex))}"
            if link.kind == "veth"
            else "the cable / switch port"
        )
        fix = [f"ethtool {link.name}   # Link detected?", f"ip -d link show {link.name}"]
        if link.kind == "veth":
            fix = [
                f"ip link set {link.peer} up"
                if link.peer
                else f"bring up the other end of {link.name} ({peer})"
            ]
        yield Finding(
            "nic.no_carrier",
            severity,
            subject=link.name,
            params={"iface": link.name, "role": _why(link), "peer": peer, "operstate": link.operstate},
            seen=[Seen(links.source(), link_line(link))],
            now=fix,
            persist=[],
            seed="003",
        )
    if ovs is None or links.netns != HOST:
        return
    for row in ovs.interfaces:
        name = str(row.get("name", ""))
        if not name or links.get(name) is not None or row.get("type") not in ("", "system", "dpdk"):
            continue
        if row.get("admin_state") == "up" and row.get("link_state") == "down":
            yield Finding(
                "nic.no_carrier",
                Severity.CRITICAL,
                subject=name,
                params={
                    "iface": name,
                    "role": "Open vSwitch port",
                    "peer": "the cable / switch port",
                    "operstate": "down",
                },
                seen=[Seen("ovs-vsctl list Interface", f"name={name} admin_state=up link_state=down")],
                now=[f"ovs-appctl dpctl/show | grep {name}", f"ovs-vsctl list Interface {name}"],
                seed="003",
            )
