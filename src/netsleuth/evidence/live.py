"""Collect this host's evidence live: every command at once, each bounded, counters sampled twice."""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from netsleuth.evidence import batch, collectors
from netsleuth.evidence.catalogue import Spec, catalogue
from netsleuth.evidence.kmods import KernelModules, kernel_modules
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.evidence.redact import redact_bundle
from netsleuth.evidence.runner import read_file, run
from netsleuth.parsers.docker import ovs_container, parse_container_ps

Progress = Callable[[Evidence], None]


@dataclass(frozen=True)
class CollectOptions:
    timeout: float = 2.0  # per command
    interval: float = 1.0  # between the two samples of counters
    scopes: tuple[str, ...] = (HOST,)  # network namespaces to look inside (HOST = ours)
    workers: int = 16
    redact: bool = True  # mask credentials in command lines (evidence/redact.py)


def list_netns(timeout: float = 2.0) -> list[str]:
    """Names of the named network namespaces (`ip netns list`)."""
    ev = run("ip.netns", ["ip", "netns", "list"], timeout)
    return [line.split()[0] for line in ev.text.splitlines() if line.strip()] if ev.ok else []


OVS_TOOLS = frozenset({"ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ovs-dpctl"})


def not_run(spec: Spec, netns: str, why: str, key: str = "") -> Evidence:
    """The evidence of a command netsleuth chose not to run (it would change the host)."""
    return Evidence(spec.name, Status.MISSING, source=spec.live or spec.file, netns=netns, key=key,
                    error=f"not run: {why}")  # fmt: skip


def collect_spec(
    spec: Spec,
    timeout: float,
    netns: str,
    key: str = "",
    mods: KernelModules | None = None,
    inside: Sequence[str] = (),
    **subst: str,
) -> list[Evidence]:
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
        files += [f for f in collectors.log_files_of(spec.log_of) if f not in files] if spec.log_of else []
        return collectors.tail(spec.name, files, timeout, netns)
    if spec.collector:
        fn: Callable[[str, float, str], Evidence] = getattr(collectors, spec.collector)
        return [fn(spec.name, timeout, netns)]
    if spec.file:
        if "*" in spec.file:
            return _read_glob(spec, timeout, netns)
        if spec.each:
            return _read_each(spec, timeout, netns)
        return [read_file(spec.name, spec.files()[0], timeout, netns, key)]
    argv = spec.argv(**subst)
    if inside:
        argv = [*inside, argv[0], f"--timeout={max(1, math.ceil(timeout))}", *argv[1:]]
    ev = run(spec.name, argv, timeout, netns, key)
    if spec.fallback and ev.status in (Status.MISSING, Status.DENIED, Status.ERROR):
        alt = run(spec.name, spec.fallback.split(), timeout, netns, key)
        if alt.ok:
            return [alt]
    return [ev]


def _read_each(spec: Spec, timeout: float, netns: str) -> list[Evidence]:
    """Every file of the entry that exists, keyed by its name."""
    found = [read_file(spec.name, f, timeout, netns, key=os.path.basename(f)) for f in spec.files()]
    there = [ev for ev in found if ev.status is not Status.MISSING]
    return there or [Evidence(spec.name, Status.MISSING, source=spec.file, netns=netns,
                              error="none of these files exists")]  # fmt: skip


def _read_glob(spec: Spec, timeout: float, netns: str) -> list[Evidence]:
    import glob

    if netns == HOST:
        paths = sorted(glob.glob(spec.file))
        return [read_file(spec.name, p, timeout, netns, key=os.path.basename(p)) for p in paths]
    listing = run(spec.name, ["sh", "-c", f"ls -1d {spec.file} 2>/dev/null"], timeout, netns)
    return [
        read_file(spec.name, p, timeout, netns, key=os.path.basename(p))
        for p in listing.text.split()
        if p and "*" not in p
    ]


def _batchable(spec: Spec) -> bool:
    """Plain commands and single files: what the per-namespace batch can run."""
    return (
        not spec.collector and not spec.fallback and ("*" not in spec.file) and bool(spec.live or spec.file)
    )


def _gone(ev: Evidence) -> bool:
    """The tool itself is not installed (not: it failed)."""
    return ev.status is Status.MISSING and ev.error.endswith("not installed")


