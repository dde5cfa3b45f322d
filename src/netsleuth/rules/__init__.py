"""The knowledge base: one rule per fault id of the catalogue, one module per family.

Every module of this package is imported (and its rules registered) by `load_all()`."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("base", "persist"):
            importlib.import_module(f"{__name__}.{mod.name}")
