"""A capture's summary and a trace's result as the evidence of a bundle (`pcap.summary`,
`trace.result`): the JSON of results/capture.py, which facts/capture.py reads back."""

from __future__ import annotations

import json

from netsleuth.evidence.model import Evidence, Status
from netsleuth.results.capture import PCAP_SUMMARY, TRACE_RESULT, PcapSummary, TraceResult


def pcap_evidence(summary: PcapSummary) -> Evidence:
    """This summary as the `pcap.summary` evidence of a bundle."""
    return Evidence(
        PCAP_SUMMARY,
        Status.OK,
        text=json.dumps(summary.to_json(), ensure_ascii=False, indent=1),
        source=summary.source or f"netsleuth pcap {summary.file}",
        key=summary.file,
    )


def trace_evidence(result: TraceResult) -> Evidence:
    """This trace as the `trace.result` evidence of a bundle."""
    return Evidence(
        TRACE_RESULT,
        Status.OK,
        text=json.dumps(result.to_json(), ensure_ascii=False, indent=1),
        source=result.source or f"netsleuth trace {result.dest}",
        key=result.dest,
        duration_s=result.duration_s,
    )
