"""Collectors written in Python: stream what is too large to hold, tail logs, read the environment.
They are the collector's (netsleuth.collector.collectors), handed over as Evidence."""

from __future__ import annotations

from netsleuth.collector import collectors as _collectors
from netsleuth.evidence.model import HOST, Evidence
from netsleuth.evidence.runner import evidence_of

__all__ = ["conntrack_states", "environment", "sysctl_net", "tail"]


def conntrack_states(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """State histogram of the conntrack table, streamed: millions of entries never sit in memory."""
    return evidence_of(_collectors.conntrack_states(name, timeout, netns))


def tail(name: str, files: list[str], timeout: float, netns: str = HOST) -> list[Evidence]:
    """The last part of each log file that exists, keyed by its file name."""
    return [evidence_of(r) for r in _collectors.tail(name, files, timeout, netns)]


def sysctl_net(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """`sysctl` of the network settings of `netns`, without the per-interface subtrees."""
    return evidence_of(_collectors.sysctl_net(name, timeout, netns))


def environment(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """umask and PATH of the user running netsleuth (seed 003: deploy scripts inherit them)."""
    return evidence_of(_collectors.environment(name, timeout, netns))
