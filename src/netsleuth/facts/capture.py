"""Facts of packet captures and traces (results/capture.py), read back from the evidence
`pcap.summary` / `trace.result`; and the drivers of the NICs (seed 004: a USB NIC's driver padded
frames)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from netsleuth.evidence.model import HOST, Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.results.capture import PCAP_SUMMARY, TRACE_RESULT, PcapSummary, TraceResult


def _keyed_or_host(fs: FactStore, name: str) -> Evidence:
    """The first piece of evidence `name` (any key) of this scope, else of the host scope."""
    seen: list[Evidence] = []
    for ns in dict.fromkeys([fs.netns, HOST]):
        for ev in fs.every(name, netns=ns):
            if ev.ok:
                return ev
            seen.append(ev)
    if seen:
        ev = seen[0]
        raise Unavailable(why_not(ev, name))
    raise Unavailable(f"{name}: not collected (run `netsleuth {name.split('.')[0]} ...`)")


@provides(PcapSummary, reads=("pcap.summary",))
def _pcap_summary(fs: FactStore) -> PcapSummary:
    ev = _keyed_or_host(fs, PCAP_SUMMARY)
    return PcapSummary.from_json(json.loads(ev.content()), source=ev.source)


@provides(TraceResult, reads=("trace.result",))
def _trace_result(fs: FactStore) -> TraceResult:
    ev = _keyed_or_host(fs, TRACE_RESULT)
    return TraceResult.from_json(json.loads(ev.content()), source=ev.source)


# --- NICs on a USB bus (seed 004: a USB NIC's driver padded frames) ---------------------------


@dataclass(frozen=True)
class NicDriver:
    iface: str
    driver: str
    bus_info: str
    text: str
    source: str

    @property
    def on_usb(self) -> bool:
        return self.bus_info.startswith("usb-") or "usb" in self.driver.lower()


@dataclass(frozen=True)
class NicDrivers:
    """`ethtool -i` of every physical NIC of a namespace."""

    netns: str
    nics: list[NicDriver]


def parse_ethtool_info(text: str) -> dict[str, str]:
    """Parse `ethtool -i IFACE` into its fields.

    >>> d = parse_ethtool_info('''driver: r8152
    ... version: v1.12.12
    ... firmware-version: rtl8153a-4 v2 02/07/20
    ... bus-info: usb-0000:00:14.0-2
    ... supports-statistics: yes''')
    >>> d["driver"], d["bus-info"]
    ('r8152', 'usb-0000:00:14.0-2')
    """
    from netsleuth.errors import ParseError

    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or " " in key.strip():
            raise ParseError("not an `ethtool -i` line", line)
        out[key.strip()] = value.strip()
    if "driver" not in out:
        raise ParseError("`ethtool -i` output without a driver line", text[:80])
    return out


@provides(NicDrivers, reads=("ethtool.info",))
def _nic_drivers(fs: FactStore) -> NicDrivers:
    evs = fs.keyed("ethtool.info")
    if not evs:
        raise Unavailable("ethtool.info: not collected")
    nics = []
    for ev in evs:
        if not ev.ok:
            continue
        info = parse_ethtool_info(ev.content())
        nics.append(NicDriver(ev.key, info["driver"], info.get("bus-info", ""), ev.content(), ev.source))
    if not nics:
        raise Unavailable("ethtool.info: no NIC answered")
    return NicDrivers(fs.netns, nics)
