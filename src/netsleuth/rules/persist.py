"""How to make a fix last across reboots, for the distribution family of the host."""

from __future__ import annotations


def sysctl_persist(settings: dict[str, str | int], name: str = "90-netsleuth.conf") -> list[str]:
    body = "\\n".join(f"{k} = {v}" for k, v in settings.items())
    return [f"printf '{body}\\n' > /etc/sysctl.d/{name}", f"sysctl -p /etc/sysctl.d/{name}"]


def ethtool_persist(
    iface: str,
    args: str,
    os_family: str,
    networkd: dict[str, str] | None = None,
    netplan: dict[str, str] | None = None,
) -> list[str]:
    """Keep an ethtool setting (e.g. `-G p6p2 rx 4078`; several joined by "; ") across reboots,
    the way the host's distribution family does it; rc.local only as a last resort.

    `networkd`: the same setting as systemd .link [Link] keys (e.g. {"RxBufferSize": "4078"});
    `netplan`: as netplan keys (e.g. {"receive-checksum-offload": "false"}).

    >>> print(ethtool_persist("eth0", "-K eth0 rx off; -K eth0 tx off", "rhel")[0])  # seed 000
    echo 'ETHTOOL_OPTS="-K eth0 rx off; -K eth0 tx off"' >> /etc/sysconfig/network-scripts/ifcfg-eth0  # then: ifup eth0
    """
    parts = [a.strip() for a in args.split(";") if a.strip()]
    if os_family == "rhel":
        nm = "; ".join(parts)
        return [
            f"echo 'ETHTOOL_OPTS=\"{nm}\"' >> /etc/sysconfig/network-scripts/ifcfg-{iface}  # then: ifup {iface}",
            f"NetworkManager without ifcfg files: nmcli connection modify <connection of {iface}> "
            + _nm_ethtool(parts),
        ]
    if os_family == "debian":
        out: list[str] = []
        if networkd:
            keys = "\\n".join(f"{k}={v}" for k, v in networkd.items())
            out.append(
                f"printf '[Match]\\nOriginalName={iface}\\n\\n[Link]\\nNamePolicy=keep kernel database onboard "
                f"slot path\\nMACAddressPolicy=persistent\\n{keys}\\n' > /etc/systemd/network/10-{iface}.link"
                "  # systemd-networkd/udev .link: only the first matching .link file applies, so keep "
                "the NamePolicy of 99-default.link; applies at boot (udevadm trigger for a test)"
            )
        if netplan:
            keys = ", ".join(f"{k}: {v}" for k, v in netplan.items())
            out.append(f"netplan (Ubuntu): under ethernets: {iface}: set {keys}; then `netplan apply`")
        out.append(
            "ifupdown (/etc/network/interfaces): under `iface "
            + iface
            + "` add "
            + "; ".join(f"`post-up /sbin/ethtool {p}`" for p in parts)
        )
        return out
    return [
        *(f"echo '/sbin/ethtool {p}' >> /etc/rc.local" for p in parts),
        "rc.local is the last resort (distribution not recognised): prefer the network configuration "
        f"that brings {iface} up (ifcfg ETHTOOL_OPTS, systemd .link, netplan, NetworkManager)",
    ]


_NM_RING = {"rx": "ethtool.ring-rx", "tx": "ethtool.ring-tx"}
_NM_FEATURE = {
    "rx": "ethtool.feature-rx",
    "tx": "ethtool.feature-tx",
    "tso": "ethtool.feature-tso",
    "gso": "ethtool.feature-gso",
    "gro": "ethtool.feature-gro",
    "lro": "ethtool.feature-lro",
}


def _nm_ethtool(parts: list[str]) -> str:
    """`-G eth0 rx 4078` -> `ethtool.ring-rx 4078` (NetworkManager >= 1.26 for rings)."""
    out: list[str] = []
    for p in parts:
        toks = p.split()
        table = _NM_RING if toks[:1] == ["-G"] else _NM_FEATURE if toks[:1] == ["-K"] else {}
        pairs = toks[2:]
        for k, v in zip(pairs[::2], pairs[1::2], strict=False):
            if k in table:
                out.append(f"{table[k]} {v}")
    return " ".join(out) if out else "(set it in a dispatcher script)"


def mtu_persist(iface: str, mtu: int, os_family: str) -> list[str]:
    if os_family == "rhel":
        return [f"echo 'MTU={mtu}' >> /etc/sysconfig/network-scripts/ifcfg-{iface}"]
    if os_family == "debian":
        return [
            f"netplan: set `mtu: {mtu}` for {iface} in /etc/netplan/*.yaml and run `netplan apply` "
            f"(or `MTUBytes={mtu}` in a systemd-networkd .link/.network file for {iface})"
        ]
    return [f"set MTU {mtu} for {iface} in the network configuration that creates it"]
