"""What `netsleuth trace` needs to know about this host to derive a path, read lazily: links,
addresses and routes of only the namespaces the path crosses, the netnsid -> name map of only those
namespaces, and Open vSwitch's bridges/ports/interfaces (one bounded `ovs-vsctl` call, made only when
a hop may be an OVS port).

Every command goes through a `Runner`: the live one runs it (with a timeout, in its own process
group); `Recorded` replays outputs captured from a real host (unit tests) — `Host.log` holds what a
live run saw, in exactly that form."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netsleuth import process

IP_TIMEOUT = 5.0
OVS_TIMEOUT = 3.0
OVS_SNAPSHOT = [
    "--format=json",
    "--",
    "--columns=name,ports",
    "list",
    "Bridge",
    "--",
    "--columns=_uuid,name,interfaces",
    "list",
    "Port",
    "--",
    "--columns=_uuid,name,type,options,mac_in_use",
    "list",
    "Interface",
]


@dataclass(frozen=True)
class Ran:
    rc: int  # 124 = timed out, 127 = not installed
    out: str
    err: str


Runner = Callable[[list[str], float], Ran]


def run_live(argv: list[str], timeout: float) -> Ran:
    """Run `argv` bounded by `timeout`; on expiry the whole process group is killed (a hung
    ovsdb-server must not hang trace)."""
    r = process.run(argv, timeout)
    if isinstance(r.failed, FileNotFoundError):
        return Ran(127, "", f"{argv[0]} is not installed")
    if r.failed is not None:
        return Ran(126, "", f"{argv[0]}: {r.failed.strerror or r.failed}")
    if r.rc is None:
        return Ran(124, "", f"timed out after {timeout:g} s")
    return Ran(r.rc, r.text(), r.err_text())


class Recorded:
    """Replays `{"argv joined by spaces": {"rc", "out", "err"}}` captured by `Host.log`."""

    def __init__(self, commands: dict[str, dict[str, Any]]) -> None:
        self.commands = commands
        self.asked: list[str] = []

    def __call__(self, argv: list[str], timeout: float) -> Ran:
        key = " ".join(argv)
        self.asked.append(key)
        got = self.commands.get(key)
        if got is None:
            return Ran(1, "", f"not recorded: {key}")
        return Ran(int(got["rc"]), str(got["out"]), str(got["err"]))


@dataclass
class OvsIface:
    name: str
    bridge: str
    type: str  # "" (system), internal, patch, vxlan, geneve, gre, tap, ...
    options: dict[str, str]
    mac: str = ""  # mac_in_use: tells this device from a namesake in another namespace


def parse_ovs_snapshot(text: str) -> dict[str, OvsIface]:
    """interface name -> its bridge, type and options, from the three JSON tables of `OVS_SNAPSHOT`.

    >>> t = ('{"data":[["br0",["set",[["uuid","p1"],["uuid","p2"]]]]],"headings":["name","ports"]}\\n'
    ...      '{"data":[[["uuid","p1"],"pa",["uuid","i1"]],[["uuid","p2"],"br0",["uuid","i2"]]],'
    ...      '"headings":["_uuid","name","interfaces"]}\\n'
    ...      '{"data":[[["uuid","i1"],"pa","",["map",[]]],[["uuid","i2"],"br0","internal",["map",[["k","v"]]]]],'
    ...      '"headings":["_uuid","name","type","options"]}\\n')
    >>> sorted((i.name, i.bridge, i.type, i.options) for i in parse_ovs_snapshot(t).values())
    [('br0', 'br0', 'internal', {'k': 'v'}), ('pa', 'br0', '', {})]
    """
    dec = json.JSONDecoder()
    tables: list[list[dict[str, Any]]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        obj, end = dec.raw_decode(text, pos)
        heads = obj["headings"]
        tables.append([dict(zip(heads, row, strict=True)) for row in obj["data"]])
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if len(tables) != 3:
        raise ValueError(f"expected 3 tables from ovs-vsctl, got {len(tables)}")
    bridges, ports, ifaces = tables

    def uuids(v: Any) -> list[str]:
        if v[0] == "uuid":
            return [str(v[1])]
        return [str(u[1]) for u in v[1]] if v[0] == "set" else []

    port_br = {p: str(b["name"]) for b in bridges for p in uuids(b["ports"])}
    iface_br = {
        i: port_br[str(p["_uuid"][1])]
        for p in ports
        if str(p["_uuid"][1]) in port_br
        for i in uuids(p["interfaces"])
    }
    out: dict[str, OvsIface] = {}
    for i in ifaces:
        br = iface_br.get(str(i["_uuid"][1]))
        if br is None:
            continue
        opts = {str(k): str(v) for k, v in i["options"][1]}
        mac = i.get("mac_in_use", "")
        mac = str(mac) if isinstance(mac, str) else ""
        out[str(i["name"])] = OvsIface(str(i["name"]), br, str(i["type"]), opts, mac)
    return out


@dataclass
class Ns:
    """One namespace's links and addresses ("" = the namespace netsleuth runs in)."""

    name: str
    links: list[dict[str, Any]] = field(default_factory=list)
    addrs: set[str] = field(default_factory=set)
    addr_dev: set[tuple[str, str]] = field(default_factory=set)  # (address, device); no IPv6 link-local

    def by_name(self, name: str) -> dict[str, Any] | None:
        return next((lk for lk in self.links if lk.get("ifname") == name), None)

    def by_index(self, idx: int) -> dict[str, Any] | None:
        return next((lk for lk in self.links if lk.get("ifindex") == idx), None)

    def addr_of(self, name: str) -> set[str]:
        return {a for a, dev in self.addr_dev if dev == name}


