"""Collect this host's evidence live: every command at once, each bounded, counters sampled twice."""

import json
import math
import os
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from netsleuth.collector import batch, collectors
from netsleuth.collector.containers import ovs_container, parse_container_ps
from netsleuth.collector.kmods import KernelModules, kernel_modules
from netsleuth.collector.model import DENIED, ERROR, HOST, MISSING, Record, Spec
from netsleuth.collector.runner import read_file, run

Progress = Callable[[Record], None]
Reader = Callable[[Spec, float, str], List[Record]]  # (spec, timeout, netns) -> its records


class Options:
    def __init__(
        self,
        timeout: float = 2.0,
        interval: float = 1.0,
        scopes: Sequence[str] = (HOST,),
        workers: int = 16,
        redact: bool = True,
        second_sample: bool = True,
        readers: Optional[Mapping[str, "Reader"]] = None,
    ) -> None:
        self.timeout = timeout  # per command
        self.interval = interval  # between the two samples of counters
        self.scopes = tuple(scopes)  # network namespaces to look inside (HOST = ours)
        self.workers = workers
        self.redact = redact  # mask credentials in command lines (redact.py)
        self.second_sample = second_sample  # False: counters sampled once (watch pairs them across cycles)
        self.readers = readers  # evidence read another way, by name (watch: only what is new)


class Collected:
    """What one collection found: the records and what a bundle's meta.json says of them."""

    def __init__(
        self,
        records: List[Record],
        hostname: str,
        kernel: str,
        collected_at: str,
        scopes: List[str],
        notes: Optional[List[Any]] = None,
    ) -> None:
        self.records = records
        self.hostname = hostname
        self.kernel = kernel
        self.collected_at = collected_at
        self.scopes = scopes
        # what the collection could not give, or changed (redaction): a text, or wording the report
        # puts in its own language ({"msg": key, "params": {...}})
        self.notes = list(notes or [])  # type: List[Any]


def list_netns(timeout: float = 2.0) -> List[str]:
    """Names of the named network namespaces (`ip netns list`)."""
    rec = run("ip.netns", ["ip", "netns", "list"], timeout)
    return [line.split()[0] for line in rec.text.splitlines() if line.strip()] if rec.ok else []


OVS_TOOLS = frozenset({"ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ovs-dpctl"})


def not_run(spec: Spec, netns: str, why: str, key: str = "") -> Record:
    """The evidence of a command netsleuth chose not to run (it would change the host)."""
    return Record(
        spec.name, MISSING, source=spec.live or spec.file, netns=netns, key=key, error="not run: " + why
    )


def collect_spec(
    spec: Spec,
    timeout: float,
    netns: str,
    key: str = "",
    mods: Optional[KernelModules] = None,
    inside: Sequence[str] = (),
    **subst: str,
) -> List[Record]:
    """One catalogue entry collected now, inside network namespace `netns` (HOST: ours).

    A command whose kernel modules (`kmods`) are not loaded is not run. `inside` runs an Open
    vSwitch tool in the container that owns it (`docker exec NAME`), bounded by the tool's own
    `--timeout` so nothing is left running in the container when the exec is killed."""
    if spec.kmods:
        why = (mods or kernel_modules()).allows(spec.kmods)
        if why:
            return [not_run(spec, netns, why, key)]
    if spec.collector == "tail":
        files = spec.files()
        if spec.log_of:
            files += [f for f in collectors.log_files_of(spec.log_of) if f not in files]
        return collectors.tail(spec.name, files, timeout, netns)
    if spec.collector:
        fn: Callable[[str, float, str], Record] = getattr(collectors, spec.collector)
        return [fn(spec.name, timeout, netns)]
    if spec.file:
        if "*" in spec.file:
            return _read_glob(spec, timeout, netns)
        if spec.each:
            return _read_each(spec, timeout, netns)
        return [read_file(spec.name, spec.files()[0], timeout, netns, key)]
    argv = spec.argv(**subst)
    if inside:
        argv = [*inside, argv[0], "--timeout={}".format(max(1, math.ceil(timeout))), *argv[1:]]
    rec = run(spec.name, argv, timeout, netns, key)
    if spec.fallback and rec.status in (MISSING, DENIED, ERROR):
        alt = run(spec.name, spec.fallback.split(), timeout, netns, key)
        if alt.ok:
            return [alt]
    return [rec]


