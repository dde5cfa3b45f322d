"""The probes diagnose runs by itself: cheap ones by default (each resolver of resolv.conf, DAD for
this host's own addresses, the VXLAN remotes it is configured with, a DHCP DISCOVER on each
interface a DHCP client of this network namespace runs for) and, with --peer, ICMP, path MTU,
ARP (every MAC that answers, when the peer is on a directly connected network) and
underlay-versus-overlay reachability toward each named peer. Every target comes from the user or
from this host's own configuration; the whole run is bounded in time."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Any

from netsleuth import process
from netsleuth.evidence.model import HOST, Bundle, Evidence
from netsleuth.messages import Msg, Note, note_json, note_of
from netsleuth.parsers.iproute import Link, parse_links
from netsleuth.probes import run
from netsleuth.probes.icmp import Kind, ping
from netsleuth.results.probes import EchoProbe

BUDGET_S = 12.0
MAX_DAD = 4
MAX_DHCP = 2
DHCP_WAIT_S = 4.0  # dnsmasq pings a new address for up to 3 s before it offers it
DHCP_CLIENTS = frozenset({"dhclient", "dhcpcd", "udhcpc", "dhcpcd5"})


def _json(argv: list[str]) -> Any:
    """The JSON a command prints ([] when it fails, hangs past 2 s or prints no JSON)."""
    r = process.run(argv, 2)
    try:
        return json.loads(r.text() or "[]") if r.rc is not None else []
    except json.JSONDecodeError:
        return []


def _ip_json(*args: str) -> Any:
    return _json(["ip", "-j", *args])


def links() -> list[Link]:
    r = process.run(["ip", "-j", "-d", "link", "show"], 2)
    try:
        return parse_links(r.text()) if r.rc is not None and r.text().strip() else []
    except ValueError:
        return []


def own_addresses() -> dict[str, str]:
    """IPv4 address -> interface, for global addresses of up, non-loopback interfaces."""
    found: dict[str, str] = {}
    for entry in _ip_json("-4", "address", "show"):
        if "UP" not in entry.get("flags", []) or entry.get("link_type") == "loopback":
            continue
        for a in entry.get("addr_info", []):
            if a.get("family") == "inet" and a.get("scope") == "global":
                found[str(a["local"])] = str(entry["ifname"])
    return found


def vxlan_overlay(dev: str) -> list[str]:
    """Overlay addresses known behind a VXLAN device (its neighbour entries), the resolved first.
    An entry that FAILED counts too, last: when the overlay is broken (seed 003: UDP 4789 dropped)
    the address the host tried to reach never resolves, and it is the one worth probing."""
    entries = [n for n in _ip_json("neigh", "show", "dev", dev) if "dst" in n and ":" not in str(n["dst"])]
    return [str(n["dst"]) for n in sorted(entries, key=lambda n: "FAILED" in n.get("state", []))]


def vxlan_remote(link: Link) -> str:
    if link.vxlan and link.vxlan.remote:
        return link.vxlan.remote
    for e in _json(["bridge", "-j", "fdb", "show", "dev", link.name]):
        if e.get("dst"):
            return str(e["dst"])
    return ""


def dhcp_client_ifaces(names: Iterable[str], proc: Path = Path("/proc")) -> list[str]:
    """Interfaces (of `names`) that a DHCP client process of THIS network namespace runs for.

    The process list is machine-wide and interface names repeat across namespaces (every
    container has an eth0), so a client counts only when /proc/PID/ns/net is our own namespace."""
    known = set(names)
    try:
        mine = os.readlink(proc / "self" / "ns" / "net")
    except OSError:
        return []
    found: list[str] = []
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() not in DHCP_CLIENTS:
                continue
            if os.readlink(d / "ns" / "net") != mine:
                continue
            args = (d / "cmdline").read_bytes().split(b"\0")[1:]
        except OSError:
            continue
        for a in args:
            name = a.decode(errors="replace")
            if name in known and name not in found:
                found.append(name)
    return found


def onlink_peer(peer: str) -> str | None:
    """The interface toward `peer` when it is on a directly connected IPv4 network (no gateway):
    then ARP shows every MAC that answers for it (two: a duplicate address)."""
    from netsleuth.probes.route import route_to

    try:
        if ipaddress.ip_address(peer).version != 4:
            return None
    except ValueError:
        return None
    r = route_to(peer)
    if r is None or r.gateway or not r.dev or r.dev == "lo":
        return None
    return r.dev


def _alive(target: str, wait_s: float = 1.0) -> bool:
    return any(o.kind is Kind.REPLY for o in ping(target, count=2, wait_s=wait_s))


def probe_vxlan(link: Link, overlay: str, wait_s: float = 1.0) -> EchoProbe:
    """Underlay: ping the VXLAN remote; overlay: ping an address behind the tunnel."""
    remote = vxlan_remote(link)
    port = link.vxlan.port if link.vxlan else 4789
    res = EchoProbe(remote, port, "udp", 0, 0, device=link.name, overlay_target=overlay)
    res.icmp_ok = _alive(remote, wait_s) if remote else None
    outs = ping(overlay, count=3, wait_s=wait_s)
    res.sent = len(outs)
    res.answered = sum(1 for o in outs if o.kind is Kind.REPLY)
    res.overlay_ok = res.answered > 0
    return res


def _tunnel_for(peer: str, all_links: list[Link]) -> Link | None:
    from netsleuth.probes.route import route_to

    r = route_to(peer)
    if r is None:
        return None
    by = {lnk.name: lnk for lnk in all_links}
    dev = by.get(r.dev)
    if dev is None:
        return None
    if dev.kind == "vxlan":
        return dev
    return next((lnk for lnk in all_links if lnk.master == dev.name and lnk.kind == "vxlan"), None)


def add_probes(bundle: Bundle, peers: tuple[str, ...] = (), budget_s: float = BUDGET_S) -> None:
    """Run the default cheap probes, and the probes toward each --peer; append their evidence."""
    from netsleuth.probes.dns import probe_dns
    from netsleuth.probes.mtu import probe_mtu

    root = os.geteuid() == 0
    jobs: list[tuple[str, str, Callable[[], Any]]] = [
        ("dns", "resolv.conf", partial(probe_dns, None, timeout=1.5, use_ping=root))
    ]
    all_links = links()
    if root:
        from netsleuth.probes.frames import probe_arp, probe_dhcp

        own = own_addresses()
        for addr, dev in list(own.items())[:MAX_DAD]:
            jobs.append(("arp", addr, partial(probe_arp, addr, dev, count=1, wait_s=0.7, own=True)))
        up = [lnk.name for lnk in all_links if lnk.admin_up and lnk.name != "lo"]
        for dev in dhcp_client_ifaces(up)[:MAX_DHCP]:  # DISCOVER only: no lease is taken
            jobs.append(("dhcp", dev, partial(probe_dhcp, dev, wait_s=DHCP_WAIT_S, count=2)))
        for lnk in all_links:
            if lnk.kind == "vxlan" and lnk.admin_up:
                overlay = vxlan_overlay(lnk.name)
                if overlay and vxlan_remote(lnk):
                    jobs.append(("vxlan", lnk.name, partial(probe_vxlan, lnk, overlay[0])))
        for peer in peers:
            jobs.append(("mtu", peer, partial(probe_mtu, peer, wait_s=0.5, retries=2)))
            on_link = onlink_peer(peer) if peer not in own else None
            if on_link is not None:
                jobs.append(("arp", peer, partial(probe_arp, peer, on_link, count=2, wait_s=0.7)))
            tunnel = _tunnel_for(peer, all_links)
            if tunnel is not None:
                jobs.append(("vxlan", peer, partial(probe_vxlan, tunnel, peer)))
    else:
        for peer in peers:
            bundle.add(run.skipped("mtu", peer, "needs root (raw ICMP socket)", "netsleuth diagnose --peer"))
        bundle.notes.append(Msg("probes_need_root"))
    for peer in peers:
        try:
            ipaddress.ip_address(peer)
        except ValueError:
            bundle.notes.append(Msg("peer_not_ip", {"peer": peer}))
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {pool.submit(fn): (kind, key) for kind, key, fn in jobs}
        done, pending = wait(futures, timeout=budget_s)
        for fut in done:
            kind, key = futures[fut]
            try:
                result = fut.result()
            except (OSError, ValueError) as exc:
                bundle.add(run.skipped(kind, key, str(exc), "netsleuth diagnose (probe)"))
                continue
            bundle.add(run.evidence(kind, result, "netsleuth diagnose (probe)", time.monotonic() - start))
        for fut in pending:
            kind, key = futures[fut]
            fut.cancel()
            bundle.add(
                Evidence(
                    f"probe.{kind}",
                    run.Status.TIMEOUT,
                    source="netsleuth diagnose (probe)",
                    key=key,
                    error=f"over the {budget_s:g} s probe budget",
                )
            )


MAX_NETNS_PARALLEL = 8
NETNS_BUDGET_S = 9.0  # the probes inside one namespace; the child process gets a little more


def _evidence_json(ev: Evidence) -> dict[str, Any]:
    return {
        "name": ev.name,
        "status": ev.status.value,
        "text": ev.text,
        "source": ev.source,
        "key": ev.key,
        "error": ev.error,
        "duration_s": ev.duration_s,
    }


def _probe_netns(ns: str, peers: tuple[str, ...], budget_s: float) -> tuple[list[Evidence], list[Note]]:
    """Run the default probes inside namespace `ns` (`ip netns exec`: its own links, addresses and
    /etc/netns/NS/resolv.conf) in a child process, killed at the deadline; evidence scoped to ns."""
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "netsleuth.probes.default"]
    cmd += ["--budget", f"{budget_s:g}", *(a for p in peers for a in ("--peer", p))]
    source = f"netsleuth diagnose (probe in netns {ns})"
    ran = process.run(cmd, budget_s + 2.5)
    if ran.failed is not None:
        failed = run.skipped("netns", ns, f"cannot start the probes: {ran.failed.strerror}", source)
        failed.netns = ns
        return [failed], []
    if ran.timed_out:
        return [
            Evidence(
                "probe.netns", run.Status.TIMEOUT, source=source, key=ns, netns=ns, error="probes over budget"
            )
        ], []
    try:
        data = json.loads(ran.text())
        items = [
            Evidence(
                str(d["name"]),
                run.Status(d["status"]),
                text=str(d["text"]),
                source=source,
                key=str(d["key"]),
                error=str(d["error"]),
                duration_s=float(d["duration_s"]),
                netns=ns,
            )
            for d in data["evidence"]
        ]
        return items, [Msg("in_netns", {"netns": ns, "note": note_of(n)}) for n in data["notes"]]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        why = (ran.err_text().strip().splitlines() or ["no output"])[-1]
        return [
            Evidence("probe.netns", run.Status.ERROR, source=source, key=ns, netns=ns, error=why[:200])
        ], []


def add_netns_probes(
    bundle: Bundle,
    namespaces: Iterable[str],
    peers: tuple[str, ...] = (),
    budget_s: float = BUDGET_S,
) -> None:
    """The default probes of each analysed namespace, run inside it; evidence in its scope.

    HOST (the namespace netsleuth runs in) probes here, every other one in a child process under
    `ip netns exec` (at most MAX_NETNS_PARALLEL at once, all within `budget_s`)."""
    names = [ns for ns in namespaces if ns]
    deadline = time.monotonic() + budget_s
    inner = min(NETNS_BUDGET_S, budget_s - 2.5)
    pool = ThreadPoolExecutor(max_workers=MAX_NETNS_PARALLEL)
    try:
        futures = {pool.submit(_probe_netns, ns, peers, inner): ns for ns in names}
        if HOST in namespaces:
            add_probes(bundle, peers, budget_s=inner)
        _done, pending = wait(futures, timeout=max(0.1, deadline - time.monotonic()))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a late child is killed by its own timeout
    for fut, ns in futures.items():
        if fut in pending:
            bundle.add(
                Evidence(
                    "probe.netns",
                    run.Status.TIMEOUT,
                    source=f"netsleuth diagnose (probe in netns {ns})",
                    key=ns,
                    netns=ns,
                    error=f"not done within the {budget_s:g} s probe budget",
                )
            )
            continue
        items, notes = fut.result()
        for ev in items:
            bundle.add(ev)
        bundle.notes.extend(notes)


def main(argv: list[str] | None = None) -> None:
    """Child side of add_netns_probes: probe this namespace, print the evidence as JSON."""
    import argparse

    ap = argparse.ArgumentParser(prog="netsleuth.probes.default")
    ap.add_argument("--budget", type=float, default=NETNS_BUDGET_S)
    ap.add_argument("--peer", action="append", default=[])
    args = ap.parse_args(argv)
    b = Bundle(source="probe")
    add_probes(b, tuple(args.peer), budget_s=args.budget)
    json.dump(
        {"evidence": [_evidence_json(ev) for ev in b.items], "notes": [note_json(n) for n in b.notes]},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
