"""DHCP facts: what dnsmasq logged (DISCOVER without OFFER per MAC, `no address available`), the
client's dhclient.conf, and how many qdhcp- namespaces a restarted DHCP agent must rebuild."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.evidence.model import Evidence
from netsleuth.facts.host import HostInfo
from netsleuth.facts.logs import patterns
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.parsers.dhclient import DhclientConf, parse_dhclient_conf
from netsleuth.parsers.kernlog import parse_line

RECENT_S = 24 * 3600.0


@dataclass
class MacHistory:
    mac: str
    iface: str = ""
    discovers: int = 0
    offers: int = 0
    no_address: int = 0
    last_discover: str = ""
    last_no_address: str = ""
    last_offer: str = ""
    newest_age_s: float | None = None
    source: str = ""


@dataclass
class DhcpLog:
    """dnsmasq's DHCP lines of every log read, folded per client MAC."""

    macs: dict[str, MacHistory] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


def _age(raw: str, host: HostInfo) -> float | None:
    year = host.collected_at.year if host.collected_at else None
    line = parse_line(raw, year)
    if line.wall is None or host.collected_at is None:
        return None
    wall = line.wall if line.wall.tzinfo else line.wall.replace(tzinfo=host.collected_at.tzinfo)
    return max(0.0, (host.collected_at - wall).total_seconds())


def _logs(fs: FactStore) -> list[Evidence]:
    return [ev for ev in [*fs.keyed("log.dnsmasq", host=True), *fs.keyed("log.kernel", host=True)] if ev.ok]


@provides(DhcpLog, reads=("log.dnsmasq", "log.kernel"), uses=(HostInfo,))
def _dhcp_log(fs: FactStore) -> DhcpLog:
    logs = _logs(fs)
    if not logs:
        raise Unavailable("log.dnsmasq, log.kernel: no dnsmasq or system log readable")
    host = fs.get(HostInfo)
    pats = {p.id: p.regex for p in patterns() if "dnsmasq" in p.logs}
    out = DhcpLog(sources=[ev.source for ev in logs])
    for ev in logs:
        for raw in ev.lines():
            if "dnsmasq-dhcp[" not in raw:
                continue
            for pid in ("dnsmasq_no_address", "dnsmasq_offer", "dnsmasq_discover"):
                m = pats[pid].search(raw)
                if m is None:
                    continue
                mac = m.group("mac").lower()
                h = out.macs.setdefault(mac, MacHistory(mac, m.group("iface"), source=ev.source))
                if pid == "dnsmasq_no_address":
                    h.no_address += 1
                    h.last_no_address = raw.strip()
                    h.discovers += 1
                    h.last_discover = raw.strip()
                elif pid == "dnsmasq_offer":
                    h.offers += 1
                    h.last_offer = raw.strip()
                else:
                    h.discovers += 1
                    h.last_discover = raw.strip()
                h.newest_age_s = _age(raw, host)
                break
    return out


@dataclass
class Dhclient:
    conf: DhclientConf
    evidence: Evidence


@provides(Dhclient, reads=("etc.dhclient_conf",))
def _dhclient(fs: FactStore) -> Dhclient:
    ev = fs.require("etc.dhclient_conf", host=True)
    return Dhclient(parse_dhclient_conf(ev.content()), ev)


@dataclass
class QdhcpNamespaces:
    names: list[str]
    evidence: Evidence


@provides(QdhcpNamespaces, reads=("ip.netns",))
def _qdhcp(fs: FactStore) -> QdhcpNamespaces:
    ev = fs.require("ip.netns", host=True)
    names = [ln.split()[0] for ln in ev.content().splitlines() if ln.strip().startswith("qdhcp-")]
    return QdhcpNamespaces(names, ev)
