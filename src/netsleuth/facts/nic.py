"""NIC and driver health: RX loss counters (two samples, or one normalised by uptime), ethtool
rings/statistics/offloads/driver, softnet backlog, kernel and OVS bonds, OVS datapaths."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from netsleuth.errors import ParseError
from netsleuth.evidence.model import Evidence
from netsleuth.facts.host import HostInfo
from netsleuth.facts.network import Links, Rate, link_line
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg, Reason
from netsleuth.parsers.bonding import Bond, parse_bonding
from netsleuth.parsers.dpctl import Datapath, OvsBond, datapath_named, parse_bond_show, parse_dpctl_show
from netsleuth.parsers.ethtool import DriverInfo, Feature, Ring, parse_features, parse_info, parse_ring
from netsleuth.parsers.ethtool import parse_stats as parse_ethtool_stats
from netsleuth.parsers.ifconfig import parse_ifconfig
from netsleuth.parsers.netdev import parse_net_dev
from netsleuth.parsers.snmp import parse_snmp_csum
from netsleuth.parsers.softnet import SoftnetCpu, parse_softnet

T = TypeVar("T")

# RX counters that mean "the NIC had a frame and nowhere to put it" (ring/FIFO exhausted)
RING_KEYS = ("missed", "over", "fifo")
LOSS_KEYS = ("dropped", *RING_KEYS)
# the same, as drivers name them in `ethtool -S` (ixgbe, igb, i40e/ice, mlx5, bnxt, virtio)
ETHTOOL_RING_STATS = re.compile(
    r"^(?:rx_missed_errors|rx_no_buffer_count|rx_fifo_errors|rx_over_errors|rx_out_of_buffer|"
    r"rx_no_dma_resources|rx_discards|rx_dropped|port\.rx_dropped|rx_drops)$"
)
CSUM_STATS = re.compile(r"(?:csum|checksum).*(?:err|bad)|(?:err|bad).*(?:csum|checksum)")


def _rate(first: int, later: int | None, interval_s: float | None, uptime_s: float | None) -> Rate | None:
    if later is not None and interval_s:
        return Rate(later - first, (later - first) / interval_s, True, interval_s)
    if uptime_s:
        return Rate(first, first / uptime_s, False, uptime_s)
    return None


@dataclass
class IfaceCounters:
    name: str
    rx: dict[str, int]
    rx_later: dict[str, int] | None
    line: str  # quoted as evidence
    is_bond: bool = False
    is_nic: bool = False  # a physical NIC (when the source says)
    admin_up: bool = True
    kind: str = ""


@dataclass
class RxCounters:
    """RX loss counters of the interfaces of one namespace, from the best source available:
    `ip -s link` (live: sampled twice), /proc/net/dev, or `ifconfig` (old sosreports)."""

    netns: str
    source: str
    ifaces: dict[str, IfaceCounters]
    interval_s: float | None
    uptime_s: float | None

    @property
    def measured(self) -> bool:
        return bool(self.interval_s) and any(c.rx_later is not None for c in self.ifaces.values())

    def rate(self, iface: str, keys: Iterable[str] = LOSS_KEYS) -> Rate | None:
        c = self.ifaces.get(iface)
        if c is None:
            return None
        keys = tuple(keys)
        first = sum(c.rx.get(k, 0) for k in keys)
        later = sum(c.rx_later.get(k, 0) for k in keys) if c.rx_later is not None else None
        return _rate(first, later, self.interval_s, self.uptime_s)


def _from_links(links: Links) -> dict[str, IfaceCounters]:
    out: dict[str, IfaceCounters] = {}
    for lnk in links.links:
        if not lnk.rx:
            continue
        later = links.later.get(lnk.name)
        rx = dict(lnk.rx)
        out[lnk.name] = IfaceCounters(
            lnk.name,
            rx,
            dict(later.rx) if later is not None and later.rx else None,
            link_line(lnk) + "\n    RX: " + " ".join(f"{k} {v}" for k, v in rx.items()),
            is_bond=lnk.kind == "bond",
            is_nic=lnk.is_physical,
            admin_up=lnk.admin_up,
            kind=lnk.kind,
        )
    return out


@provides(RxCounters, reads=("proc.net_dev", "ifconfig"), uses=(HostInfo, Links))
def _rx_counters(fs: FactStore) -> RxCounters:
    host = fs.maybe(HostInfo)
    uptime = host.uptime_s if host else None
    reasons: list[Reason] = []
    links = fs.maybe(Links)
    if links is not None:
        found = _from_links(links)
        if found:
            return RxCounters(fs.netns, links.source(), found, links.interval_s, uptime)
        reasons.append(f"{links.source()}: no RX counters (not collected with -s)")
    dev = fs.evidence("proc.net_dev")
    if dev is not None and dev.ok:
        first = parse_net_dev(dev.content())
        later = parse_net_dev(dev.later) if dev.later else {}
        lines = {ln.split(":", 1)[0].strip(): ln.strip() for ln in dev.content().splitlines() if ":" in ln}
        ifaces = {
            n: IfaceCounters(n, rx, later[n][0] if n in later else None, lines.get(n, n))
            for n, (rx, _tx) in first.items()
        }
        return RxCounters(fs.netns, dev.source, ifaces, dev.interval_s, uptime)
    reasons.append(why_not(dev, "proc.net_dev"))
    ifc = fs.evidence("ifconfig")
    if ifc is not None and ifc.ok:
        ifaces = {
            i.name: IfaceCounters(
                i.name, i.rx, None, i.raw, is_bond="MASTER" in i.flags, admin_up="UP" in i.flags
            )
            for i in parse_ifconfig(ifc.content())
        }
        return RxCounters(fs.netns, ifc.source, ifaces, None, uptime)
    reasons.append(why_not(ifc, "ifconfig"))
    raise Unavailable(Msg("no_counters", {"why": reasons}))


def _per_nic(fs: FactStore, name: str, parse: Callable[[str], T]) -> tuple[dict[str, T], dict[str, Evidence]]:
    """Parse every per-NIC piece of evidence `name`; a NIC whose output cannot be read (veth:
    "Operation not supported") is left out. Unavailable when no NIC has it."""
    items = [ev for ev in fs.keyed(name) if ev.ok]
    if not items:
        why = [Msg(ev.status.value, {"name": ev.key}) for ev in fs.keyed(name)]
        raise Unavailable(
            Msg("per_nic", {"name": name, "why": why}) if why else Msg("no_nic", {"name": name})
        )
    parsed: dict[str, T] = {}
    evs: dict[str, Evidence] = {}
    for ev in items:
        try:
            parsed[ev.key] = parse(ev.content())
        except ParseError:
            continue
        evs[ev.key] = ev
    if not parsed:
        raise Unavailable(Msg("no_nic_read", {"name": name}))
    return parsed, evs


@dataclass
class Rings:
    """`ethtool -g` per NIC."""

    rings: dict[str, Ring]
    evidence: dict[str, Evidence]

    def get(self, nic: str) -> Ring | None:
        return self.rings.get(nic)


@provides(Rings, reads=("ethtool.ring",))
def _rings(fs: FactStore) -> Rings:
    return Rings(*_per_nic(fs, "ethtool.ring", parse_ring))


@dataclass
class NicStat:
    first: dict[str, int]
    later: dict[str, int] | None
    interval_s: float | None
    source: str

    def rate(self, names: Iterable[str], uptime_s: float | None) -> Rate | None:
        names = list(names)
        a = sum(self.first.get(n, 0) for n in names)
        b = sum(self.later.get(n, 0) for n in names) if self.later is not None else None
        return _rate(a, b, self.interval_s, uptime_s)

    def matching(self, rx: re.Pattern[str]) -> list[str]:
        return [n for n in self.first if rx.search(n)]

    def lines(self, names: Iterable[str]) -> str:
        out = []
        for n in names:
            later = f" -> {self.later[n]}" if self.later is not None and n in self.later else ""
            out.append(f"{n}: {self.first[n]}{later}")
        return "\n".join(out)


@dataclass
class NicStats:
    """`ethtool -S` per NIC (two samples when live)."""

    stats: dict[str, NicStat]

    def get(self, nic: str) -> NicStat | None:
        return self.stats.get(nic)


@provides(NicStats, reads=("ethtool.stats",))
def _nic_stats(fs: FactStore) -> NicStats:
    parsed, evs = _per_nic(fs, "ethtool.stats", parse_ethtool_stats)
    out: dict[str, NicStat] = {}
    for nic, first in parsed.items():
        ev = evs[nic]
        later: dict[str, int] | None = None
        if ev.later:
            try:
                later = parse_ethtool_stats(ev.later)
            except ParseError:
                later = None
        out[nic] = NicStat(first, later, ev.interval_s if later is not None else None, ev.source)
    return NicStats(out)


@dataclass
class Offloads:
    """`ethtool -k` per NIC."""

    features: dict[str, dict[str, Feature]]
    evidence: dict[str, Evidence]

    def checksum_on(self, nic: str) -> list[str]:
        f = self.features.get(nic, {})
        return [n for n in ("rx-checksumming", "tx-checksumming") if n in f and f[n].on]

    def line(self, nic: str, names: Iterable[str]) -> str:
        f = self.features.get(nic, {})
        return "\n".join(
            f"{n}: {'on' if f[n].on else 'off'}{' [fixed]' if f[n].fixed else ''}" for n in names if n in f
        )


@provides(Offloads, reads=("ethtool.features",))
def _offloads(fs: FactStore) -> Offloads:
    return Offloads(*_per_nic(fs, "ethtool.features", parse_features))


@dataclass
class Drivers:
    """`ethtool -i` per NIC: driver, firmware, bus (a USB NIC: seed 004)."""

    info: dict[str, DriverInfo]
    evidence: dict[str, Evidence]


@provides(Drivers, reads=("ethtool.info",))
def _drivers(fs: FactStore) -> Drivers:
    return Drivers(*_per_nic(fs, "ethtool.info", parse_info))


@dataclass
class Softnet:
    """/proc/net/softnet_stat: per-CPU backlog drops and time squeezes."""

    first: list[SoftnetCpu]
    later: list[SoftnetCpu] | None
    interval_s: float | None
    uptime_s: float | None
    source: str

    def rate(self, column: str) -> Rate | None:
        a = sum(getattr(c, column) for c in self.first)
        b = sum(getattr(c, column) for c in self.later) if self.later is not None else None
        return _rate(a, b, self.interval_s, self.uptime_s)

    def cpus_with(self, column: str) -> list[int]:
        """CPUs whose counter grew (two samples) or is non-zero (one sample)."""
        if self.later is None:
            return [c.cpu for c in self.first if getattr(c, column)]
        before = {c.cpu: getattr(c, column) for c in self.first}
        return [c.cpu for c in self.later if getattr(c, column) > before.get(c.cpu, 0)]


@provides(Softnet, reads=("proc.softnet_stat",), uses=(HostInfo,), host=True)
def _softnet(fs: FactStore) -> Softnet:
    ev = fs.require("proc.softnet_stat", host=True)
    host = fs.maybe(HostInfo)
    later = parse_softnet(ev.later) if ev.later else None
    return Softnet(
        parse_softnet(ev.content()),
        later,
        ev.interval_s if later else None,
        host.uptime_s if host else None,
        ev.source,
    )


@dataclass
class KernelBonds:
    """/proc/net/bonding/* of one namespace (two samples when live)."""

    bonds: dict[str, Bond]
    later: dict[str, Bond]
    sources: dict[str, str]


@provides(KernelBonds, reads=("proc.bonding",))
def _kernel_bonds(fs: FactStore) -> KernelBonds:
    items = fs.keyed("proc.bonding")
    ok = [ev for ev in items if ev.ok and ev.key != "bonding_masters"]
    if not ok:
        why = [Msg(e.status.value, {"name": e.key}) for e in items]
        raise Unavailable(
            Msg("per_nic", {"name": "proc.bonding", "why": why}) if why else Msg("no_kernel_bond")
        )
    bonds = {ev.key: parse_bonding(ev.content(), ev.key) for ev in ok}
    later = {ev.key: parse_bonding(ev.later, ev.key) for ev in ok if ev.later}
    return KernelBonds(bonds, later, {ev.key: ev.source for ev in ok})


@dataclass
class OvsBonds:
    """`ovs-appctl bond/show`."""

    bonds: list[OvsBond]
    source: str


@provides(OvsBonds, reads=("ovs.bond_show",), host=True)
def _ovs_bonds(fs: FactStore) -> OvsBonds:
    ev = fs.require("ovs.bond_show", host=True)
    return OvsBonds(parse_bond_show(ev.content()), ev.source)


@dataclass
class Datapaths:
    """`ovs-appctl dpctl/show` / `ovs-dpctl show` (two samples when live)."""

    datapaths: list[Datapath]
    later: dict[str, Datapath]
    interval_s: float | None
    uptime_s: float | None
    source: str

    def lost_rate(self, dp: Datapath) -> Rate | None:
        after = self.later.get(dp.name)
        return _rate(dp.lost, after.lost if after else None, self.interval_s, self.uptime_s)


@provides(Datapaths, reads=("ovs.dpctl_show",), uses=(HostInfo,), host=True)
def _datapaths(fs: FactStore) -> Datapaths:
    ev = fs.require("ovs.dpctl_show", host=True)
    host = fs.maybe(HostInfo)
    name = datapath_named(ev.source)
    later = {dp.name: dp for dp in parse_dpctl_show(ev.later, name)} if ev.later else {}
    return Datapaths(
        parse_dpctl_show(ev.content(), name),
        later,
        ev.interval_s if later else None,
        host.uptime_s if host else None,
        ev.source,
    )


@dataclass
class ChecksumErrors:
    """Segments/datagrams the kernel received with a bad checksum (`InCsumErrors` of /proc/net/snmp)."""

    first: dict[str, int]  # "Tcp" / "Udp" -> InCsumErrors
    later: dict[str, int] | None
    interval_s: float | None
    uptime_s: float | None
    source: str
    lines: list[str] = field(default_factory=list)

    def rate(self) -> Rate | None:
        a = sum(self.first.values())
        b = sum(self.later.values()) if self.later is not None else None
        return _rate(a, b, self.interval_s, self.uptime_s)


@provides(ChecksumErrors, reads=("proc.net_snmp",), uses=(HostInfo,))
def _csum_errors(fs: FactStore) -> ChecksumErrors:
    ev = fs.require("proc.net_snmp")
    host = fs.maybe(HostInfo)
    first, lines = parse_snmp_csum(ev.content())
    later = parse_snmp_csum(ev.later)[0] if ev.later else None
    return ChecksumErrors(
        first, later, ev.interval_s if later else None, host.uptime_s if host else None, ev.source, lines
    )
