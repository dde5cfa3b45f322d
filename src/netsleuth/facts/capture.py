"""Facts of packet captures and traces (results/capture.py), read back from the evidence
`pcap.summary` / `trace.result`."""

from __future__ import annotations

import json

from netsleuth.evidence.model import HOST, Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg
from netsleuth.results.capture import PCAP_SUMMARY, TRACE_RESULT, PcapSummary, TraceResult


def _keyed_or_host(fs: FactStore, name: str) -> Evidence:
    """The first piece of evidence `name` (any key) of this scope, else of the host scope."""
    seen: list[Evidence] = []
    for ns in dict.fromkeys([fs.netns, HOST]):
        for ev in fs.every(name, netns=ns):
            if ev.ok:
                return ev
            seen.append(ev)
    if seen:
        ev = seen[0]
        raise Unavailable(why_not(ev, name))
    raise Unavailable(
        Msg("not_collected_run", {"name": name, "command": f"`netsleuth {name.split('.')[0]} ...`"})
    )


@provides(PcapSummary, reads=("pcap.summary",))
def _pcap_summary(fs: FactStore) -> PcapSummary:
    ev = _keyed_or_host(fs, PCAP_SUMMARY)
    return PcapSummary.from_json(json.loads(ev.content()), source=ev.source)


@provides(TraceResult, reads=("trace.result",))
def _trace_result(fs: FactStore) -> TraceResult:
    ev = _keyed_or_host(fs, TRACE_RESULT)
    return TraceResult.from_json(json.loads(ev.content()), source=ev.source)
