"""Settings the operator gave (the configuration's `[thresholds]`), as the bundle carries them:
evidence `netsleuth.thresholds`, written by diagnose and watch, so that a bundle diagnosed later
is judged with the thresholds it was taken with."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.config import THRESHOLDS, THRESHOLDS_EVIDENCE, Config, parse
from netsleuth.evidence.model import Bundle, Evidence, Status
from netsleuth.facts.store import FactStore, provides


@dataclass(frozen=True)
class Thresholds:
    """Each threshold a rule reads: the configured value, or its default."""

    values: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        """
        >>> Thresholds({"conntrack_near": 0.6})["conntrack_near"], Thresholds()["conntrack_full"]
        (0.6, 0.95)
        """
        return self.values.get(name, THRESHOLDS[name][0])


@provides(Thresholds, reads=(THRESHOLDS_EVIDENCE,))
def _thresholds(fs: FactStore) -> Thresholds:
    ev = fs.evidence(THRESHOLDS_EVIDENCE, host=True)
    if ev is None or not ev.ok:
        return Thresholds()
    return Thresholds(dict(parse("[thresholds]\n" + ev.content(), THRESHOLDS_EVIDENCE).thresholds))


def add_settings(bundle: Bundle, cfg: Config) -> None:
    """Put the configured thresholds into the bundle (instead of those it was taken with), so the
    rules read them as evidence and a kept bundle is judged later as it was then. Without any
    configured, a bundle keeps those it carries."""
    if cfg.thresholds:
        bundle.discard(THRESHOLDS_EVIDENCE)
        source = str(cfg.path) if cfg.path else "configuration"
        bundle.add(Evidence(THRESHOLDS_EVIDENCE, Status.OK, text=cfg.thresholds_text(), source=source))
