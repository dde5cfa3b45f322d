"""One watch cycle's evidence: the live collection of `diagnose`, incremental where it is cheap.

- Kernel messages and log files: only what is new since the last cycle (follow.py).
- Counters: sampled once per cycle and judged over the whole cycle: each sampled piece of evidence
  carries the last cycle's sample as its first and this cycle's as its second (`later`), so a rate
  is the average since the last cycle, not over one second, and a state must hold at both ends.
  The first cycle, with nothing before it, samples twice a second apart like `diagnose`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netsleuth.evidence.catalogue import Spec, catalogue
from netsleuth.evidence.live import CollectOptions, Reader, collect
from netsleuth.evidence.model import Bundle, Evidence
from netsleuth.watch.follow import KernelLog, LogFiles

SampleKey = tuple[str, str, str]  # evidence name, namespace, key


@dataclass
class Samples:
    """The newest sample of every counter, to pair with the next cycle's."""

    last: dict[SampleKey, tuple[str, float]] = field(default_factory=dict)

    def pair(self, bundle: Bundle, taken: float) -> None:
        """Give each counter of this cycle the last cycle's sample as its first (see the module)."""
        specs = catalogue()
        newest: dict[SampleKey, tuple[str, float]] = {}
        for ev in bundle.items:
            spec = specs.get(ev.name)
            if spec is None or not spec.sampled or not ev.ok:
                continue
            key = (ev.name, ev.netns, ev.key)
            now = ev.later if ev.later is not None else ev.text
            before = self.last.get(key)
            if ev.later is None and before is not None:
                ev.text, ev.later, ev.interval_s = before[0], now, round(taken - before[1], 3)
            newest[key] = (now, taken)
        self.last = newest  # what is gone (an interface deleted) is forgotten


@dataclass
class CycleCollector:
    """Collects a cycle's bundle; keeps what the next cycle goes on from."""

    timeout: float
    lookback_s: float = 0.0
    kernel: KernelLog = field(init=False)
    logs: LogFiles = field(init=False)
    samples: Samples = field(default_factory=Samples)
    cycles: int = 0

    def __post_init__(self) -> None:
        self.kernel = KernelLog(self.lookback_s)
        self.logs = LogFiles(self.lookback_s, kernel_from_kmsg=lambda: self.kernel.how == "kmsg")

    def _readers(self) -> dict[str, Reader]:
        def kernel(spec: Spec, timeout: float, netns: str) -> list[Evidence]:
            return [self.kernel.read(timeout)]

        def tail(spec: Spec, timeout: float, netns: str) -> list[Evidence]:
            return self.logs.read(spec.name, spec.files())

        readers: dict[str, Reader] = {"kernel.dmesg": kernel}
        readers |= {s.name: tail for s in catalogue().values() if s.collector == "tail"}
        return readers

    def collect(self, scopes: tuple[str, ...], progress: Callable[[Evidence], None] | None = None) -> Bundle:
        taken = time.monotonic()
        opts = CollectOptions(
            timeout=self.timeout,
            interval=1.0,
            scopes=scopes,
            second_sample=self.cycles == 0,
            readers=self._readers(),
        )
        bundle = collect(opts, progress)
        self.samples.pair(bundle, taken)
        self.logs.settled = True
        self.cycles += 1
        return bundle

    def close(self) -> None:
        self.kernel.close()
