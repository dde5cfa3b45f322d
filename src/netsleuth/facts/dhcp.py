"""DHCP facts: what dnsmasq logged (DISCOVER without OFFER per MAC, `no address available`), the
client's dhclient.conf, and how many qdhcp- namespaces a restarted DHCP agent must rebuild."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.evidence.model import Evidence
from netsleuth.facts.logs import EventSet, LogScan
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.dhclient import DhclientConf, parse_dhclient_conf

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


def _logs(fs: FactStore) -> list[Evidence]:
    return [ev for ev in [*fs.keyed("log.dnsmasq", host=True), *fs.keyed("log.kernel", host=True)] if ev.ok]


@provides(DhcpLog, reads=("log.dnsmasq", "log.kernel"), uses=(LogScan,), host=True)
def _dhcp_log(fs: FactStore) -> DhcpLog:
    """Folded from the one scan of the bundle's logs (facts/logs.py): every DHCPDISCOVER, OFFER
    and `no address available` line of dnsmasq, per client MAC."""
    logs = _logs(fs)
    if not logs:
        raise Unavailable(Msg("no_dhcp_log"))
    scanned = fs.get(LogScan)
    out = DhcpLog(sources=[ev.source for ev in logs])
    for pid in ("dnsmasq_discover", "dnsmasq_offer", "dnsmasq_no_address"):
        for mac, events in scanned.events.get(pid, EventSet(pid)).by_group.items():
            last = events.last
            if last is None:
                continue
            first = events.first or last
            h = out.macs.setdefault(
                mac.lower(), MacHistory(mac.lower(), first.match.get("iface", ""), source=first.source)
            )
            raw = last.line.raw.strip()
            if pid == "dnsmasq_discover":
                h.discovers, h.last_discover = h.discovers + events.count, raw
            elif pid == "dnsmasq_offer":
                h.offers, h.last_offer = h.offers + events.count, raw
            else:
                h.no_address, h.last_no_address = h.no_address + events.count, raw
            if last.age_s is not None and (h.newest_age_s is None or last.age_s < h.newest_age_s):
                h.newest_age_s = last.age_s
    return out


@dataclass
class Dhclient:
    conf: DhclientConf
    evidence: Evidence


@provides(Dhclient, reads=("etc.dhclient_conf",), host=True)
def _dhclient(fs: FactStore) -> Dhclient:
    ev = fs.require("etc.dhclient_conf", host=True)
    return Dhclient(parse_dhclient_conf(ev.content()), ev)


@dataclass
class QdhcpNamespaces:
    names: list[str]
    evidence: Evidence


@provides(QdhcpNamespaces, reads=("ip.netns",), host=True)
def _qdhcp(fs: FactStore) -> QdhcpNamespaces:
    ev = fs.require("ip.netns", host=True)
    names = [ln.split()[0] for ln in ev.content().splitlines() if ln.strip().startswith("qdhcp-")]
    return QdhcpNamespaces(names, ev)
