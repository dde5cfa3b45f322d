"""Collect this host's evidence live: every command at once, each bounded, counters sampled twice."""

import json
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, List, Optional, Sequence

from netsleuth.collector import batch, collectors
from netsleuth.collector.model import DENIED, ERROR, HOST, MISSING, Record, Spec
from netsleuth.collector.runner import read_file, run

Progress = Callable[[Record], None]


class Options:
    def __init__(
        self,
        timeout: float = 2.0,
        interval: float = 1.0,
        scopes: Sequence[str] = (HOST,),
        workers: int = 16,
        redact: bool = True,
    ) -> None:
        self.timeout = timeout  # per command
        self.interval = interval  # between the two samples of counters
        self.scopes = tuple(scopes)  # network namespaces to look inside (HOST = ours)
        self.workers = workers
        self.redact = redact  # mask credentials in command lines (redact.py)


class Collected:
    """What one collection found: the records and what a bundle's meta.json says of them."""

    def __init__(
        self,
        records: List[Record],
        hostname: str,
        kernel: str,
        collected_at: str,
        scopes: List[str],
        notes: Optional[List[str]] = None,
    ) -> None:
        self.records = records
        self.hostname = hostname
        self.kernel = kernel
        self.collected_at = collected_at
        self.scopes = scopes
        self.notes = list(notes or [])  # what the collection could not give, or changed (redaction)


def list_netns(timeout: float = 2.0) -> List[str]:
    """Names of the named network namespaces (`ip netns list`)."""
    rec = run("ip.netns", ["ip", "netns", "list"], timeout)
    return [line.split()[0] for line in rec.text.splitlines() if line.strip()] if rec.ok else []


def collect_spec(spec: Spec, timeout: float, netns: str, key: str = "", **subst: str) -> List[Record]:
    """One catalogue entry collected now, inside network namespace `netns` (HOST: ours)."""
    if spec.collector == "tail":
        return collectors.tail(spec.name, spec.files(), timeout, netns)
    if spec.collector:
        fn: Callable[[str, float, str], Record] = getattr(collectors, spec.collector)
        return [fn(spec.name, timeout, netns)]
    if spec.file:
        if "*" in spec.file:
            return _read_glob(spec, timeout, netns)
        return [read_file(spec.name, spec.files()[0], timeout, netns, key)]
    rec = run(spec.name, spec.argv(**subst), timeout, netns, key)
    if spec.fallback and rec.status in (MISSING, DENIED, ERROR):
        alt = run(spec.name, spec.fallback.split(), timeout, netns, key)
        if alt.ok:
            return [alt]
    return [rec]


def _read_glob(spec: Spec, timeout: float, netns: str) -> List[Record]:
    import glob
    import os

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

    def __init__(self, specs: Sequence[Spec], opts: Options, progress: Optional[Progress] = None) -> None:
        self.specs = list(specs)
        self.opts = opts
        self.progress = progress
        self.records: List[Record] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="collect")
        self._pending: "List[Future[Any]]" = []

    def _store(self, items: List[Record]) -> None:
        with self._lock:
            self.records.extend(items)
        if self.progress:
            for rec in items:
                self.progress(rec)

    def _submit(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._pending.append(self._pool.submit(fn))

    def _job(self, spec: Spec, netns: str, key: str = "", **subst: str) -> None:
        t0 = time.monotonic()
        items = collect_spec(spec, self.opts.timeout, netns, key, **subst)
        # expand before waiting for the second sample, so per-NIC counters start at once
        if spec.name == "ip.link":
            self._expand_nics(netns, items)
        elif spec.name == "ovs.list_br":
            self._expand_bridges(items)
        if spec.sampled and items and all(rec.ok for rec in items):
            # second sample `interval` after the first: rates, not lifetime totals
            time.sleep(max(0.0, t0 + self.opts.interval - time.monotonic()))
            t1 = time.monotonic()
            by_key = {rec.key: rec for rec in collect_spec(spec, self.opts.timeout, netns, key, **subst)}
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
        items = [
            batch.Item(s.name, ["cat", s.files()[0]], s.files()[0], True)
            if s.file
            else batch.Item(s.name, s.argv(), s.live)
            for s in specs
        ]
        sampled = {s.name for s in specs if s.sampled}
        t0 = time.monotonic()
        first = batch.run_batch(items, self.opts.timeout, netns)
        links = [rec for rec in first if rec.name == "ip.link"]
        if links:
            self._expand_nics(netns, links)
        again = [(it, rec) for it, rec in zip(items, first) if rec.ok and it.name in sampled]
        if again:
            time.sleep(max(0.0, t0 + self.opts.interval - time.monotonic()))
            t1 = time.monotonic()
            second = batch.run_batch([it for it, _ in again], self.opts.timeout, netns)
            for (_, rec), later in zip(again, second):
                if later.ok:
                    rec.later, rec.interval_s = later.text, round(t1 - t0, 3)
        self._store(first)

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


def collect(specs: Sequence[Spec], opts: Options, progress: Optional[Progress] = None) -> Collected:
    """Collect this host's evidence (credentials masked unless `opts.redact` is off)."""
    from netsleuth.collector.redact import redact_records

    got = LiveCollector(specs, opts, progress).collect()
    if opts.redact:
        _, note = redact_records(got.records)
        if note:
            got.notes.append(note)
    return got
