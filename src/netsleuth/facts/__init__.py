"""Facts: typed models built from evidence by parsers; one FactStore per analysed namespace.

`load_all()` imports every module of this package so that their providers are registered."""

from __future__ import annotations

import importlib
import pkgutil

from netsleuth.facts.store import FactStore, Unavailable


def load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


__all__ = ["FactStore", "Unavailable", "load_all"]
