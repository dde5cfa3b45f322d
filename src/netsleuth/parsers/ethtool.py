"""`ethtool -g` (rings), `-S` (driver statistics), `-k` (offload features), `-i` (driver info).

Text forms only: they are what sosreports keep, and `ethtool --json` is not on old hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class RingSizes:
    rx: int | None
    tx: int | None


@dataclass(frozen=True)
class Ring:
    iface: str
    maximum: RingSizes
    current: RingSizes

    @property
    def rx_headroom(self) -> bool:
        """The RX ring can still grow."""
        return (
            self.current.rx is not None and self.maximum.rx is not None and self.current.rx < self.maximum.rx
        )


def _size(value: str, line: str) -> int | None:
    value = value.strip()
    if value in ("n/a", ""):
        return None
    if not value.isdigit():
        raise ParseError("ethtool -g: not a ring size", line)
    return int(value)


def parse_ring(text: str) -> Ring:
    """Parse `ethtool -g IFACE` / `ethtool --show-ring IFACE`.

    >>> r = parse_ring(SAMPLE_RING_P6P2)   # seed 000, compute1
    >>> (r.iface, r.current.rx, r.maximum.rx, r.rx_headroom)
    ('p6p2', 453, 4078, True)
    >>> parse_ring(SAMPLE_RING_VIRTIO).rx_headroom   # captured on a test machine
    False
    """
    iface = ""
    section: dict[str, dict[str, int | None]] = {}
    cur: dict[str, int | None] | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        m = re.match(r"Ring parameters for (\S+):$", s)
        if m:
            iface = m.group(1)
            continue
        if s.startswith("Pre-set maximums"):
            cur = section.setdefault("max", {})
            continue
        if s.startswith("Current hardware settings"):
            cur = section.setdefault("cur", {})
            continue
        key, sep, value = s.partition(":")
        if not sep:
            raise ParseError("ethtool -g: expected 'Name: value'", line)
        if cur is None:
            raise ParseError("ethtool -g: value before a section header", line)
        if key in ("RX", "TX"):
            cur[key.lower()] = _size(value, line)
    if "max" not in section or "cur" not in section or "rx" not in section["cur"]:
        raise ParseError("ethtool -g: no 'Pre-set maximums' / 'Current hardware settings' RX values")
    mx, cu = section["max"], section["cur"]
    return Ring(iface, RingSizes(mx.get("rx"), mx.get("tx")), RingSizes(cu.get("rx"), cu.get("tx")))


def parse_stats(text: str) -> dict[str, int]:
    """Parse `ethtool -S IFACE`: counter name -> value (per-queue names kept as the driver gives them).

    >>> st = parse_stats(SAMPLE_STATS_VIRTIO)
    >>> st["rx_kicks"], st["tx0_tx_timeouts"]
    (352, 0)
    """
    out: dict[str, int] = {}
    header = False
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.endswith("statistics:") and not s[:-1].rstrip().endswith(":"):
            header = True
            continue
        name, sep, value = s.rpartition(":")
        value = value.strip()
        if not sep or not re.fullmatch(r"-?\d+", value):
            raise ParseError("ethtool -S: expected 'name: number'", line)
        out[name.strip()] = int(value)
    if not header and not out:
        raise ParseError("ethtool -S: no 'NIC statistics:' header and no counters")
    return out


@dataclass(frozen=True)
class Feature:
    on: bool
    fixed: bool


def parse_features(text: str) -> dict[str, Feature]:
    """Parse `ethtool -k IFACE`: feature -> on/off and whether the driver lets it change.

    >>> f = parse_features(SAMPLE_FEATURES_VIRTIO)
    >>> f["rx-checksumming"], f["tx-checksumming"].on, f["large-receive-offload"].on
    (Feature(on=True, fixed=True), True, False)
    """
    out: dict[str, Feature] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("Features for") or s.startswith("Offload parameters for"):
            continue
        name, sep, value = s.partition(":")
        words = value.split()
        if not sep or not words or words[0] not in ("on", "off"):
            raise ParseError("ethtool -k: expected 'feature: on|off [fixed]'", line)
        out[name.strip()] = Feature(words[0] == "on", "[fixed]" in value or "[requested" in value)
    if not out:
        raise ParseError("ethtool -k: no features")
    return out


@dataclass(frozen=True)
class DriverInfo:
    driver: str
    version: str = ""
    firmware: str = ""
    bus_info: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def bus(self) -> str:
        """pci, usb, virtio, ... from the bus-info (`0000:00:03.0` is PCI; `usb-0000:00:14.0-2` USB)."""
        if self.bus_info.startswith("usb"):
            return "usb"
        if re.match(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.\d", self.bus_info):
            return "pci"
        return self.bus_info.split("-")[0].split(":")[0] if self.bus_info else ""

    @property
    def on_usb(self) -> bool:
        """A USB NIC (seed 004: its driver padded frames with a trailer)."""
        return self.bus_info.startswith("usb-") or "usb" in self.driver.lower()


def parse_info(text: str) -> DriverInfo:
    """Parse `ethtool -i IFACE`.

    >>> i = parse_info(SAMPLE_INFO_VIRTIO)
    >>> i.driver, i.bus_info, i.bus, i.on_usb
    ('virtio_net', '0000:00:03.0', 'pci', False)
    >>> u = parse_info(SAMPLE_INFO_USB)
    >>> u.driver, u.firmware, u.bus, u.on_usb
    ('r8152', 'rtl8153a-4 v2 02/07/20', 'usb', True)
    """
    kv: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ParseError("ethtool -i: expected 'key: value'", line)
        kv[key.strip()] = value.strip()
    if "driver" not in kv:
        raise ParseError("ethtool -i: no driver line")
    return DriverInfo(
        kv.pop("driver"), kv.pop("version", ""), kv.pop("firmware-version", ""), kv.pop("bus-info", ""), kv
    )


SAMPLE_RING_P6P2 = """\
Ring parameters for p6p2:
Pre-set maximums:
RX: 4078
RX Mini: 0
RX Jumbo: 0
TX: 4078
Current hardware settings:
RX: 453
RX Mini: 0
RX Jumbo: 0
TX: 4078
"""

SAMPLE_RING_VIRTIO = """\
Ring parameters for eth0:
Pre-set maximums:
RX:\t\t256
RX Mini:\tn/a
RX Jumbo:\tn/a
TX:\t\t256
Current hardware settings:
RX:\t\t256
RX Mini:\tn/a
RX Jumbo:\tn/a
TX:\t\t256
RX Buf Len:\t\tn/a
CQE Size:\t\tn/a
TX Push:\toff
TCP data split:\tn/a
"""

SAMPLE_STATS_VIRTIO = """\
NIC statistics:
     rx_drops: 0
     rx_kicks: 352
     tx_kicks: 1023
     tx_tx_timeouts: 0
     rx0_drops: 0
     tx0_tx_timeouts: 0
"""

SAMPLE_FEATURES_VIRTIO = """\
Features for eth0:
rx-checksumming: on [fixed]
tx-checksumming: on
\ttx-checksum-ipv4: off [fixed]
\ttx-checksum-ip-generic: on
tcp-segmentation-offload: on
\ttx-tcp-segmentation: on
generic-segmentation-offload: on
generic-receive-offload: on
large-receive-offload: off [fixed]
"""

SAMPLE_INFO_VIRTIO = """\
driver: virtio_net
version: 1.0.0
firmware-version:\x20
expansion-rom-version:\x20
bus-info: 0000:00:03.0
supports-statistics: yes
"""

SAMPLE_INFO_USB = """\
driver: r8152
version: v1.12.12
firmware-version: rtl8153a-4 v2 02/07/20
bus-info: usb-0000:00:14.0-2
supports-statistics: yes
"""