def _read_each(spec: Spec, timeout: float, netns: str) -> List[Record]:
    """Every file of the entry that exists, keyed by its name."""
    found = [read_file(spec.name, f, timeout, netns, key=os.path.basename(f)) for f in spec.files()]
    there = [r for r in found if r.status != MISSING]
    return there or [
        Record(spec.name, MISSING, source=spec.file, netns=netns, error="none of these files exists")
    ]


def _gone(rec: Record) -> bool:
    """The tool itself is not installed (not: it failed)."""
    return rec.status == MISSING and rec.error.endswith("not installed")


def _read_glob(spec: Spec, timeout: float, netns: str) -> List[Record]:
    import glob

    if netns == HOST:
        paths = sorted(glob.glob(spec.file))
        return [read_file(spec.name, p, timeout, netns, key=os.path.basename(p)) for p in paths]
    listing = run(spec.name, ["sh", "-c", "ls -1d {} 2>/dev/null".format(spec.file)], timeout, netns)
    return [
        read_file(spec.name, p, timeout, netns, key=os.path.basename(p))
        for p in listing.text.split()
        if p and "*" not in p
    ]


def nics(ip_link_json: str) -> List[str]:
    """Physical NICs (on a bus: PCI, USB, virtio) and bond members of `ip -j -d link`: the links
    per-NIC evidence (ethtool) is collected for, never the hundreds of tap/qvo ports.

    >>> nics('[{"ifname": "lo", "flags": ["LOOPBACK"], "link_type": "loopback"},'
    ...      ' {"ifname": "eno1", "link_type": "ether", "parentbus": "pci"},'
    ...      ' {"ifname": "tap1", "link_type": "ether", "linkinfo": {"info_kind": "tun"}},'
    ...      ' {"ifname": "p1", "link_type": "ether", "linkinfo": {"info_kind": "veth", "info_slave_kind": "bond"}}]')
    ['eno1', 'p1']
    """
    try:
        data = json.loads(ip_link_json)
    except ValueError:
        return []
    found = []
    for d in data if isinstance(data, list) else []:
        if not isinstance(d, dict) or "ifname" not in d:
            continue
        info = d.get("linkinfo") or {}
        loopback = "LOOPBACK" in (d.get("flags") or []) or d.get("link_type") == "loopback"
        physical = (
            not loopback
            and d.get("link_type", "ether") == "ether"
            and bool(d.get("parentbus") or not info.get("info_kind"))
        )
        if physical or info.get("info_slave_kind") == "bond":
            found.append(str(d["ifname"]))
    return found


