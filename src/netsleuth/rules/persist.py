"""How to make a fix last across reboots, for the distribution family of the host."""

from __future__ import annotations


def sysctl_persist(settings: dict[str, str | int], name: str = "90-netsleuth.conf") -> list[str]:
    body = "\\n".join(f"{k} = {v}" for k, v in settings.items())
    return [f"printf '{body}\\n' > /etc/sysctl.d/{name}", f"sysctl -p /etc/sysctl.d/{name}"]


def ethtool_persist(iface: str, args: str, os_family: str) -> list[str]:
    """Keep an ethtool setting (e.g. `-G p6p2 rx 4078`) across reboots."""
    if os_family == "rhel":
        return [f"echo 'ETHTOOL_OPTS=\"{args}\"' >> /etc/sysconfig/network-scripts/ifcfg-{iface}"]
    if os_family == "debian":
        return [
            f"add `post-up /sbin/ethtool {args}` under iface {iface} in /etc/network/interfaces, "
            f"or a networkd-dispatcher/NetworkManager dispatcher script running `ethtool {args}`"
        ]
    return [
        f"echo '/sbin/ethtool {args}' >> /etc/rc.local  # last resort: no distribution-specific way known"
    ]


def mtu_persist(iface: str, mtu: int, os_family: str) -> list[str]:
    if os_family == "rhel":
        return [f"echo 'MTU={mtu}' >> /etc/sysconfig/network-scripts/ifcfg-{iface}"]
    if os_family == "debian":
        return [
            f"netplan: set `mtu: {mtu}` for {iface} in /etc/netplan/*.yaml and run `netplan apply` "
            f"(or `MTUBytes={mtu}` in a systemd-networkd .link/.network file for {iface})"
        ]
    return [f"set MTU {mtu} for {iface} in the network configuration that creates it"]
