"""Links without carrier (seeds 002/003): the bank's containers were cut off after a move to a new
room; OVS and the VLAN plugin looked fine — the host NIC behind the bridge had no cable. An
interface that is up but has no carrier forwards nothing, and OVS does not send to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from netsleuth.evidence.model import HOST
from netsleuth.facts.conntrack import Sysctl
from netsleuth.facts.host import HostInfo
from netsleuth.facts.logs import LogEvent, LogEvents, age_words
from netsleuth.facts.network import AllLinks, Links, Rate, link_line
from netsleuth.facts.nic import (
    CSUM_STATS,
    ETHTOOL_RING_STATS,
    RING_KEYS,
    ChecksumErrors,
    Drivers,
    KernelBonds,
    NicStats,
    Offloads,
    OvsBonds,
    Rings,
    RxCounters,
    Softnet,
)
from netsleuth.facts.ovs import OvsHome, OvsState
from netsleuth.messages import Msg
from netsleuth.parsers.iproute import Link
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Seen, Severity, Skip, rule
from netsleuth.rules.persist import ethtool_persist, sysctl_persist
from netsleuth.rules.where import ovs_cmd

IGNORED_KINDS = {"bridge", "openvswitch", "tun", "dummy", "ifb", "nlmon"}  # no carrier is normal for these


def carries_traffic(link: Link) -> bool:
    """An uplink, a bond member, a bridge/OVS port, or an addressed interface."""
    return (
        link.is_physical
        or bool(link.master)
        or bool(link.addresses)
        or link.kind in ("vlan", "macvlan", "bond", "vxlan")
    )


def _why(link: Link) -> Msg | str:
    if link.is_bond_member:
        return Msg("role_bond_member", {"bond": link.master})
    if link.master:
        return Msg("role_port", {"master": link.master})
    if link.addresses:
        return Msg("role_holds", {"addresses": ", ".join(link.addresses[:3])})
    if link.is_physical:
        return Msg("role_physical")
    return link.kind or Msg("role_device")


def _peer_and_fix(link: Link, links: Links, every: AllLinks | None) -> tuple[Msg, list[RemedyLine]]:
    """What to look at, and the command: for a veth, its other end by name (in its namespace)."""
    if link.kind != "veth":
        return Msg("peer_cable"), [
            Cmd(f"ethtool {link.name}", Msg("c_link_detected")),
            f"ip -d link show {link.name}",
        ]
    found = every.peer(links.netns, link) if every is not None else None
    if found is None:
        name = link.peer or f"if{link.peer_ifindex}"
        return Msg("peer_veth", {"peer": name}), [Msg("do_bring_up_peer", {"link": link.name, "peer": name})]
    ns, other = found
    peer = (
        Msg("peer_veth_netns", {"peer": other.name, "ns": ns})
        if ns
        else Msg("peer_veth", {"peer": other.name})
    )
    return peer, [f"ip {'-n ' + ns + ' ' if ns else ''}link set {other.name} up"]


@rule(
    "nic.no_carrier",
    needs=(Links,),
    optional=(OvsState, AllLinks, OvsHome),
    seed="003",
    severity=Severity.CRITICAL,
)
def no_carrier(
    links: Links, ovs: OvsState | None, every: AllLinks | None, home: OvsHome | None
) -> Iterator[Finding]:
    """An interface that carries traffic is up but has no carrier (cable out, peer down)."""
    for link in links.links:
        if not link.admin_up or link.carrier or link.is_loopback or link.kind in IGNORED_KINDS:
            continue
        later = links.later.get(link.name)
        if later is not None and later.carrier:
            continue  # came up between the two samples: a link settling, not a cable out
        used = carries_traffic(link)
        if not used and not link.is_physical:
            continue
        severity = Severity.CRITICAL if used else Severity.INFO
        if link.is_bond_member:
            healthy = [m for m in links.members(link.master) if m.name != link.name and m.carrier]
            if healthy:
                severity = Severity.WARNING  # the bond still has a working member
        peer, fix = _peer_and_fix(link, links, every)
        found = every.peer(links.netns, link) if every is not None and link.kind == "veth" else None
        peer_src = f"{links.source()} (netns {found[0]})" if found and found[0] else links.source()
        peer_line = link_line(found[1]) if found else ""
        yield Finding(
            severity,
            subject=link.name,
            params={"iface": link.name, "role": _why(link), "peer": peer, "operstate": link.operstate},
            seen=[Seen(links.source(), link_line(link))] + ([Seen(peer_src, peer_line)] if peer_line else []),
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
                Severity.CRITICAL,
                subject=name,
                params={
                    "iface": name,
                    "role": Msg("role_ovs_port"),
                    "peer": Msg("peer_cable"),
                    "operstate": "down",
                },
                seen=[Seen("ovs-vsctl list Interface", f"name={name} admin_state=up link_state=down")],
                now=[
                    ovs_cmd(home, f"ovs-appctl dpctl/show | grep {name}"),
                    ovs_cmd(home, f"ovs-vsctl list Interface {name}"),
                ],
                seed="003",
            )


# --- RX loss, rings, softnet, offloads, TX timeouts, bonds (seeds 000 and 003) -------------------

# drops are "rising" when, between two samples, a ring/FIFO counter moved at all or all drops
# together reach 1/s; with one sample (sosreport), when the lifetime average since boot reaches
# these (the finding then says it is an average)
MEASURED_DROPS_PER_S = 1.0
AVERAGE_DROPS_PER_S = 0.1
AVERAGE_RING_PER_DAY = 100.0
RECENT_CRITICAL_S = 3600.0  # a TX timeout this recent is an outage now
RECENT_WARNING_S = 86400.0
NOISE = re.compile(r"^(lo|virbr\d+(-nic)?|docker\d+|veth.*|tap.*|qvo.*|qvb.*|qbr.*|vnet\d+|ovs-system)$")


def _rising(ring: Rate | None, total: Rate | None) -> bool:
    if ring is not None and ring.measured and ring.delta > 0:
        return True
    if total is not None and total.measured:
        return total.per_second >= MEASURED_DROPS_PER_S
    if ring is not None and not ring.measured and ring.per_second * 86400 >= AVERAGE_RING_PER_DAY:
        return True
    return total is not None and not total.measured and total.per_second >= AVERAGE_DROPS_PER_S


def _how(rate: Rate) -> Msg:
    if rate.measured:
        return Msg(
            "rate_measured",
            {"delta": rate.delta, "seconds": f"{rate.seconds:.1f}", "per_s": f"{rate.per_second:.1f}"},
        )
    return Msg(
        "rate_average",
        {"delta": rate.delta, "days": f"{rate.seconds / 86400:.1f}", "per_s": f"{rate.per_second:.2f}"},
    )


@dataclass
class _Loss:
    iface: str  # where the counters were read (a bond, or the NIC itself)
    total: Rate
    seen: list[Seen]


def _members(iface: str, links: Links | None, bonds: KernelBonds | None) -> list[str]:
    found: list[str] = []
    if bonds is not None and iface in bonds.bonds:
        found = [m.name for m in bonds.bonds[iface].members]
    if not found and links is not None:
        found = [m.name for m in links.members(iface) if m.is_bond_member]
    return found


def _losses(
    counters: RxCounters,
    stats: NicStats | None,
    links: Links | None,
    bonds: KernelBonds | None,
    uptime_s: float | None,
) -> dict[str, list[_Loss]]:
    """NIC -> the rising RX losses that concern it (its own counters, its bond's, `ethtool -S`)."""
    out: dict[str, list[_Loss]] = {}
    for name, c in counters.ifaces.items():
        if NOISE.match(name) or not c.admin_up:
            continue
        members = _members(name, links, bonds)
        if c.kind and c.kind != "bond" and not c.is_nic:
            continue  # software devices (veth, tap, bridge, vxlan) have no ring
        total, ring = counters.rate(name), counters.rate(name, RING_KEYS)
        if total is None or not _rising(ring, total):
            continue
        seen = [Seen(counters.source, c.line)]
        for nic in members or [name]:
            out.setdefault(nic, []).append(_Loss(name, total, seen))
    if stats is not None:
        for nic, st in stats.stats.items():
            names = st.matching(ETHTOOL_RING_STATS)
            rate = st.rate(names, uptime_s) if names else None
            if rate is None or NOISE.match(nic) or not _rising(rate, None):
                continue
            moved = [n for n in names if st.first[n] or (st.later and st.later.get(n))]
            out.setdefault(nic, []).append(_Loss(nic, rate, [Seen(st.source, st.lines(moved))]))
    return out


@rule(
    "nic.rx_ring_small",
    needs=(RxCounters, Rings),
    optional=(HostInfo, Links, KernelBonds, NicStats),
    seed="000",
    severity=Severity.WARNING,
)
def rx_ring_small(
    counters: RxCounters,
    rings: Rings,
    host: HostInfo | None,
    links: Links | None,
    bonds: KernelBonds | None,
    stats: NicStats | None,
) -> Iterator[Finding]:
    """RX drops/overruns/missed are rising and the RX ring is below its hardware maximum: raise it."""
    family = host.os_family if host else ""
    for nic, losses in sorted(
        _losses(counters, stats, links, bonds, host.uptime_s if host else None).items()
    ):
        ring = rings.get(nic)
        if ring is None or not ring.rx_headroom:
            continue
        worst = max(losses, key=lambda x: x.total.per_second)
        args = f"-G {nic} rx {ring.maximum.rx}"
        yield Finding(
            Severity.WARNING,
            subject=nic,
            params={
                "nic": nic,
                "via": worst.iface,
                "rate": _how(worst.total),
                "current": ring.current.rx,
                "maximum": ring.maximum.rx,
                "how": Msg("how_measured" if worst.total.measured else "how_average"),
            },
            seen=[s for x in losses for s in x.seen]
            + [Seen(rings.evidence[nic].source, rings.evidence[nic].content().strip())],
            now=[f"ethtool {args}", Cmd(f"ethtool -g {nic}", Msg("c_check_rx", {"rx": ring.maximum.rx}))],
            persist=ethtool_persist(nic, args, family, networkd={"RxBufferSize": str(ring.maximum.rx)}),
            seed="000",
        )


def _sysctl_now(sysctl: Sysctl | None, key: str, default: int) -> int:
    value = sysctl.int(key) if sysctl is not None else None
    return value if value else default


@rule(
    "nic.rx_drops",
    needs=(RxCounters,),
    optional=(HostInfo, Rings, Links, KernelBonds, NicStats, Softnet, Sysctl),
    seed="000",
    severity=Severity.WARNING,
)
def rx_drops(
    counters: RxCounters,
    host: HostInfo | None,
    rings: Rings | None,
    links: Links | None,
    bonds: KernelBonds | None,
    stats: NicStats | None,
    softnet: Softnet | None,
    sysctl: Sysctl | None,
) -> Iterator[Finding]:
    """RX drops are rising for a reason other than a small ring: softnet backlog full, or no ring headroom."""
    uptime = host.uptime_s if host else None
    for nic, losses in sorted(_losses(counters, stats, links, bonds, uptime).items()):
        ring = rings.get(nic) if rings is not None else None
        if ring is not None and ring.rx_headroom:
            continue  # nic.rx_ring_small says it
        worst = max(losses, key=lambda x: x.total.per_second)
        if ring is not None:
            reason = Msg("reason_ring_max", {"current": ring.current.rx, "maximum": ring.maximum.rx})
            now: list[RemedyLine] = [
                Cmd(f"ethtool -S {nic} | grep -iE 'drop|miss|fifo|no_buf|discard'", Msg("c_which_queue")),
                Cmd(f"ethtool -l {nic}; cat /proc/interrupts | grep {nic}", Msg("c_spread_rx")),
            ]
        else:
            reason = Msg("reason_ring_unknown")
            now = [f"ethtool -g {nic}", f"ethtool -S {nic} | grep -iE 'drop|miss|fifo|no_buf|discard'"]
        seen = [s for x in losses for s in x.seen]
        if ring is not None and rings is not None:
            seen.append(Seen(rings.evidence[nic].source, rings.evidence[nic].content().strip()))
        yield Finding(
            Severity.WARNING,
            subject=nic,
            params={"nic": nic, "via": worst.iface, "rate": _how(worst.total), "reason": reason},
            seen=seen,
            now=now,
            persist=[],
            seed="000",
        )
    if softnet is None or counters.netns != HOST:
        return
    dropped = softnet.rate("dropped")
    if dropped is None or not _rising(dropped, None):
        return
    backlog = _sysctl_now(sysctl, "net.core.netdev_max_backlog", 1000)
    budget = _sysctl_now(sysctl, "net.core.netdev_budget", 300)
    squeeze = softnet.rate("time_squeeze")
    cpus = softnet.cpus_with("dropped")
    new_backlog = max(backlog * 2, 10000)
    settings: dict[str, str | int] = {"net.core.netdev_max_backlog": new_backlog}
    if squeeze is not None and _rising(squeeze, None):
        settings["net.core.netdev_budget"] = max(budget * 2, 600)
    yield Finding(
        Severity.WARNING,
        subject="softnet backlog",
        params={
            "nic": Msg("softnet_backlog"),
            "via": "CPU " + ", ".join(map(str, cpus[:8])),
            "rate": _how(dropped),
            "reason": Msg("reason_backlog", {"backlog": backlog}),
        },
        seen=[
            Seen(
                softnet.source,
                "\n".join(
                    f"cpu{c.cpu}: processed {c.processed} dropped {c.dropped} time_squeeze {c.time_squeeze}"
                    for c in (softnet.later or softnet.first)
                ),
            )
        ],
        now=[f"sysctl -w {k}={v}" for k, v in settings.items()],
        persist=sysctl_persist(settings, "90-netsleuth-backlog.conf"),
        seed="000",
    )


@rule(
    "nic.offload_suspect",
    needs=(Offloads,),
    optional=(NicStats, ChecksumErrors, HostInfo, Links),
    seed="000",
    severity=Severity.WARNING,
)
def offload_suspect(
    offloads: Offloads,
    stats: NicStats | None,
    csum: ChecksumErrors | None,
    host: HostInfo | None,
    links: Links | None,
) -> Iterator[Finding]:
    """Checksum offload is on while checksum errors rise: ping works, TCP stalls. Turn rx/tx offload off."""
    if stats is None and csum is None:
        raise Skip(Msg("needs_checksum_counters"))
    uptime = host.uptime_s if host else None
    family = host.os_family if host else ""
    host_rate = csum.rate() if csum is not None else None
    host_rising = host_rate is not None and host_rate.delta > 0 and _rising(host_rate, None)
    for nic in sorted(offloads.features):
        on = offloads.checksum_on(nic)
        link = links.get(nic) if links is not None else None
        if not on or NOISE.match(nic) or (link is not None and (not link.admin_up or not link.is_physical)):
            continue
        seen: list[Seen] = []
        rate: Rate | None = None
        st = stats.get(nic) if stats is not None else None
        if st is not None:
            names = st.matching(CSUM_STATS)
            r = st.rate(names, uptime) if names else None
            if r is not None and r.delta > 0 and _rising(r, None):
                rate = r
                seen.append(
                    Seen(st.source, st.lines(n for n in names if st.first[n] or (st.later or {}).get(n)))
                )
        if rate is None and host_rising and csum is not None and counters_physical(links, nic):
            rate = host_rate
            seen.append(Seen(csum.source, "\n".join(csum.lines)))
        if rate is None:
            continue
        seen.append(Seen(offloads.evidence[nic].source, offloads.line(nic, on)))
        args = f"-K {nic} rx off; -K {nic} tx off"
        yield Finding(
            Severity.WARNING,
            subject=nic,
            params={"nic": nic, "features": ", ".join(on), "rate": _how(rate)},
            seen=seen,
            now=[f"ethtool -K {nic} rx off tx off", f"ethtool -k {nic} | grep checksumming"],
            persist=ethtool_persist(
                nic,
                args,
                family,
                networkd={"ReceiveChecksumOffload": "false", "TransmitChecksumOffload": "false"},
                netplan={"receive-checksum-offload": "false", "transmit-checksum-offload": "false"},
            ),
            seed="000",
        )


def counters_physical(links: Links | None, nic: str) -> bool:
    """Host-wide checksum errors are blamed on physical NICs only (or any NIC when links are unknown)."""
    if links is None:
        return True
    link = links.get(nic)
    return link is not None and link.is_physical


@rule(
    "nic.tx_timeout",
    needs=(LogEvents,),
    optional=(Drivers,),
    seed="003",
    severity=Severity.CRITICAL,
    scope="host",
)
def tx_timeout(logs: LogEvents, drivers: Drivers | None) -> Iterator[Finding]:
    """The kernel's NETDEV WATCHDOG fired: a NIC's transmit queue stopped; recent means traffic is lost now."""
    if not logs.read("kernel"):
        raise Skip(Msg("no_kernel_log_only", {"sources": ", ".join(logs.sources)}))
    ev = logs.get("netdev_watchdog")
    if not ev.count:
        return
    trace = logs.get("netdev_watchdog_trace")
    by_dev: dict[str, list[LogEvent]] = {}
    for e in [*ev.samples, *([ev.last] if ev.last and ev.last not in ev.samples else [])]:
        by_dev.setdefault(e.match.get("dev", "?"), []).append(e)
    for dev, events in sorted(by_dev.items()):
        last = events[-1]
        age = last.age_s
        if age is not None and age <= RECENT_CRITICAL_S:
            severity = Severity.CRITICAL
        elif age is None or age <= RECENT_WARNING_S:
            severity = Severity.WARNING
        else:
            severity = Severity.INFO
        driver = last.match.get("driver", "")
        info = drivers.info.get(dev) if drivers is not None else None
        lines = [e.line.raw for e in events]
        if trace.count and trace.last is not None:
            lines.insert(0, trace.last.line.raw)
        yield Finding(
            severity,
            subject=dev,
            params={
                "dev": dev,
                "driver": driver,
                "queues": ", ".join(sorted({e.match.get("queue", "?") for e in events}, key=str)),
                "count": ev.count if len(by_dev) == 1 else len(events),
                "age": age_words(age),
                "firmware": info.firmware if info and info.firmware else Msg("unknown"),
            },
            seen=[Seen(last.source, "\n".join(lines))],
            now=[
                Cmd(
                    f"ethtool -i {dev}; modinfo {driver or '<driver>'} | grep -i ^version",
                    Msg("c_driver_firmware"),
                ),
                f"ethtool -S {dev} | grep -iE 'timeout|restart|reset|tx_.*err'",
                f"dmesg -T | grep -iE '{dev}|{driver or 'NETDEV'}' | tail -n 20",
            ],
            persist=[
                Msg("do_update_driver", {"driver": driver or "NIC", "dev": dev}),
            ],
            seed="003",
        )


@rule(
    "nic.bond_member_down",
    needs=(),
    optional=(KernelBonds, OvsBonds, Links, OvsHome),
    seed="000",
    severity=Severity.WARNING,
)
def bond_member_down(
    bonds: KernelBonds | None, ovs_bonds: OvsBonds | None, links: Links | None, home: OvsHome | None
) -> Iterator[Finding]:
    """A bond member is down or keeps failing: the bond runs without redundancy (or not at all)."""
    if bonds is None and ovs_bonds is None:
        raise Skip(Msg("no_bond"))

    def on_purpose(name: str) -> bool:
        link = links.get(name) if links is not None else None
        return link is not None and not link.admin_up

    for bond in sorted(bonds.bonds.values() if bonds is not None else [], key=lambda b: b.name):
        assert bonds is not None
        later = bonds.later.get(bond.name)
        up = [m for m in bond.members if m.up]
        for m in bond.members:
            if on_purpose(m.name):
                continue
            after = later.member(m.name) if later is not None else None
            flapping = after is not None and after.link_failures > m.link_failures
            if m.up and not flapping:
                if later is None and m.link_failures:
                    yield _bond_finding(
                        bond.name,
                        m.name,
                        "kernel",
                        Severity.INFO,
                        bonds.sources[bond.name],
                        f"Slave Interface: {m.name}\nMII Status: {m.mii_status}\n"
                        f"Link Failure Count: {m.link_failures}",
                        Msg("state_failures", {"count": m.link_failures}),
                        len(up),
                    )
                continue
            state = (
                Msg("state_down")
                if not m.up
                else Msg(
                    "state_flapping",
                    {"before": m.link_failures, "after": after.link_failures if after else "?"},
                )
            )
            severity = Severity.CRITICAL if not up else Severity.WARNING
            yield _bond_finding(
                bond.name,
                m.name,
                "kernel",
                severity,
                bonds.sources[bond.name],
                f"Slave Interface: {m.name}\nMII Status: {m.mii_status}\n"
                f"Link Failure Count: {m.link_failures}",
                state,
                len(up),
            )
    if ovs_bonds is None or (links is not None and links.netns != HOST):
        return
    for ob in ovs_bonds.bonds:
        enabled = [om for om in ob.members if om.enabled]
        for om in ob.members:
            if om.enabled or on_purpose(om.name):
                continue
            excerpt = (
                f"---- {ob.name} ----\nmember {om.name}: disabled\n  may_enable: {str(om.may_enable).lower()}"
            )
            yield _bond_finding(
                ob.name,
                om.name,
                "ovs",
                Severity.CRITICAL if not enabled else Severity.WARNING,
                ovs_bonds.source,
                excerpt,
                Msg("state_disabled"),
                len(enabled),
                home,
            )


def _bond_finding(
    bond: str,
    member: str,
    kind: str,
    severity: Severity,
    source: str,
    excerpt: str,
    state: Msg,
    up: int,
    home: OvsHome | None = None,
) -> Finding:
    if kind == "ovs":
        now: list[RemedyLine] = [
            ovs_cmd(home, f"ovs-appctl bond/show {bond}"),
            Cmd(f"ethtool {member}", Msg("c_link_detected")),
            f"ip link show {member}",
        ]
    else:
        now = [
            f"cat /proc/net/bonding/{bond}",
            Cmd(f"ethtool {member}", Msg("c_link_detected")),
            f"ip link show {member}",
        ]
    return Finding(
        severity,
        subject=member,
        params={
            "bond": bond,
            "member": member,
            "state": state,
            "up": up,
            "kind": "Open vSwitch bond" if kind == "ovs" else "bond",
        },
        seen=[Seen(source, excerpt)],
        now=now,
        persist=[],
        seed="000",
    )
