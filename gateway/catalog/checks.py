"""Pass 2 over catalog.yaml: its meaning.

Every name a key refers to exists; products and permissions name each other; products and
tiers name each other; route patterns are well formed and distinct; each Rest.li method of a
route is served by one rule; a rule is authorized by something.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from gateway.catalog.routes import pattern_key
from gateway.catalog.shape import (
    Draft,
    PermissionDraft,
    Problems,
    ProductDraft,
    Ref,
    RouteDraft,
    RuleDraft,
    join_path,
)
from gateway.restli.methods import READ_METHODS, WRITE_METHODS, RestliMethod

API_PREFIXES = ("rest", "v2")
# Method aliases a rule may use (API guide, "Methods": the read methods are the GET-verb ones).
METHOD_ALIASES: Mapping[str, frozenset[RestliMethod]] = MappingProxyType(
    {"READ": READ_METHODS, "WRITE": WRITE_METHODS}
)
_LITERAL_RE = re.compile(r"^[A-Za-z0-9_.~-]+$")
_PARAM_RE = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")
D = TypeVar("D", ProductDraft, PermissionDraft)


def _check_duplicates(refs: Iterable[Ref], problems: Problems) -> None:
    first: dict[str, str] = {}
    for ref in refs:
        if ref.value in first:
            problems.add(ref.path, f"{ref.value!r} is listed twice (first at {first[ref.value]})")
        else:
            first[ref.value] = ref.path


def split_pattern(pattern: str) -> tuple[str, tuple[str, ...]] | str:
    """(api, segments) of a route pattern, or a message saying what is wrong with it."""
    parts = pattern.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] not in API_PREFIXES:
        return "must start with /rest/ or /v2/"
    segments = tuple(parts[2:])
    names: set[str] = set()
    for segment in segments:
        if segment.startswith("{") or segment.endswith("}"):
            if not _PARAM_RE.match(segment):
                return f"segment {segment!r} is not a valid {{name}} parameter"
            if segment in names:
                return f"parameter {segment} appears twice"
            names.add(segment)
        elif not _LITERAL_RE.match(segment):
            return f"segment {segment!r} must be a non-empty literal or a {{name}} parameter"
    return parts[1], segments


@dataclass(frozen=True)
class _Defined:
    """What the catalog defines, by name: what its references are checked against."""

    products: Mapping[str, ProductDraft]
    permissions: Mapping[str, PermissionDraft]
    roles: frozenset[str]


def check_meaning(draft: Draft, problems: Problems) -> None:
    """Add to ``problems`` everything wrong with what the draft's names refer to."""
    products = {p.name: p for p in draft.products}
    defined = _Defined(
        products,
        {p.name: p for p in draft.permissions},
        frozenset(ref.value for refs in draft.roles.values() for ref in refs),
    )

    for refs in draft.roles.values():
        _check_duplicates(refs, problems)

    tier_paths: dict[tuple[str, str], str] = {}
    for tier in draft.tiers:
        if tier.product is None or tier.name is None:
            continue
        key = (tier.product.value, tier.name.value)
        if key in tier_paths:
            problems.add(
                tier.path, f"tier {key[0]}/{key[1]} is defined twice (first at {tier_paths[key]})"
            )
            continue
        tier_paths[key] = tier.path
        product = products.get(tier.product.value)
        if product is None:
            problems.add(tier.product.path, f"unknown product {tier.product.value!r}")
        elif product.tiers is not None and tier.name.value not in {t.value for t in product.tiers}:
            problems.add(
                tier.name.path,
                f"product {product.name!r} does not list tier {tier.name.value!r} in its tiers",
            )

    for product in draft.products:
        _check_product(product, defined, tier_paths, problems)
    for permission in draft.permissions:
        _check_permission(permission, products, problems)

    route_paths: dict[tuple[str, tuple[str | None, ...]], str] = {}
    for route in draft.routes:
        _check_route(route, route_paths, defined, problems)


def _check_product(
    product: ProductDraft,
    defined: _Defined,
    tier_paths: Mapping[tuple[str, str], str],
    problems: Problems,
) -> None:
    if product.permissions is not None:
        _check_duplicates(product.permissions, problems)
        if product.app_level and product.permissions:
            problems.add(
                join_path(product.path, "permissions"),
                "an app-level product grants no OAuth scopes: its permission belongs to the "
                "application, so this list must be empty",
            )
        _check_listed_back(
            product.permissions,
            ("product", product.name),
            ("permission", defined.permissions, lambda permission: permission.products),
            problems,
        )
    if product.requires is not None:
        _check_duplicates(product.requires, problems)
        for ref in product.requires:
            if ref.value == product.name:
                problems.add(ref.path, "a product cannot require itself")
            elif ref.value not in defined.products:
                problems.add(ref.path, f"unknown product {ref.value!r}")
    if product.tiers is not None:
        _check_duplicates(product.tiers, problems)
        for ref in product.tiers:
            if (product.name, ref.value) not in tier_paths:
                problems.add(
                    ref.path, f"no tier {ref.value!r} of product {product.name!r} is defined"
                )
        default = product.default_tier
        if default is not None:
            names = {t.value for t in product.tiers}
            if default.value and default.value not in names:
                problems.add(default.path, f"{default.value!r} is not one of the product's tiers")
            elif not default.value and names:
                problems.add(default.path, "a product with tiers needs a default_tier")


