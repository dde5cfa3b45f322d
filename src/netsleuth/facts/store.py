"""The fact store: builds each fact once, from evidence, or says why it cannot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from netsleuth.errors import ParseError
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status

T = TypeVar("T")


class Unavailable(Exception):
    """A fact cannot be built; the message says why (evidence missing, timed out, unreadable)."""


Provider = Callable[["FactStore"], Any]


class _Shared:
    """What the stores of one bundle share: each other, and values computed once."""

    def __init__(self) -> None:
        self.stores: dict[str, FactStore] = {}
        self.values: dict[str, Any] = {}


_PROVIDERS: dict[type, Provider] = {}
_HOST_FACTS: set[type] = set()


def provides(
    fact: type[T], host: bool = False
) -> Callable[[Callable[[FactStore], T]], Callable[[FactStore], T]]:
    """Register the function that builds `fact` from a FactStore's evidence. `host=True`: the
    fact is the host's (processes, logs, Open vSwitch), built once for every namespace."""

    def deco(fn: Callable[[FactStore], T]) -> Callable[[FactStore], T]:
        _PROVIDERS[fact] = fn
        if host:
            _HOST_FACTS.add(fact)
        return fn

    return deco


def why_not(ev: Evidence | None, name: str) -> str:
    if ev is None:
        return f"{name}: not collected"
    detail = f" ({ev.error})" if ev.error else ""
    return f"{name}: {ev.status.value}{detail}"


class FactStore:
    """Facts of one analysed scope (a network namespace) of a bundle; host facts come from HOST.

    The stores of one bundle share a registry, so a fact that looks across namespaces reads each
    namespace's facts from that namespace's own store, built once."""

    def __init__(self, bundle: Bundle, netns: str = HOST, _shared: _Shared | None = None) -> None:
        self.bundle = bundle
        self.netns = netns
        self._cache: dict[type, Any] = {}
        self._errors: dict[type, str] = {}
        self._shared = _shared if _shared is not None else _Shared()
        self._shared.stores.setdefault(netns, self)

    def scope(self, netns: str) -> FactStore:
        """The store of another namespace of the same bundle."""
        found = self._shared.stores.get(netns)
        return found if found is not None else FactStore(self.bundle, netns, self._shared)

    def once(self, key: str, build: Callable[[FactStore], T]) -> T:
        """A value computed once for all the stores of this bundle."""
        if key not in self._shared.values:
            self._shared.values[key] = build(self)
        return self._shared.values[key]  # type: ignore[no-any-return]

    def evidence(self, name: str, key: str = "", host: bool = False) -> Evidence | None:
        return self.bundle.get(name, HOST if host else self.netns, key)

    def require(self, name: str, key: str = "", host: bool = False) -> Evidence:
        """The evidence `name`, or Unavailable naming its status."""
        ev = self.evidence(name, key, host)
        if ev is None or ev.status is not Status.OK:
            raise Unavailable(why_not(ev, name))
        return ev

    def first_ok(self, *names: str, host: bool = False) -> Evidence:
        reasons = []
        for n in names:
            ev = self.evidence(n, host=host)
            if ev is not None and ev.ok:
                return ev
            reasons.append(why_not(ev, n))
        raise Unavailable("; ".join(reasons))

    def get(self, fact: type[T]) -> T:
        """Build (once) and return the fact, or raise Unavailable with the reason."""
        if fact in self._cache:
            return self._cache[fact]  # type: ignore[no-any-return]
        if self.netns != HOST and fact in _HOST_FACTS:
            return self.scope(HOST).get(fact)
        if fact in self._errors:
            raise Unavailable(self._errors[fact])
        provider = _PROVIDERS.get(fact)
        if provider is None:
            raise Unavailable(f"no provider for {fact.__name__}")
        try:
            value = provider(self)
        except Unavailable as exc:
            self._errors[fact] = str(exc)
            raise
        except (ParseError, ValueError, KeyError, IndexError, TypeError) as exc:
            msg = f"{fact.__name__}: could not parse the evidence ({exc})"
            self._errors[fact] = msg
            raise Unavailable(msg) from None
        self._cache[fact] = value
        return value  # type: ignore[no-any-return]

    def maybe(self, fact: type[T]) -> T | None:
        try:
            return self.get(fact)
        except Unavailable:
            return None
