"""The catalog as frozen data: what the seed ("Increasing Access") says, plus the route table.

Everything here is pure data; loading lives in ``loader.py``, matching in ``routes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from gateway.quota.model import Window
from gateway.restli.methods import RestliMethod


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    type: str
    products: tuple[str, ...]


@dataclass(frozen=True)
class Product:
    name: str
    title: str
    availability: str
    how_to_request: str
    permissions: tuple[str, ...]
    # Audience Insights and Media Planning: the permission is assigned to the application
    # and never requested in a member's OAuth scope (seed, "What permissions are available?").
    app_level: bool
    requires: tuple[str, ...]
    tiers: tuple[str, ...]
    default_tier: str | None


@dataclass(frozen=True)
class QuotaRule:
    app_per_window: int | None
    member_per_window: int | None
    window: Window


@dataclass(frozen=True)
class AdAccountRules:
    read_unlimited: bool
    test_account_creates: int | None
    real_account_creates: bool
    editable_accounts: int | None


@dataclass(frozen=True)
class Tier:
    product: str
    name: str
    title: str
    description: str
    quota: QuotaRule | None
    batch_get: bool
    social_action_webhooks: bool
    ad_accounts: AdAccountRules | None
    development_months: int | None


@dataclass(frozen=True)
class RouteRule:
    methods: frozenset[RestliMethod]
    # Any one of these scopes authorizes the call.
    permissions: tuple[str, ...]
    # App-level products that authorize the call without any scope.
    app_products: tuple[str, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    pattern: str
    api: str
    segments: tuple[str, ...]
    rules: tuple[RouteRule, ...]
    # Writes name an ad account: the Advertising Development tier's edit and create limits
    # apply (seed, "How to Upgrade your Access Tier").
    ad_account_scoped: bool = False

    @property
    def resource(self) -> str:
        literals = [s for s in self.segments if not s.startswith("{")]
        return literals[-1] if literals else self.api


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    rule: RouteRule
    params: Mapping[str, str]
    # Products whose approval can authorize this call (grantors of the rule's permissions,
    # plus its app-level products).
    products: tuple[str, ...]


@dataclass(frozen=True)
class IndexedRoute:
    """A route prepared for matching: built once by the loader, read on every request.

    ``key`` holds the case-folded literal segments, None where the pattern has a ``{name}``;
    ``params`` the (position, name) of each ``{name}``; ``by_method`` the rule serving each
    Rest.li method together with the products that can authorize it.
    """

    key: tuple[str | None, ...]
    params: tuple[tuple[int, str], ...]
    route: Route
    by_method: Mapping[RestliMethod, tuple[RouteRule, tuple[str, ...]]]


# (api, segment count) -> candidate routes, most specific first.
RouteIndex: TypeAlias = Mapping[tuple[str, int], tuple[IndexedRoute, ...]]


@dataclass(frozen=True)
class VersionRules:
    # Marketing versions up to and including this YYYYMM are sunset (seed, deprecation notice).
    sunset_through: str


@dataclass(frozen=True)
class Catalog:
    products: Mapping[str, Product]
    permissions: Mapping[str, Permission]
    tiers: Mapping[tuple[str, str], Tier]
    routes: tuple[Route, ...]
    versions: VersionRules
    source: str
    # Company Page and Ad Account role names that route rules may cite.
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Built by ``gateway.catalog.routes.build_route_index``; empty means "build on demand".
    route_index: RouteIndex = field(default_factory=dict, repr=False, compare=False)

    def tier(self, product: str, name: str) -> Tier:
        return self.tiers[(product, name)]

    def granting_products(self, permission: str) -> tuple[str, ...]:
        perm = self.permissions.get(permission)
        return perm.products if perm else ()
