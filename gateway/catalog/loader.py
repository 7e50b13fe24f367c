"""Load catalog.yaml into a frozen ``Catalog``, strictly.

Two passes over the document: ``shape.py`` checks unknown and missing keys, wrong types and
values outside their set; ``checks.py`` checks meaning (references, agreement between
products, permissions and tiers, routes). Both passes always run, the second skipping what
the first found broken, and every problem is reported at once in one ``ConfigError``, each
naming the file and the key path (``routes[3].rules[0].permissions[1]``).
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
import yaml.constructor
import yaml.nodes
import yaml.resolver

from gateway.catalog.checks import check_meaning, expand_methods, split_pattern
from gateway.catalog.model import Catalog, Permission, Product, Route, RouteRule, Tier, VersionRules
from gateway.catalog.routes import build_route_index
from gateway.catalog.shape import Draft, Problems, Ref, RuleDraft, read_shape
from gateway.errors import ConfigError, ConfigProblem
from gateway.restli.methods import RestliMethod

_T = TypeVar("_T")


# The catalog the package ships, read when no ``catalog:`` path is configured.
SHIPPED_CATALOG = str(importlib.resources.files("gateway") / "_data" / "catalog.yaml")


def read_catalog_text(path: str | os.PathLike[str] | None = None) -> str:
    """The text of a catalog file (None: the shipped one), for what YAML drops: comments."""
    return Path(SHIPPED_CATALOG if path is None else os.fspath(path)).read_text(encoding="utf-8")


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Read and validate a catalog file; None reads the shipped one.

    Raises ``ConfigError`` listing every problem (unreadable file, YAML syntax, shape,
    meaning), each naming the file and the key path.
    """
    source = SHIPPED_CATALOG if path is None else os.fspath(path)
    try:
        text = read_catalog_text(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(source, "", f"cannot read: {exc}")]) from exc
    return _parsed(text, source)


@functools.lru_cache(maxsize=8)
def _parsed(text: str, source: str) -> Catalog:
    # The same text parses to the same frozen catalog: a process that loads its settings
    # again (check-config then serve, each worker, every test) validates it once. A
    # changed file is a new text, parsed anew.
    return parse_catalog(text, source)


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    """Validate catalog YAML held in memory; ``source`` names it in error messages."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(source, exc)]) from exc
    problems = Problems(source)
    draft = read_shape(document, problems)
    if draft is not None:
        check_meaning(draft, problems)
    if problems.items or draft is None:
        raise ConfigError(problems.items)
    return _build(draft, source)


# --- YAML -----------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last)."""


def _construct_strict_mapping(loader: yaml.SafeLoader, node: yaml.nodes.MappingNode) -> Any:
    seen: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_strict_mapping
)


def _yaml_problem(source: str, exc: yaml.YAMLError) -> ConfigProblem:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigProblem(source, where, f"invalid YAML: {problem}")


# --- Build ----------------------------------------------------------------------------------


def _must(value: _T | None) -> _T:
    # Only reached when both passes found nothing: every draft field is then filled in.
    if value is None:
        raise AssertionError("catalog draft incomplete after validation")
    return value


def _values(refs: tuple[Ref, ...] | None) -> tuple[str, ...]:
    return tuple(ref.value for ref in _must(refs))


def _build(draft: Draft, source: str) -> Catalog:
    order = [p.name for p in draft.products]
    products: dict[str, Product] = {}
    for p in draft.products:
        products[p.name] = Product(
            name=p.name,
            title=_must(p.title),
            availability=_must(p.availability),
            how_to_request=_must(p.how_to_request),
            permissions=_values(p.permissions),
            app_level=_must(p.app_level),
            requires=_values(p.requires),
            tiers=_values(p.tiers),
            default_tier=_must(p.default_tier).value or None,
        )
    permissions: dict[str, Permission] = {}
    for perm in draft.permissions:
        granted = set(_values(perm.products))
        permissions[perm.name] = Permission(
            name=perm.name,
            description=_must(perm.description),
            type=_must(perm.type).value,
            products=tuple(name for name in order if name in granted),
        )
    tiers: dict[tuple[str, str], Tier] = {}
    for t in draft.tiers:
        tier = _must(t.tier)
        tiers[(tier.product, tier.name)] = tier
    routes: list[Route] = []
    for r in draft.routes:
        pattern = _must(r.pattern).value
        split = split_pattern(pattern)
        if isinstance(split, str):
            raise AssertionError(split)
        routes.append(
            Route(
                pattern=pattern,
                api=split[0],
                segments=split[1],
                rules=tuple(_build_rule(rule) for rule in _must(r.rules)),
                ad_account_scoped=r.ad_account_scoped,
            )
        )
    catalog = Catalog(
        products=MappingProxyType(products),
        permissions=MappingProxyType(permissions),
        tiers=MappingProxyType(tiers),
        routes=tuple(routes),
        versions=VersionRules(sunset_through=_must(draft.sunset_through)),
        source=source,
        roles=MappingProxyType({group: _values(refs) for group, refs in draft.roles.items()}),
    )
    return replace(catalog, route_index=build_route_index(catalog))


def _build_rule(rule: RuleDraft) -> RouteRule:
    methods: set[RestliMethod] = set()
    for name in _values(rule.methods):
        methods |= _must(expand_methods(name))
    return RouteRule(
        methods=frozenset(methods),
        permissions=_values(rule.permissions),
        app_products=_values(rule.app_products),
        roles=_values(rule.roles),
    )
