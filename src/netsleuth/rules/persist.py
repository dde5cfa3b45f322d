"""How to make a fix last across reboots, for the distribution family of the host. Commands are
written here; the words around them are the [common] entry's (messages/*/common.toml)."""

from __future__ import annotations

from netsleuth.messages import Msg
from netsleuth.rules.base import Cmd, RemedyLine


def sysctl_persist(settings: dict[str, str | int], name: str = "90-netsleuth.conf") -> list[str]:
    body = "\\n".join(f"{k} = {v}" for k, v in settings.items())
    return [f"printf '{body}\\n' > /etc/sysctl.d/{name}", f"sysctl -p /etc/sysctl.d/{name}"]


def ethtool_persist(
    iface: str,
    args: str,
    os_family: str,
    networkd: dict[str, str] | None = None,
    netplan: dict[str, str] | None = None,
) -> list[RemedyLine]:
    """Keep an ethtool setting (e.g. `-G p6p2 rx 4078`; several joined by "; ") across reboots,
    the way the host's distribution family does it; rc.local only as a last resort.

    `networkd`: the same setting as systemd .link [Link] keys (e.g. {"RxBufferSize": "4078"});
    `netplan`: as netplan keys (e.g. {"receive-checksum-offload": "false"}).

    >>> print(ethtool_persist("eth0", "-K eth0 rx off; -K eth0 tx off", "rhel")[0].command)  # seed 000
    echo 'ETHTOOL_OPTS="-K eth0 rx off; -K eth0 tx off"' >> /etc/sysconfig/network-scripts/ifcfg-eth0
    """
    parts = [a.strip() for a in args.split(";") if a.strip()]
    if os_family == "rhel":
        nm = "; ".join(parts)
        return [
            Cmd(
                f"echo 'ETHTOOL_OPTS=\"{nm}\"' >> /etc/sysconfig/network-scripts/ifcfg-{iface}",
                Msg("c_then_ifup", {"iface": iface}),
            ),
            Msg("do_nmcli", {"iface": iface, "settings": _nm_ethtool(parts)}),
        ]
    if os_family == "debian":
        out: list[RemedyLine] = []
        if networkd:
            keys = "\\n".join(f"{k}={v}" for k, v in networkd.items())
            out.append(
                Cmd(
                    f"printf '[Match]\\nOriginalName={iface}\\n\\n[Link]\\nNamePolicy=keep kernel database onboard "
                    f"slot path\\nMACAddressPolicy=persistent\\n{keys}\\n' > /etc/systemd/network/10-{iface}.link",
                    Msg("c_networkd_link"),
                )
            )
        if netplan:
            keys = ", ".join(f"{k}: {v}" for k, v in netplan.items())
            out.append(Msg("do_netplan", {"iface": iface, "keys": keys}))
        lines = "; ".join(f"`post-up /sbin/ethtool {p}`" for p in parts)
        out.append(Msg("do_ifupdown", {"iface": iface, "lines": lines}))
        return out
    return [
        *(f"echo '/sbin/ethtool {p}' >> /etc/rc.local" for p in parts),
        Msg("do_rc_local_last", {"iface": iface}),
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


def _nm_ethtool(parts: list[str]) -> str | Msg:
    """`-G eth0 rx 4078` -> `ethtool.ring-rx 4078` (NetworkManager >= 1.26 for rings)."""
    out: list[str] = []
    for p in parts:
        toks = p.split()
        table = _NM_RING if toks[:1] == ["-G"] else _NM_FEATURE if toks[:1] == ["-K"] else {}
        pairs = toks[2:]
        for k, v in zip(pairs[::2], pairs[1::2], strict=False):
            if k in table:
                out.append(f"{table[k]} {v}")
    return " ".join(out) if out else Msg("nm_dispatcher")


def mtu_persist(iface: str, mtu: int, os_family: str) -> list[RemedyLine]:
    if os_family == "rhel":
        return [f"echo 'MTU={mtu}' >> /etc/sysconfig/network-scripts/ifcfg-{iface}"]
    if os_family == "debian":
        return [Msg("do_mtu_netplan", {"iface": iface, "mtu": mtu})]
    return [Msg("do_mtu_generic", {"iface": iface, "mtu": mtu})]
