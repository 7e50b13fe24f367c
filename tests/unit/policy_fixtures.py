"""A small hand-built catalog, apps, tokens and requests for the policy tests.

Products: advertising (development/standard, no quota), community_management (development:
100 app / 10 member calls per UTC day and no BATCH_GET; standard: unlimited), lead_sync
(development: 50 / 20 per rolling 24 h, to test the smallest of two limits), and
audience_insights (app-level, requires advertising). ``openid`` is granted by no product.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.catalog.model import (
    Catalog,
    Permission,
    Product,
    QuotaRule,
    Route,
    RouteMatch,
    RouteRule,
    Tier,
    VersionRules,
)
from gateway.quota.model import Window
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import HTTP_VERB, RestliMethod
from gateway.settings.model import AppConfig, ProductGrant, QuotaOverride
from gateway.tokens.model import TokenInfo

ADVERTISING = "advertising"
COMMUNITY = "community_management"
LEAD_SYNC = "lead_sync"
AUDIENCE = "audience_insights"

APP_NAME = "acme"
MEMBER = "urn:li:person:abc"
TOKEN_DIGEST = "0" * 64

_TITLES = {
    ADVERTISING: "Advertising API",
    COMMUNITY: "Community Management API",
    LEAD_SYNC: "Lead Sync API",
    AUDIENCE: "Audience Insights",
}

_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "r_ads": (ADVERTISING,),
    "rw_ads": (ADVERTISING,),
    "r_organization_social": (COMMUNITY,),
    "r_organization_admin": (COMMUNITY, LEAD_SYNC),
    "openid": (),
}


def _product(
    name: str,
    *,
    tiers: tuple[str, ...] = (),
    app_level: bool = False,
    requires: tuple[str, ...] = (),
) -> Product:
    return Product(
        name=name,
        title=_TITLES[name],
        availability="",
        how_to_request="",
        permissions=tuple(p for p, owners in _PERMISSIONS.items() if name in owners),
        app_level=app_level,
        requires=requires,
        tiers=tiers,
        default_tier=tiers[0] if tiers else None,
    )


def _tier(product: str, name: str, quota: QuotaRule | None, *, batch_get: bool = True) -> Tier:
    return Tier(
        product=product,
        name=name,
        title=name.capitalize(),
        description="",
        quota=quota,
        batch_get=batch_get,
        social_action_webhooks=quota is None,
        ad_accounts=None,
        development_months=12 if name == "development" else None,
    )


CM_DEV_QUOTA = QuotaRule(app_per_window=100, member_per_window=10, window=Window.UTC_DAY)
LEAD_DEV_QUOTA = QuotaRule(app_per_window=50, member_per_window=20, window=Window.ROLLING_24H)

_READS = frozenset({RestliMethod.GET, RestliMethod.BATCH_GET, RestliMethod.FINDER})


def _route(
    api: str,
    resource: str,
    permissions: tuple[str, ...],
    *,
    app_products: tuple[str, ...] = (),
    methods: frozenset[RestliMethod] = _READS,
) -> Route:
    rule = RouteRule(methods=methods, permissions=permissions, app_products=app_products, roles=())
    return Route(pattern=f"/{api}/{resource}", api=api, segments=(resource,), rules=(rule,))


ROUTES: dict[str, Route] = {
    "adAccounts": _route("rest", "adAccounts", ("r_ads", "rw_ads")),
    "posts": _route("rest", "posts", ("r_organization_social",)),
    "organizationAcls": _route("rest", "organizationAcls", ("r_organization_admin",)),
    # Two permissions from two different products: shows which product a call counts against.
    "dashboards": _route("rest", "dashboards", ("r_organization_social", "r_ads")),
    "userinfo": _route("v2", "userinfo", ("openid",)),
    "targetingAudienceInsights": _route(
        "rest",
        "targetingAudienceInsights",
        (),
        app_products=(AUDIENCE,),
        methods=frozenset({RestliMethod.ACTION}),
    ),
}

CATALOG = Catalog(
    products={
        ADVERTISING: _product(ADVERTISING, tiers=("development", "standard")),
        COMMUNITY: _product(COMMUNITY, tiers=("development", "standard")),
        LEAD_SYNC: _product(LEAD_SYNC, tiers=("development",)),
        AUDIENCE: _product(AUDIENCE, app_level=True, requires=(ADVERTISING,)),
    },
    permissions={
        name: Permission(name=name, description="", type="member", products=owners)
        for name, owners in _PERMISSIONS.items()
    },
    tiers={
        (ADVERTISING, "development"): _tier(ADVERTISING, "development", None),
        (ADVERTISING, "standard"): _tier(ADVERTISING, "standard", None),
        (COMMUNITY, "development"): _tier(COMMUNITY, "development", CM_DEV_QUOTA, batch_get=False),
        (COMMUNITY, "standard"): _tier(COMMUNITY, "standard", None),
        (LEAD_SYNC, "development"): _tier(LEAD_SYNC, "development", LEAD_DEV_QUOTA),
    },
    routes=tuple(ROUTES.values()),
    versions=VersionRules(sunset_through="202304"),
    source="policy_fixtures",
)


def route_match(name: str) -> RouteMatch:
    """The match a route matcher would give for route ``name``."""
    route = ROUTES[name]
    rule = route.rules[0]
    grantors = [g for perm in rule.permissions for g in CATALOG.granting_products(perm)]
    products = tuple(dict.fromkeys([*grantors, *rule.app_products]))
    return RouteMatch(route=route, rule=rule, params={}, products=products)


def request(
    restli_method: RestliMethod,
    resource: str,
    *,
    api: str = "rest",
    version: str | None = "202405",
) -> RequestFacts:
    verb = HTTP_VERB[restli_method]
    return RequestFacts(
        wire_method=verb,
        method=verb,
        restli_method=restli_method,
        api=api,
        segments=(resource,),
        raw_path=f"/{api}/{resource}",
        raw_query="",
        query=(),
        batch_ids=("1", "2") if restli_method is RestliMethod.BATCH_GET else (),
        tunneled=False,
        version=version,
    )


def app_config(
    products: Mapping[str, str | None], quotas: QuotaOverride | None = None
) -> AppConfig:
    """An app holding ``products`` at the given tiers (None: the product's default tier)."""
    return AppConfig(
        name=APP_NAME,
        client_id="client-id",
        client_secret="client-secret",
        products={
            name: ProductGrant(product=name, tier=tier, since=None)
            for name, tier in products.items()
        },
        quotas=quotas,
    )


def token(scopes: frozenset[str] | set[str], member: str | None = MEMBER) -> TokenInfo:
    return TokenInfo(
        digest=TOKEN_DIGEST,
        app=APP_NAME,
        member=member,
        scopes=frozenset(scopes),
        expires_at=None,
    )
