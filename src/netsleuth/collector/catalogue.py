"""The catalogue of what to collect, as data: `catalogue.json` beside this module in the zipapp
(built from evidence/catalogue.d/*.toml by `netsleuth collector build`); in-tree, netsleuth.evidence
reads the TOML and hands the specs over."""

import json
import pkgutil
from typing import Any, Dict, List

from netsleuth.collector.model import Spec

RESOURCE = "catalogue.json"


def dump(specs: List[Spec]) -> str:
    return json.dumps({"evidence": [s.to_dict() for s in specs]}, indent=0, sort_keys=True)


def load() -> List[Spec]:
    """The specs shipped with the collector (the zipapp's catalogue.json)."""
    data = pkgutil.get_data("netsleuth.collector", RESOURCE)
    if data is None:
        raise FileNotFoundError(RESOURCE)
    doc: Dict[str, Any] = json.loads(data.decode())
    return [Spec.from_dict(d) for d in doc["evidence"]]
