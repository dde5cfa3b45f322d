"""The collector's own error texts are worded in the report's language: each fixed form the
collector (standard library only, no catalogue) writes is read back as wording, and renders back
to the very text in English."""

from __future__ import annotations

import re
from pathlib import Path

from netsleuth.collector import runner
from netsleuth.evidence.collector_words import words_of
from netsleuth.evidence.runner import evidence_of
from netsleuth.messages import render_reason

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _real_errors(tmp_path: Path) -> list[str]:
    """Errors the collector really writes: a tool that is not here, a file that is not there, a
    command that fails silently, one that hangs."""
    return [
        runner.run("x", ["netsleuth-no-such-tool-zh"], 2.0).error,
        runner.read_file("x", str(tmp_path / "absent"), 2.0).error,
        runner.run("x", ["false"], 2.0).error,
        runner.run("x", ["sleep", "5"], 0.2).error,
        runner.classify(1, "", "readlink")[1],
    ]


def test_the_collectors_errors_are_worded_and_read_back_exactly(tmp_path: Path) -> None:
    errors = _real_errors(tmp_path)
    assert all(errors), errors
    for text in errors:
        words = words_of(text)
        assert words is not None, f"the collector's {text!r} has no wording"
        assert render_reason("en", words) == text
        assert _CJK.search(render_reason("zh", words)), text


def test_evidence_from_a_collector_record_carries_its_wording(tmp_path: Path) -> None:
    ev = evidence_of(runner.read_file("etc.x", str(tmp_path / "absent"), 2.0))
    assert ev.why is not None and ev.error.endswith("no such file")
    assert words_of("Cannot connect to the Docker daemon. Is the docker daemon running?") is None
