"""Collect this host's evidence live: every command at once, each bounded, counters sampled twice.

One collection engine: netsleuth.collector.live, the same code that runs on production hosts in
netsleuth-collect.pyz (`fleet collect`); this module gives it the catalogue and hands what it
collected over as a Bundle."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from netsleuth.collector import live as _live
from netsleuth.collector.kmods import KernelModules, kernel_modules
from netsleuth.collector.model import Spec as CollectorSpec
from netsleuth.evidence.catalogue import Spec, catalogue, collector_specs
from netsleuth.evidence.model import HOST, Bundle, Evidence
from netsleuth.evidence.runner import evidence_of, record_of
from netsleuth.messages import note_of

Progress = Callable[[Evidence], None]
Reader = Callable[[Spec, float, str], list[Evidence]]  # (spec, timeout, netns) -> its evidence


@dataclass(frozen=True)
class CollectOptions:
    timeout: float = 2.0  # per command
    interval: float = 1.0  # between the two samples of counters
    scopes: tuple[str, ...] = (HOST,)  # network namespaces to look inside (HOST = ours)
    workers: int = 16
    redact: bool = True  # mask credentials in command lines (collector/redact.py)
    second_sample: bool = True  # False: counters sampled once (watch pairs them across cycles)
    readers: Mapping[str, Reader] | None = None  # evidence read another way (watch: only what is new)


def list_netns(timeout: float = 2.0) -> list[str]:
    """Names of the named network namespaces (`ip netns list`)."""
    return _live.list_netns(timeout)


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
    vSwitch tool in the container that owns it (`docker exec NAME`)."""
    one = CollectorSpec.from_dict({k: getattr(spec, k) for k in CollectorSpec.FIELDS})
    return [evidence_of(r) for r in _live.collect_spec(one, timeout, netns, key, mods, inside, **subst)]


def _readers(readers: Mapping[str, Reader] | None) -> dict[str, _live.Reader] | None:
    """Evidence readers (watch's) as the collector calls them: its spec in, records out."""
    if not readers:
        return None
    specs = catalogue()

    def wrap(read: Reader) -> _live.Reader:
        return lambda one, timeout, netns: [record_of(ev) for ev in read(specs[one.name], timeout, netns)]

    return {name: wrap(read) for name, read in readers.items()}


def collect(opts: CollectOptions, progress: Progress | None = None) -> Bundle:
    """Collect this host's evidence into an in-memory bundle (credentials masked unless
    `opts.redact` is off; commands that would load a kernel module not run)."""
    tick = (lambda rec: progress(evidence_of(rec))) if progress else None
    options = _live.Options(
        opts.timeout,
        opts.interval,
        opts.scopes,
        opts.workers,
        opts.redact,
        opts.second_sample,
        _readers(opts.readers),
    )
    got = _live.collect(collector_specs(), options, tick, kernel_modules())
    return Bundle(
        source="live",
        hostname=got.hostname,
        kernel=got.kernel,
        collected_at=got.collected_at,
        namespaces=list(opts.scopes),
        items=[evidence_of(r) for r in got.records],
        notes=[note_of(n) for n in got.notes],
    )
