"""Run many commands inside one network namespace with a single `ip netns exec` (the collector's
batch, netsleuth.collector.batch: one shell per namespace, each command under coreutils timeout),
handed over as Evidence."""

from __future__ import annotations

from netsleuth.collector import batch as _batch
from netsleuth.collector.batch import Item
from netsleuth.evidence.model import Evidence
from netsleuth.evidence.runner import evidence_of

__all__ = ["run_batch"]


def run_batch(items: list[Item], timeout: float, netns: str) -> list[Evidence]:
    """Every item's Evidence, as if each had been run on its own inside `netns`."""
    return [evidence_of(r) for r in _batch.run_batch(items, timeout, netns)]