class LiveCollector:
    """Runs the catalogue against this host. Commands run concurrently, each with its own timeout;
    the slowest hung command costs its timeout once, not once per command."""

    def __init__(
        self,
        specs: Sequence[Spec],
        opts: Options,
        progress: Optional[Progress] = None,
        mods: Optional[KernelModules] = None,
    ) -> None:
        self.specs = list(specs)
        self.opts = opts
        self.progress = progress
        self.records: List[Record] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="collect")
        self._pending: "List[Future[Any]]" = []
        self.mods = mods or kernel_modules()
        self._ovs_lock = threading.Lock()
        self._ovs_inside: Optional[Tuple[str, ...]] = None  # `docker exec NAME` of the OVS container

    def _store(self, items: List[Record]) -> None:
        with self._lock:
            self.records.extend(items)
        if self.progress:
            for rec in items:
                self.progress(rec)

    def _submit(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._pending.append(self._pool.submit(fn))

    def _ovs_route(self) -> Tuple[str, ...]:
        """How to reach Open vSwitch when its tools are not on this host: `docker exec NAME` (or
        podman) of the container that runs it (kolla-ansible, TripleO); () when none does."""
        with self._ovs_lock:
            if self._ovs_inside is None:
                self._ovs_inside = ()
                for runtime in ("docker", "podman"):
                    rec = run("containers." + runtime, [runtime, "ps"], self.opts.timeout)
                    ctr = ovs_container(parse_container_ps(rec.text)) if rec.ok else None
                    if ctr is not None:
                        self._ovs_inside = (runtime, "exec", ctr.name)
                        break
            return self._ovs_inside

    def _job(self, spec: Spec, netns: str, key: str = "", **subst: str) -> None:
        t0 = time.monotonic()
        inside: Tuple[str, ...] = ()
        reader = self.opts.readers.get(spec.name) if self.opts.readers else None
        if reader is not None:  # watch: only what is new since the last cycle
            items = reader(spec, self.opts.timeout, netns)
        else:
            items = collect_spec(spec, self.opts.timeout, netns, key, self.mods, **subst)
        if spec.tool in OVS_TOOLS and netns == HOST and items and _gone(items[0]):
            inside = self._ovs_route()
            if inside:
                items = collect_spec(spec, self.opts.timeout, netns, key, self.mods, inside, **subst)
        # expand before waiting for the second sample, so per-NIC counters start at once
        if spec.name == "ip.link":
            self._expand_nics(netns, items)
        elif spec.name == "ovs.list_br":
            self._expand_bridges(items)
        if spec.sampled and self.opts.second_sample and items and all(rec.ok for rec in items):
            # second sample `interval` after the first: rates, not lifetime totals
            time.sleep(max(0.0, t0 + self.opts.interval - time.monotonic()))
            t1 = time.monotonic()
            again = collect_spec(spec, self.opts.timeout, netns, key, self.mods, inside, **subst)
            by_key = {rec.key: rec for rec in again}
            for rec in items:
                later = by_key.get(rec.key)
                if later is not None and later.ok:
                    rec.later, rec.interval_s = later.text, round(t1 - t0, 3)
        self._store(items)

    def _expand_nics(self, netns: str, items: List[Record]) -> None:
        rec = items[0] if items else None
        if rec is None or not rec.ok:
            return
        per_nic = [s for s in self.specs if s.per == "nic"]
        for nic in nics(rec.text):
            for s in per_nic:
                self._submit(partial(self._job, s, netns, key=nic, iface=nic))

    def _expand_bridges(self, items: List[Record]) -> None:
        rec = items[0] if items else None
        if rec is None or not rec.ok:
            return
        per_br = [s for s in self.specs if s.per == "ovs_bridge"]
        for br in rec.text.split():
            for s in per_br:
                self._submit(partial(self._job, s, HOST, key=br, bridge=br))

    def _batch_job(self, netns: str, specs: List[Spec]) -> None:
        """All plain commands and files of one other namespace in one `ip netns exec`."""
        items: List[batch.Item] = []
        skipped: List[Record] = []
        for s in specs:
            why = self.mods.allows(s.kmods)
            if why:
                skipped.append(not_run(s, netns, why))
            elif s.each:
                items += [batch.Item(s.name, ["cat", f], f, True) for f in s.files()]
            elif s.file:
                items.append(batch.Item(s.name, ["cat", s.files()[0]], s.files()[0], True))
            else:
                items.append(batch.Item(s.name, s.argv(), s.live))
        sampled = {s.name for s in specs if s.sampled}
        t0 = time.monotonic()
        first = batch.run_batch(items, self.opts.timeout, netns)
        links = [rec for rec in first if rec.name == "ip.link"]
        if links:
            self._expand_nics(netns, links)
        again = [
            (it, rec)
            for it, rec in zip(items, first)
            if rec.ok and it.name in sampled and self.opts.second_sample
        ]
        if again:
            time.sleep(max(0.0, t0 + self.opts.interval - time.monotonic()))
            t1 = time.monotonic()
            second = batch.run_batch([it for it, _ in again], self.opts.timeout, netns)
            for (_, rec), later in zip(again, second):
                if later.ok:
                    rec.later, rec.interval_s = later.text, round(t1 - t0, 3)
        self._store(self._each_keyed(first, skipped))

    def _each_keyed(self, recs: List[Record], skipped: List[Record]) -> List[Record]:
        """Pieces of `each` entries keyed by their file's name; absent files dropped (one
        `missing` piece when none of an entry's files exists)."""
        out = list(skipped)
        each = {s.name: s for s in self.specs if s.each}
        seen: Dict[str, bool] = {}
        for rec in recs:
            if rec.name not in each:
                out.append(rec)
                continue
            seen.setdefault(rec.name, False)
            if rec.status != MISSING:
                rec.key = os.path.basename(rec.source)
                seen[rec.name] = True
                out.append(rec)
        for name, any_there in seen.items():
            if not any_there:
                spec = each[name]  # (a local: vermin takes `each[name].file` for Python 2's `file`)
                out.append(
                    Record(
                        name,
                        MISSING,
                        source=spec.file,
                        netns=recs[0].netns,
                        error="none of these files exists",
                    )
                )
        return out

    def collect(self) -> Collected:
        started = datetime.now(timezone.utc)
        batched = batch.available()
        try:
            for spec in self.specs:
                if spec.per:
                    continue  # expanded once the links / bridges are known
                scopes = (HOST,) if spec.scope == "host" else self.opts.scopes
                for netns in scopes:
                    if batched and netns != HOST and spec.batchable():
                        continue  # collected by the namespace's batch below
                    self._submit(partial(self._job, spec, netns))
            if batched:
                plain = [s for s in self.specs if s.scope == "netns" and not s.per and s.batchable()]
                # counters in a batch of their own: their second sample is not held back by a slow
                # command (`sysctl -a` among 600 interfaces takes a second, a hung one its timeout)
                sampled = [s for s in plain if s.sampled]
                rest = [s for s in plain if not s.sampled]
                for netns in self.opts.scopes:
                    if netns != HOST:
                        for specs in (sampled, rest):
                            if specs:
                                self._submit(partial(self._batch_job, netns, specs))
            # wait for everything, including jobs submitted by expansions
            done = 0
            while True:
                with self._lock:
                    waiting = self._pending[done:]
                if not waiting:
                    break
                for fut in waiting:
                    fut.result()
                done += len(waiting)
        finally:
            self._pool.shutdown(wait=True)
        by_name = {(r.name, r.netns, r.key): r for r in self.records}
        host = by_name.get(("hostname", HOST, ""))
        uname = by_name.get(("uname", HOST, ""))
        words = uname.text.split() if uname is not None and uname.ok else []
        self.records.sort(key=lambda r: (r.netns, r.name, r.key))
        return Collected(
            self.records,
            host.text.strip() if host is not None and host.ok else socket.gethostname(),
            words[2] if len(words) > 2 else "",
            started.isoformat(timespec="seconds"),
            list(self.opts.scopes),
        )


def collect(
    specs: Sequence[Spec],
    opts: Options,
    progress: Optional[Progress] = None,
    mods: Optional[KernelModules] = None,
) -> Collected:
    """Collect this host's evidence (credentials masked unless `opts.redact` is off). Commands whose
    kernel modules are not loaded (`mods`, default: this host's) are not run."""
    from netsleuth.collector.redact import redact_records

    got = LiveCollector(specs, opts, progress, mods).collect()
    if opts.redact:
        _, note = redact_records(got.records)
        if note:
            got.notes.append(note)
    return got
