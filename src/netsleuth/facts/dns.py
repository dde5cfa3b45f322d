"""Name-resolution configuration of a namespace: resolv.conf, nsswitch, sshd UseDNS, who rewrites
resolv.conf (dhclient, NetworkManager, PEERDNS), and the sockets listening on port 53."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsleuth.errors import ParseError
from netsleuth.evidence.model import Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg, Reason
from netsleuth.parsers.resolv import ResolvConf, parse_nsswitch_hosts, parse_resolv_conf
from netsleuth.parsers.sockets import Listener, parse_listeners, parse_proc_net
from netsleuth.parsers.sshd import parse_sshd_config


@dataclass
class Resolver:
    """resolv.conf of this namespace (`/etc/netns/NAME/resolv.conf` inside `ip netns exec`)."""

    conf: ResolvConf
    evidence: Evidence


@provides(Resolver, reads=("etc.resolv_conf",))
def _resolver(fs: FactStore) -> Resolver:
    ev = fs.require("etc.resolv_conf")
    return Resolver(parse_resolv_conf(ev.content()), ev)


@dataclass
class NsSwitch:
    hosts: list[str]
    evidence: Evidence


@provides(NsSwitch, reads=("etc.nsswitch_conf",), host=True)
def _nsswitch(fs: FactStore) -> NsSwitch:
    ev = fs.require("etc.nsswitch_conf", host=True)
    return NsSwitch(parse_nsswitch_hosts(ev.content()), ev)


@dataclass
class Listeners:
    sockets: list[Listener]
    source: str

    def answers(self, proto: str, addr: str, port: int) -> list[Listener]:
        return [s for s in self.sockets if s.proto == proto and s.port == port and s.covers(addr)]


def listening_sockets(fs: FactStore) -> tuple[list[Listener], str]:
    """The sockets listening in this namespace and where that was read: `ss`/`netstat` when
    collected, else the kernel's own tables (/proc/net/tcp, udp and their v6 twins)."""
    ev = fs.evidence("sockets.listen")
    reasons: list[Reason] = []
    if ev is not None and ev.ok:
        try:
            return parse_listeners(ev.content()), ev.source
        except ParseError as exc:
            reasons.append(f"sockets.listen ({ev.source}): {exc}")
    else:
        reasons.append(why_not(ev, "sockets.listen"))
    tables = {e.key: e for e in fs.keyed("proc.net_sockets") if e.ok}
    if "tcp" in tables and "udp" in tables:  # both families' tables, or nothing is known of one
        found: list[Listener] = []
        for name, e in sorted(tables.items()):
            found += parse_proc_net(e.content(), name)
        return found, ", ".join(e.source for _, e in sorted(tables.items()))
    only = ", ".join(sorted(tables))
    name = "proc.net_sockets"
    reasons.append(
        Msg("only", {"name": name, "have": only}) if tables else Msg("not_collected", {"name": name})
    )
    raise Unavailable(reasons)


@provides(Listeners, reads=("sockets.listen", "proc.net_sockets"))
def _listeners(fs: FactStore) -> Listeners:
    return Listeners(*listening_sockets(fs))


@dataclass
class SshdDns:
    use_dns: bool
    line: str
    evidence: Evidence


@provides(SshdDns, reads=("etc.sshd_config",), host=True)
def _sshd(fs: FactStore) -> SshdDns:
    ev = fs.require("etc.sshd_config", host=True)
    cfg = parse_sshd_config(ev.content())
    value = cfg.get("usedns", "")
    line = next(
        (ln.strip() for ln in ev.content().splitlines() if ln.strip().lower().startswith("usedns")), ""
    )
    # OpenSSH >= 6.8 defaults to `UseDNS no`; older builds (CentOS 6/7 set it in the shipped file) to yes
    return SshdDns(value.lower() == "yes", line, ev)


@dataclass(frozen=True)
class Marker:
    """Something on the host that rewrites resolv.conf at boot or lease renewal."""

    what: str  # "header", "peerdns", "networkmanager", "dhclient_hook_keeps"
    source: str
    line: str


@dataclass
class ResolvOwners:
    markers: list[Marker] = field(default_factory=list)
    kept: list[Marker] = field(default_factory=list)  # settings that stop the rewrite

    @property
    def rewritten(self) -> bool:
        return bool(self.markers) and not self.kept


_PEERDNS = re.compile(r"^\s*PEERDNS\s*=\s*\"?(yes|no)\"?", re.IGNORECASE | re.MULTILINE)
_BOOTPROTO = re.compile(r"^\s*BOOTPROTO\s*=\s*\"?dhcp\"?", re.IGNORECASE | re.MULTILINE)
_NM_DNS = re.compile(r"^\s*dns\s*=\s*(\S+)", re.MULTILINE)


@provides(
    ResolvOwners, reads=("etc.resolv_conf", "etc.ifcfg", "etc.networkmanager_conf", "etc.dhclient_hooks")
)
def _owners(fs: FactStore) -> ResolvOwners:
    res = fs.require("etc.resolv_conf")
    out = ResolvOwners()
    gen = parse_resolv_conf(res.content()).generated_by
    if gen:
        head = next(ln for ln in res.content().splitlines() if ln.startswith(("#", ";")))
        out.markers.append(Marker("header", res.source, head.strip()))
    for ev in fs.keyed("etc.ifcfg", host=True):
        if not ev.ok or ev.key.startswith("ifcfg-lo"):
            continue
        text = ev.content()
        peer = _PEERDNS.search(text)
        if _BOOTPROTO.search(text) and (peer is None or peer.group(1).lower() == "yes"):
            line = peer.group(0).strip() if peer else "BOOTPROTO=dhcp (PEERDNS defaults to yes)"
            out.markers.append(Marker("peerdns", ev.source, line))
        elif peer is not None and peer.group(1).lower() == "no":
            out.kept.append(Marker("peerdns_no", ev.source, peer.group(0).strip()))
    nm = fs.evidence("etc.networkmanager_conf", host=True)
    if nm is not None and nm.ok:
        m = _NM_DNS.search(nm.content())
        if m and m.group(1) == "none":
            out.kept.append(Marker("nm_dns_none", nm.source, m.group(0).strip()))
    for ev in fs.keyed("etc.dhclient_hooks", host=True):
        if ev.ok and re.search(r"make_resolv_conf\s*\(\)\s*\{", ev.content()):
            out.kept.append(Marker("dhclient_hook_keeps", ev.source, "make_resolv_conf(){ :; }"))
    if not out.markers and not out.kept and not any(e.ok for e in fs.keyed("etc.ifcfg", host=True)):
        raise Unavailable([Msg("not_collected", {"name": "etc.ifcfg"}), Msg("resolv_no_header")])
    return out