def _check_permission(
    permission: PermissionDraft, products: Mapping[str, ProductDraft], problems: Problems
) -> None:
    if permission.products is None:
        return
    _check_duplicates(permission.products, problems)
    if (
        permission.type is not None
        and permission.type.value == "member"
        and not permission.products
    ):
        problems.add(
            join_path(permission.path, "products"),
            "a member permission must be granted by at least one product",
        )
    _check_listed_back(
        permission.products,
        ("permission", permission.name),
        ("product", products, lambda product: product.permissions),
        problems,
    )


def _check_listed_back(
    refs: Iterable[Ref],
    owner: tuple[str, str],
    targets: tuple[str, Mapping[str, D], Callable[[D], tuple[Ref, ...] | None]],
    problems: Problems,
) -> None:
    """Each of ``refs``, listed by the ``owner`` (its kind and name), names a target that
    exists and lists the owner back. ``targets``: their kind, them by name, and the list of
    a target that should name the owner (None: broken, already reported)."""
    owner_kind, owner_name = owner
    target_kind, by_name, listed_by = targets
    for ref in refs:
        target = by_name.get(ref.value)
        if target is None:
            problems.add(ref.path, f"unknown {target_kind} {ref.value!r}")
            continue
        back = listed_by(target)
        if back is not None and owner_name not in {r.value for r in back}:
            problems.add(
                ref.path,
                f"{target_kind} {ref.value!r} does not list {owner_kind} {owner_name!r} "
                f"in its {owner_kind}s",
            )


def _check_route(
    route: RouteDraft,
    seen: dict[tuple[str, tuple[str | None, ...]], str],
    defined: _Defined,
    problems: Problems,
) -> None:
    if route.pattern is not None:
        split = split_pattern(route.pattern.value)
        if isinstance(split, str):
            problems.add(route.pattern.path, f"pattern {route.pattern.value!r} {split}")
        else:
            key = (split[0], pattern_key(split[1]))
            if key in seen:
                problems.add(
                    route.pattern.path,
                    f"pattern {route.pattern.value!r} matches the same paths as the route "
                    f"at {seen[key]}",
                )
            else:
                seen[key] = route.path
    if route.rules is None:
        return
    if not route.rules:
        problems.add(join_path(route.path, "rules"), "a route needs at least one rule")
    claimed: dict[RestliMethod, str] = {}
    for rule in route.rules:
        _check_rule(rule, claimed, defined, problems)


def _check_rule(
    rule: RuleDraft,
    claimed: dict[RestliMethod, str],
    defined: _Defined,
    problems: Problems,
) -> None:
    if rule.methods is not None:
        if not rule.methods:
            problems.add(join_path(rule.path, "methods"), "a rule needs at least one method")
        _check_duplicates(rule.methods, problems)
        for ref in rule.methods:
            methods = expand_methods(ref.value)
            if methods is None:
                problems.add(
                    ref.path,
                    f"unknown Rest.li method {ref.value!r} (expected READ, WRITE or one of "
                    f"{', '.join(m.value for m in RestliMethod)})",
                )
                continue
            for method in sorted(methods, key=list(RestliMethod).index):
                if method in claimed and claimed[method] != rule.path:
                    problems.add(
                        ref.path, f"method {method.value} is already served by {claimed[method]}"
                    )
                claimed.setdefault(method, rule.path)
    if rule.permissions is not None:
        _check_duplicates(rule.permissions, problems)
        for ref in rule.permissions:
            if ref.value not in defined.permissions:
                problems.add(ref.path, f"unknown permission {ref.value!r}")
    if rule.app_products is not None:
        _check_duplicates(rule.app_products, problems)
        for ref in rule.app_products:
            product = defined.products.get(ref.value)
            if product is None:
                problems.add(ref.path, f"unknown product {ref.value!r}")
            elif product.app_level is False:
                problems.add(
                    ref.path,
                    f"product {ref.value!r} is not app-level; name its permissions instead",
                )
    if rule.permissions == () and rule.app_products == ():
        problems.add(rule.path, "a rule needs permissions or app_products (or both)")
    if rule.roles is not None:
        _check_duplicates(rule.roles, problems)
        for ref in rule.roles:
            if ref.value not in defined.roles:
                problems.add(ref.path, f"unknown role {ref.value!r} (not listed under roles)")


def expand_methods(name: str) -> frozenset[RestliMethod] | None:
    """The Rest.li methods a rule's method entry stands for; None for an unknown name."""
    alias = METHOD_ALIASES.get(name)
    if alias is not None:
        return alias
    try:
        return frozenset({RestliMethod(name)})
    except ValueError:
        return None
