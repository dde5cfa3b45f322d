"""ARP and DHCP frames with scapy (needs root: raw sockets on an interface)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

from netsleuth.results.probes import ArpProbe, DhcpOffer, DhcpProbe


class NeedsRoot(Exception):
    """The probe needs raw sockets (root or CAP_NET_RAW)."""


def _scapy() -> Any:
    if os.geteuid() != 0:
        raise NeedsRoot("raw frames need root (or CAP_NET_RAW)")
    import scapy.all as sc

    sc.conf.verb = 0
    return sc


def iface_for(target: str) -> tuple[str, str]:
    """(interface, our source address) that the routing table uses toward `target`."""
    from netsleuth.probes.route import route_to

    r = route_to(target)
    return (r.dev, r.src) if r else ("", "")


def probe_arp(
    target: str,
    iface: str | None = None,
    count: int = 3,
    wait_s: float = 1.5,
    interval_s: float = 0.2,
    vlan: int | None = None,
    own: bool = False,
) -> ArpProbe:
    """Broadcast `count` ARP requests for `target` and collect every MAC that answers.

    For one of our own addresses (`own`), the request is an RFC 5227 probe (sender 0.0.0.0) so
    that any other holder of the address answers; our own kernel does not see our own frame."""
    sc = _scapy()
    dev, src = iface_for(target)
    iface = iface or dev
    if not iface:
        raise ValueError(f"no route to {target}: name the interface with --iface")
    mac = sc.get_if_hwaddr(iface)
    psrc = "0.0.0.0" if own else (src or "0.0.0.0")
    layers = sc.Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
    if vlan is not None:
        layers = layers / sc.Dot1Q(vlan=vlan)
    frame = layers / sc.ARP(op=1, hwsrc=mac, psrc=psrc, pdst=target)
    seen: list[str] = []

    def keep(p: Any) -> bool:
        return bool(p.haslayer(sc.ARP) and p[sc.ARP].op == 2 and p[sc.ARP].psrc == target)

    replies = _exchange(sc, frame, iface, keep, count, interval_s, wait_s)
    for p in replies:
        hw = str(p[sc.ARP].hwsrc).lower()
        if hw != mac.lower() and hw not in seen:
            seen.append(hw)
    return ArpProbe(target, iface, count, seen, own, vlan)


def _exchange(
    sc: Any, frame: Any, iface: str, keep: Callable[[Any], bool], count: int, interval_s: float, wait_s: float
) -> list[Any]:
    """Send `frame` `count` times on `iface`, `interval_s` apart, and return what `keep` accepts
    of the frames seen until `wait_s` after the last one (the sniffer starts before the first)."""
    sniffer = sc.AsyncSniffer(iface=iface, lfilter=keep, store=True)
    sniffer.start()
    time.sleep(0.1)
    try:
        for i in range(count):
            if i:
                time.sleep(interval_s)
            sc.sendp(frame, iface=iface)
        time.sleep(wait_s)
    finally:
        got = sniffer.stop() or []
    return list(got)


def probe_dhcp(iface: str, wait_s: float = 4.0, count: int = 2, interval_s: float = 1.0) -> DhcpProbe:
    """Send DHCPDISCOVER on `iface` and collect the OFFERs for `wait_s` seconds. Never sends a
    REQUEST, so no lease is taken."""
    sc = _scapy()
    mac = sc.get_if_hwaddr(iface)
    xid = random.getrandbits(32)
    frame = (
        sc.Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / sc.IP(src="0.0.0.0", dst="255.255.255.255")
        / sc.UDP(sport=68, dport=67)
        / sc.BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), xid=xid, flags=0x8000)
        / sc.DHCP(options=[("message-type", "discover"), ("param_req_list", [1, 3, 6]), "end"])
    )

    def keep(p: Any) -> bool:
        return bool(p.haslayer(sc.BOOTP) and p[sc.BOOTP].xid == xid and p[sc.BOOTP].op == 2)

    got = _exchange(sc, frame, iface, keep, count, interval_s, max(0.0, wait_s - interval_s * (count - 1)))
    offers: list[DhcpOffer] = []
    for p in got:
        opts = {o[0]: o[1] for o in p[sc.DHCP].options if isinstance(o, tuple)} if p.haslayer(sc.DHCP) else {}
        if opts.get("message-type") != 2:  # OFFER
            continue
        server = str(opts.get("server_id") or p[sc.IP].src)
        offer = DhcpOffer(server, str(p[sc.BOOTP].yiaddr), str(p[sc.Ether].src).lower())
        if offer not in offers:
            offers.append(offer)
    return DhcpProbe(iface, mac.lower(), count, wait_s, offers)
