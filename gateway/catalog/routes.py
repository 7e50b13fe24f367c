"""Route matching: which catalog route, and which of its rules, a request path falls under.

Pure: no I/O. The loader builds the index once (``build_route_index``); matching reads it on
every request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gateway.catalog.model import (
    Catalog,
    IndexedRoute,
    Route,
    RouteIndex,
    RouteMatch,
    RouteRule,
)
from gateway.restli.methods import RestliMethod


def is_param(segment: str) -> bool:
    """True for a ``{name}`` pattern segment, which stands for one key segment."""
    return len(segment) > 2 and segment.startswith("{") and segment.endswith("}")


def pattern_key(segments: Sequence[str]) -> tuple[str | None, ...]:
    """The matching key of a pattern: case-folded literals, None for each ``{name}``.

    Two patterns with the same key match exactly the same paths.
    """
    return tuple(None if is_param(s) else s.casefold() for s in segments)


def _specificity(entry: IndexedRoute) -> tuple[int, tuple[int, ...]]:
    # More literal segments first; on a tie, the route whose literals come earlier wins,
    # so the order never depends on where a route sits in the file.
    literals = sum(1 for k in entry.key if k is not None)
    return (-literals, tuple(0 if k is not None else 1 for k in entry.key))


def rule_products(catalog: Catalog, rule: RouteRule) -> tuple[str, ...]:
    """Products whose approval can authorize ``rule``, in the catalog's product order.

    The grantors of each of the rule's permissions, plus its app-level products.
    """
    wanted = set(rule.app_products)
    for permission in rule.permissions:
        wanted.update(catalog.granting_products(permission))
    return tuple(p for p in catalog.products if p in wanted)


def build_route_index(catalog: Catalog) -> RouteIndex:
    """Group the catalog's routes by (api, segment count), most specific first."""
    groups: dict[tuple[str, int], list[IndexedRoute]] = {}
    for route in catalog.routes:
        by_method: dict[RestliMethod, tuple[RouteRule, tuple[str, ...]]] = {}
        for rule in route.rules:
            products = rule_products(catalog, rule)
            for method in rule.methods:
                by_method.setdefault(method, (rule, products))
        entry = IndexedRoute(
            key=pattern_key(route.segments),
            params=tuple((i, s[1:-1]) for i, s in enumerate(route.segments) if is_param(s)),
            route=route,
            by_method=MappingProxyType(by_method),
        )
        groups.setdefault((route.api, len(route.segments)), []).append(entry)
    return MappingProxyType(
        {where: tuple(sorted(entries, key=_specificity)) for where, entries in groups.items()}
    )


def _index(catalog: Catalog) -> RouteIndex:
    if catalog.route_index or not catalog.routes:
        return catalog.route_index
    return build_route_index(catalog)


def _find(catalog: Catalog, api: str, segments: Sequence[str]) -> IndexedRoute | None:
    candidates = _index(catalog).get((api.casefold(), len(segments)))
    if not candidates:
        return None
    # Literals compare case-insensitively: a path that differs from a pattern only in letter
    # case (/rest/ADACCOUNTS) must not slip past that route's rules to an unmatched-route path.
    folded = [s.casefold() for s in segments]
    for entry in candidates:
        if _literals_match(entry.key, folded):
            return entry
    return None


@dataclass(frozen=True)
class MethodNotServed:
    """The path names a catalogued resource, but not a method it serves there.

    ``route`` is the catalogued route of the path's resource; ``served`` the Rest.li methods
    it serves at the path's own level (empty when the catalog lists only the other level:
    the entities of a collection-only resource, or the collection of an entity-only one).
    """

    route: Route
    method: RestliMethod
    served: tuple[RestliMethod, ...]


def is_singleton(entry: IndexedRoute) -> bool:
    """A Rest.li simple resource (``/rest/me``): read with GET at a collection-level path.

    Rest.li paths alternate collection and key, so at an odd segment count only a simple
    resource can serve GET on an entity; a plain GET there is its GET, never a GET_ALL.
    """
    served = entry.by_method
    return (
        len(entry.key) % 2 == 1
        and entry.key[-1] is not None
        and RestliMethod.GET in served
        and RestliMethod.GET_ALL not in served
    )


def _literals_match(key: Sequence[str | None], folded: Sequence[str]) -> bool:
    return all(
        seg != "" if lit is None else seg == lit for lit, seg in zip(key, folded, strict=True)
    )


def _other_level(catalog: Catalog, api: str, segments: Sequence[str]) -> IndexedRoute | None:
    """The route of the same resource one level off the path: its collection (the path ends
    in a key) or its entities (the path ends in a collection). Simple resources have no key
    level: the segment after one names a sub-resource, another resource."""
    folded = [s.casefold() for s in segments]
    index = _index(catalog)
    if len(segments) % 2 == 0:
        for entry in index.get((api.casefold(), len(segments) - 1), ()):
            if not is_singleton(entry) and _literals_match(entry.key, folded[:-1]):
                return entry
        return None
    for entry in index.get((api.casefold(), len(segments) + 1), ()):
        if entry.key[-1] is None and _literals_match(entry.key[:-1], folded):
            return entry
    return None


def resolve_route(
    catalog: Catalog, api: str, segments: Sequence[str], method: RestliMethod
) -> RouteMatch | MethodNotServed | None:
    """The route and rule that govern a ``method`` call on the path.

    ``MethodNotServed`` when the path names a catalogued resource (a route pattern matches
    it, or its resource's other level is catalogued) but that route does not serve
    ``method``: a declared method must never turn a catalogued call into an unmatched one.
    None only when the path names no catalogued resource at all. A GET_ALL on a singleton
    resource is its GET. A less specific route is never used as a fallback.
    """
    entry = _find(catalog, api, segments)
    if entry is None:
        other = _other_level(catalog, api, segments)
        return None if other is None else MethodNotServed(other.route, method, ())
    if method is RestliMethod.GET_ALL and is_singleton(entry):
        method = RestliMethod.GET
    served = entry.by_method.get(method)
    if served is None:
        return MethodNotServed(entry.route, method, tuple(entry.by_method))
    rule, products = served
    params: Mapping[str, str] = {name: segments[i] for i, name in entry.params}
    return RouteMatch(route=entry.route, rule=rule, params=params, products=products)


def match_route(
    catalog: Catalog, api: str, segments: Sequence[str], method: RestliMethod
) -> RouteMatch | None:
    """The route and rule that govern a ``method`` call on the path, if any: ``resolve_route``
    without the reason when there is none."""
    found = resolve_route(catalog, api, segments, method)
    return found if isinstance(found, RouteMatch) else None
