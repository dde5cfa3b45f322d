"""Facts: typed models built from evidence by parsers; one FactStore per analysed namespace."""

from netsleuth.facts.store import FactStore, Unavailable

__all__ = ["FactStore", "Unavailable"]
