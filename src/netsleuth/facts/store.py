"""The fact store: builds each fact once, from evidence, or says why it cannot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from netsleuth.errors import ParseError, clip
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.messages import Msg, Reason, render_reason

T = TypeVar("T")


class Unavailable(Exception):
    """A fact cannot be built; `reason` says why (evidence missing, timed out, unreadable), as
    wording of the `reasons` catalogue entry (rendered in the report's language) or plain text;
    str() is the English."""

    def __init__(self, reason: Reason | list[Reason]) -> None:
        super().__init__(render_reason("en", reason))
        self.reason: Reason | list[Reason] = reason


class UndeclaredRead(RuntimeError):
    """A provider read evidence, or built on a fact, that its `@provides` does not declare: a bug
    of the provider, never a fact that is merely unavailable."""


@dataclass(frozen=True)
class Provider:
    """How one fact is built: the function, the evidence it reads and the facts it builds on."""

    fact: type
    build: Callable[[FactStore], Any]
    reads: tuple[str, ...]
    uses: tuple[type, ...]
    host: bool = False  # the host's fact: built once, in the host scope, for every namespace


class _Shared:
    """What the stores of one bundle share: each other, values computed once, and the providers
    running now (innermost last), whose declarations every read is checked against."""

    def __init__(self) -> None:
        self.stores: dict[str, FactStore] = {}
        self.values: dict[str, Any] = {}
        self.building: list[Provider] = []


PROVIDERS: dict[type, Provider] = {}


def provides(
    fact: type[T], *, reads: Iterable[str], uses: Iterable[type] = (), host: bool = False
) -> Callable[[Callable[[FactStore], T]], Callable[[FactStore], T]]:
    """Register the function that builds `fact`, with the evidence names it `reads` (entries of the
    evidence catalogue, or evidence netsleuth makes itself) and the facts it `uses`. The store
    holds it to that: reading anything else raises UndeclaredRead. `host=True`: the fact is the
    host's (processes, logs, Open vSwitch), built once for every namespace."""

    def deco(fn: Callable[[FactStore], T]) -> Callable[[FactStore], T]:
        if fact in PROVIDERS:
            raise ValueError(f"{fact.__name__} has two providers")
        PROVIDERS[fact] = Provider(fact, fn, tuple(reads), tuple(uses), host)
        return fn

    return deco


def why_not(ev: Evidence | None, name: str) -> Msg:
    """Why evidence `name` cannot be used: not collected, or its status and error.

    >>> render_reason("zh", why_not(Evidence("ip.addr", Status.TIMEOUT, error="after 2 s"), "ip.addr"))
    'ip.addr：超时（after 2 s）'
    """
    if ev is None:
        return Msg("not_collected", {"name": name})
    detail = ev.why or ev.error
    return Msg(f"{ev.status.value}_because" if detail else ev.status.value, {"name": name, "error": detail})


class FactStore:
    """Facts of one analysed scope (a network namespace) of a bundle; host facts come from HOST.

    The stores of one bundle share a registry, so a fact that looks across namespaces reads each
    namespace's facts from that namespace's own store, built once."""

    def __init__(self, bundle: Bundle, netns: str = HOST, _shared: _Shared | None = None) -> None:
        self.bundle = bundle
        self.netns = netns
        self._cache: dict[type, Any] = {}
        self._errors: dict[type, Reason | list[Reason]] = {}
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

    def _reads(self, name: str) -> None:
        building = self._shared.building
        if building and name not in building[-1].reads:
            raise UndeclaredRead(
                f"{building[-1].fact.__name__} reads {name}, not in its @provides(reads=...)"
            )

    def evidence(
        self, name: str, key: str = "", host: bool = False, netns: str | None = None
    ) -> Evidence | None:
        """The evidence `name` (of `key`) of this namespace, of the host's (`host`), or of `netns`."""
        self._reads(name)
        return self.bundle.get(name, HOST if host else self.netns if netns is None else netns, key)

    def require(self, name: str, key: str = "", host: bool = False) -> Evidence:
        """The evidence `name`, or Unavailable naming its status."""
        ev = self.evidence(name, key, host)
        if ev is None or ev.status is not Status.OK:
            raise Unavailable(why_not(ev, name))
        return ev

    def keyed(self, name: str, host: bool = False) -> list[Evidence]:
        """Every per-object piece of evidence `name` (per NIC, per file ...) of this namespace or
        of the host's."""
        self._reads(name)
        return self.bundle.keyed(name, HOST if host else self.netns)

    def every(self, *names: str, netns: str | None = None) -> list[Evidence]:
        """Every piece of evidence of these names of this namespace (or `netns`), keyed or not, name
        by name in the order it was collected."""
        ns = self.netns if netns is None else netns
        found: list[Evidence] = []
        for name in names:
            self._reads(name)
            found += self.bundle.every(name, ns)
        return found

    def get(self, fact: type[T]) -> T:
        """Build (once) and return the fact, or raise Unavailable with the reason."""
        building = self._shared.building
        if building and fact not in building[-1].uses:
            raise UndeclaredRead(
                f"{building[-1].fact.__name__} uses {fact.__name__}, not in its @provides(uses=...)"
            )
        if fact in self._cache:
            return self._cache[fact]  # type: ignore[no-any-return]
        if fact in self._errors:
            raise Unavailable(self._errors[fact])
        provider = PROVIDERS.get(fact)
        if provider is None:
            raise Unavailable(Msg("no_provider", {"fact": fact.__name__}))
        if provider.host and self.netns != HOST:
            return self.scope(HOST).get(fact)
        building.append(provider)
        try:
            value = provider.build(self)
        except Unavailable as exc:
            self._errors[fact] = clip(exc.reason) if isinstance(exc.reason, str) else exc.reason
            raise Unavailable(self._errors[fact]) from None
        except MemoryError:
            raise
        except UndeclaredRead:  # a provider bug: never a skip
            raise
        except ParseError as exc:
            self._errors[fact] = Msg("unparsable", {"fact": fact.__name__, "error": clip(str(exc))})
            raise Unavailable(self._errors[fact]) from None
        except Exception as exc:  # one bad piece of evidence must not end the whole diagnosis
            error = clip(f"{type(exc).__name__}: {exc}")
            self._errors[fact] = Msg("unbuildable", {"fact": fact.__name__, "error": error})
            raise Unavailable(self._errors[fact]) from None
        finally:
            building.pop()
        self._cache[fact] = value
        return value  # type: ignore[no-any-return]

    def maybe(self, fact: type[T]) -> T | None:
        try:
            return self.get(fact)
        except Unavailable:
            return None