class Host:
    """Lazy, cached view of the host: a namespace is read the first time the path reaches it."""

    def __init__(self, run: Runner = run_live, ovs_timeout: float = OVS_TIMEOUT) -> None:
        self.run = run
        self.ovs_timeout = ovs_timeout
        self.spaces: dict[str, Ns | None] = {}
        self.nsid_maps: dict[str, dict[int, str]] = {}
        self.log: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []
        self._ovs: dict[str, OvsIface] | None = None
        self.ovs_problem: str | None = None  # set once ovs-vsctl was asked and could not answer

    def _cmd(self, argv: list[str], timeout: float = IP_TIMEOUT) -> Ran:
        r = self.run(argv, timeout)
        self.log[" ".join(argv)] = {"rc": r.rc, "out": r.out, "err": r.err}
        return r

    def ip_json(self, netns: str, *args: str) -> Any:
        r = self._cmd(["ip", *(["-n", netns] if netns else []), "-j", *args])
        if r.rc != 0:
            return None
        try:
            return json.loads(r.out or "[]")
        except ValueError:
            return None

    def ns(self, name: str) -> Ns | None:
        if name not in self.spaces:
            links = self.ip_json(name, "-d", "link", "show")
            if links is None:
                self.spaces[name] = None
            else:
                ns = Ns(name, list(links))
                for entry in self.ip_json(name, "addr", "show") or []:
                    for a in entry.get("addr_info", []):
                        # IPv4, and IPv6 but its link-local addresses (every interface has one)
                        if a.get("family") == "inet" or (
                            a.get("family") == "inet6" and a.get("scope") != "link"
                        ):
                            ns.addrs.add(str(a.get("local", "")))
                            ns.addr_dev.add((str(a.get("local", "")), str(entry.get("ifname", ""))))
                self.spaces[name] = ns
        return self.spaces[name]

    def route(self, netns: str, dest: str) -> dict[str, Any] | None:
        got = self.ip_json(netns, "route", "get", dest)
        return got[0] if got else None

    def nsid_name(self, netns: str, nsid: int) -> str | None:
        """The name of the namespace that `netns` knows as `nsid`: one `ip netns list-id` inside
        `netns` (ip resolves only the named namespaces, in one process), not a walk of every one."""
        if netns not in self.nsid_maps:
            got = self.ip_json(netns, "netns", "list-id") or []
            self.nsid_maps[netns] = {int(e["nsid"]): str(e["name"]) for e in got if e.get("name")}
        return self.nsid_maps[netns].get(nsid)

    def ovs(self) -> dict[str, OvsIface]:
        """Open vSwitch's interfaces, asked once with the caller's environment (OVS_RUNDIR...),
        bounded by `ovs_timeout`; {} with `ovs_problem` set when it cannot answer."""
        if self._ovs is None:
            t = self.ovs_timeout
            r = self._cmd(["ovs-vsctl", f"--timeout={max(1, int(t))}", *OVS_SNAPSHOT], timeout=t + 1)
            self._ovs = {}
            if r.rc == 127:
                self.ovs_problem = "ovs-vsctl is not installed"
            elif r.rc in (124, 142) or "timeout" in r.err.lower() or "alarm" in r.err.lower():
                self.ovs_problem = f"ovs-vsctl did not answer within {t:g} s (ovsdb-server hung or stopped?)"
            elif r.rc != 0:
                self.ovs_problem = f"ovs-vsctl failed: {r.err.strip()[:200]}"
            else:
                try:
                    self._ovs = parse_ovs_snapshot(r.out)
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    self.ovs_problem = f"cannot read ovs-vsctl's output: {exc}"
        return self._ovs
