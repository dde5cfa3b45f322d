"""DNS per server (what `nslookup NAME SERVER` does by hand, seed 003): each resolver of
resolv.conf on its own, over UDP and over TCP, plus the system path (getaddrinfo through
nsswitch, what ping uses). Tools that disagree ("ping resolves, nslookup does not") use different
paths; this shows each."""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path

from netsleuth.errors import ParseError
from netsleuth.parsers.resolv import parse_nsswitch_hosts, parse_resolv_conf
from netsleuth.probes.icmp import Kind, ping
from netsleuth.results.probes import DnsProbe, DnsQuery, DnsServer, SystemLookup

_RCODES = {0: "answer", 3: "nxdomain", 2: "servfail", 5: "refused"}  # NOERROR NXDOMAIN SERVFAIL REFUSED


def _query(server: str, name: str, proto: str, timeout: float) -> DnsQuery:
    import dns.exception  # dnspython only when a probe runs (start-up of `rules list` stays light)
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    rdtype = dns.rdatatype.NS if name == "." else dns.rdatatype.A
    q = dns.message.make_query(name, rdtype)
    start = time.monotonic()
    try:
        if proto == "udp":
            r = dns.query.udp(q, server, timeout=timeout)
        else:
            r = dns.query.tcp(q, server, timeout=timeout)
    except dns.exception.Timeout:
        return DnsQuery(proto, "timeout", error=f"no answer in {timeout:g} s")
    except ConnectionRefusedError:
        return DnsQuery(proto, "unreachable", error="connection refused (nothing listens on port 53)")
    except OSError as exc:
        kind = "unreachable" if exc.errno is not None else "error"
        return DnsQuery(proto, kind, error=exc.strerror or str(exc))
    except EOFError:
        return DnsQuery(proto, "error", error="the server closed the connection without an answer")
    except (dns.exception.DNSException, ValueError) as exc:
        return DnsQuery(proto, "error", error=str(exc) or type(exc).__name__)
    ms = (time.monotonic() - start) * 1000
    addrs = sorted({rd.to_text() for rrset in r.answer for rd in rrset if rrset.rdtype == rdtype})
    return DnsQuery(proto, _RCODES.get(r.rcode(), dns.rcode.to_text(r.rcode()).lower()), round(ms, 2), addrs)


def system_lookup(name: str) -> SystemLookup:
    """getaddrinfo, as ping and most programs resolve (nsswitch: files, then dns, ...)."""
    start = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return SystemLookup(
            "fail", error=exc.strerror or str(exc), ms=round((time.monotonic() - start) * 1000, 2)
        )
    addrs = sorted({str(i[4][0]) for i in infos})
    return SystemLookup("answer", addrs, ms=round((time.monotonic() - start) * 1000, 2))


def _hosts_file(name: str, path: Path) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and name in words[1:]:
            found.append(words[0])
    return found


def probe_dns(
    name: str | None = None,
    servers: list[str] | None = None,
    timeout: float = 2.0,
    resolv_conf: Path = Path("/etc/resolv.conf"),
    use_ping: bool = True,
) -> DnsProbe:
    """Query each server (the given ones, else resolv.conf's) over UDP and TCP; `name` None asks
    the root NS (any answer, even REFUSED, proves the server answers) and skips the system path."""
    rotate = False
    if servers is None:
        try:
            conf = parse_resolv_conf(resolv_conf.read_text())
        except (OSError, ParseError):
            conf = None
        servers = conf.nameservers if conf else []
        rotate = conf.rotate if conf else False
    qname = name or "."
    results: list[DnsServer] = []
    for server in servers[:6]:  # libc uses 3; never more than a handful
        addr = server.split("%")[0]
        loop = ipaddress.ip_address(addr).is_loopback
        udp = _query(addr, qname, "udp", timeout)
        tcp = _query(addr, qname, "tcp", timeout)
        reach: bool | None = None
        if use_ping and udp.outcome in ("timeout", "unreachable") and ":" not in addr:
            try:
                reach = any(o.kind is Kind.REPLY for o in ping(addr, count=2, wait_s=min(timeout, 1.0)))
            except OSError:
                reach = None
        results.append(DnsServer(addr, loop, udp, tcp, reach))
    system = system_lookup(name) if name else None
    try:
        nss = parse_nsswitch_hosts(Path("/etc/nsswitch.conf").read_text())
    except (OSError, ParseError):
        nss = []
    hosts = _hosts_file(name, Path("/etc/hosts")) if name else []
    return DnsProbe(qname, rotate, results, system, hosts, nss)