class LiveCollector:
    """Runs the catalogue against this host. Commands run concurrently, each with its own timeout;
    the slowest hung command costs its timeout once, not once per command."""

    def __init__(self, opts: CollectOptions, progress: Progress | None = None) -> None:
        self.opts = opts
        self.progress = progress
        self.bundle = Bundle(source="live", namespaces=list(opts.scopes))
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="collect")
        self._pending: list[Future[None]] = []
        self.mods = kernel_modules()
        self._ovs_lock = threading.Lock()
        self._ovs_inside: tuple[str, ...] | None = None  # `docker exec NAME` of the OVS container

    def _store(self, items: list[Evidence]) -> None:
        with self._lock:
            for ev in items:
                self.bundle.add(ev)
        if self.progress:
            for ev in items:
                self.progress(ev)

    def _submit(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._pending.append(self._pool.submit(fn))

    def _ovs_route(self) -> tuple[str, ...]:
        """How to reach Open vSwitch when its tools are not on this host: `docker exec NAME` (or
        podman) of the container that runs it (kolla-ansible, TripleO); () when none does."""
        with self._ovs_lock:
            if self._ovs_inside is None:
                self._ovs_inside = ()
                for runtime in ("docker", "podman"):
                    ev = run(f"containers.{runtime}", [runtime, "ps"], self.opts.timeout)
                    ctr = ovs_container(parse_container_ps(ev.text)) if ev.ok else None
                    if ctr is not None:
                        self._ovs_inside = (runtime, "exec", ctr.name)
                        break
            return self._ovs_inside

    def _job(self, spec: Spec, netns: str, key: str = "", **subst: str) -> None:
        t0 = time.monotonic()
        inside: tuple[str, ...] = ()
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
        if spec.sampled and items and all(ev.ok for ev in items):
            # second sample `interval` after the first: rates, not lifetime totals
            time.sleep(max(0.0, t0 + self.opts.interval - time.monotonic()))
            t1 = time.monotonic()
            again = collect_spec(spec, self.opts.timeout, netns, key, self.mods, inside, **subst)
            by_key = {ev.key: ev for ev in again}
            for ev in items:
                later = by_key.get(ev.key)
                if later is not None and later.ok:
                    ev.later, ev.interval_s = later.text, round(t1 - t0, 3)
        self._store(items)

    def _expand_nics(self, netns: str, items: list[Evidence]) -> None:
        from netsleuth.parsers.iproute import parse_links

        ev = items[0] if items else None
        if ev is None or not ev.ok:
            return
        try:
            links = parse_links(ev.text)
        except ValueError:
            return
        per_nic = [s for s in catalogue().values() if s.per == "nic"]
        for link in links:
            if link.is_physical or link.is_bond_member:
                for s in per_nic:
                    self._submit(partial(self._job, s, netns, key=link.name, iface=link.name))

    def _expand_bridges(self, items: list[Evidence]) -> None:
        ev = items[0] if items else None
        if ev is None or not ev.ok:
            return
        per_br = [s for s in catalogue().values() if s.per == "ovs_bridge"]
        for br in ev.text.split():
            for s in per_br:
                self._submit(partial(self._job, s, HOST, key=br, bridge=br))

    def _batch_job(self, netns: str, specs: list[Spec]) -> None:
        """All plain commands and files of one other namespace in one `ip netns exec`."""
        items: list[batch.Item] = []
        skipped: list[Evidence] = []
        for s in specs:
            why = self.mods.allows(s.kmods)
            if why:
                skipped.append(not_run(s, netns, why))
            elif s.each:
                items += [batch.Item(s.name, ["cat", f], f, is_file=True) for f in s.files()]
            elif s.file:
                items.append(batch.Item(s.name, ["cat", s.files()[0]], s.files()[0], is_file=True))
            else:
                items.append(batch.Item(s.name, s.argv(), s.live))
        t0 = time.monotonic()
        first = batch.run_batch(items, self.opts.timeout, netns)
        links = [ev for ev in first if ev.name == "ip.link"]
        if links:
            self._expand_nics(netns, links)
        again = [
            (it, ev) for it, ev in zip(items, first, strict=True) if ev.ok and catalogue()[it.name].sampled
        ]
        if again:
            time.sleep(max(0.0, t0 + self.opts.interval - time.monotonic()))
            t1 = time.monotonic()
            second = batch.run_batch([it for it, _ in again], self.opts.timeout, netns)
            for (_, ev), later in zip(again, second, strict=True):
                if later.ok:
                    ev.later, ev.interval_s = later.text, round(t1 - t0, 3)
        self._store(_each_keyed(first, skipped))

    def collect(self) -> Bundle:
        started = datetime.now(UTC)
        batched = batch.available()
        try:
            for spec in catalogue().values():
                if spec.per:
                    continue  # expanded once the links / bridges are known
                scopes = (HOST,) if spec.scope == "host" else self.opts.scopes
                for netns in scopes:
                    if batched and netns != HOST and _batchable(spec):
                        continue  # collected by the namespace's batch below
                    self._submit(partial(self._job, spec, netns))
            if batched:
                plain = [
                    s for s in catalogue().values() if s.scope == "netns" and not s.per and _batchable(s)
                ]
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
        b = self.bundle
        b.collected_at = started.isoformat(timespec="seconds")
        host = b.get("hostname")
        b.hostname = host.text.strip() if host and host.ok else socket.gethostname()
        uname = b.get("uname")
        b.kernel = uname.text.split()[2] if uname and uname.ok and len(uname.text.split()) > 2 else ""
        b.items.sort(key=lambda ev: (ev.netns, ev.name, ev.key))
        return b


def _each_keyed(evs: list[Evidence], skipped: list[Evidence]) -> list[Evidence]:
    """Pieces of `each = true` entries keyed by their file's name; absent files dropped (one
    `missing` piece when none of an entry's files exists)."""
    out = list(skipped)
    each = {s.name for s in catalogue().values() if s.each}
    seen: dict[str, bool] = {}
    for ev in evs:
        if ev.name not in each:
            out.append(ev)
            continue
        seen.setdefault(ev.name, False)
        if ev.status is not Status.MISSING:
            ev.key = os.path.basename(ev.source)
            seen[ev.name] = True
            out.append(ev)
    for name, any_there in seen.items():
        if not any_there:
            out.append(Evidence(name, Status.MISSING, source=catalogue()[name].file, netns=evs[0].netns,
                                error="none of these files exists"))  # fmt: skip
    return out


def collect(opts: CollectOptions, progress: Progress | None = None) -> Bundle:
    """Collect this host's evidence into an in-memory bundle (credentials masked unless
    `opts.redact` is off)."""
    bundle = LiveCollector(opts, progress).collect()
    if opts.redact:
        redact_bundle(bundle)
    return bundle
