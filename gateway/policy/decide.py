"""The decision: may this call go upstream, and which quota buckets does it count against? Pure.

``decide`` applies LinkedIn's rules (seed, "Increasing Access") in a fixed order:
app-level products, product approval, permissions (scopes), the tier's BATCH_GET ban, then
quota buckets. Refusals carry LinkedIn's error shape: 403 ACCESS_DENIED with serviceErrorCode
100 and "Not enough permissions to access: <resource>.<METHOD>.<version>" (observed payloads).

The bearer-token checks live in ``policy_auth``, the bucket arithmetic and the 429/503 in
``policy_quota``; their public functions are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.catalog.grants import granted_tier
from gateway.catalog.model import Catalog, RouteMatch
from gateway.errors import Refusal
from gateway.policy.auth import bearer_challenge
from gateway.policy.versions import version_refusal
from gateway.quota.buckets import quota_buckets
from gateway.quota.model import BucketSpec
from gateway.quota.route_limits import route_buckets
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import RestliMethod
from gateway.settings.model import AppConfig, UnmatchedRoutes
from gateway.tokens.model import TokenInfo
from gateway.webhooks.subscriptions import webhook_subscription_refusal

ACCESS_DENIED_CODE = 100


@dataclass(frozen=True)
class Admit:
    """Forward the call. ``products`` are those it counts against; ``buckets`` its quota."""

    match: RouteMatch | None
    products: tuple[str, ...]
    buckets: tuple[BucketSpec, ...]


@dataclass(frozen=True)
class Deny:
    refusal: Refusal


Decision = Admit | Deny


def call_name(resource: str, facts: RequestFacts) -> str:
    """LinkedIn's name for a call, ``resource.METHOD.version``, e.g. ``posts.FINDER.202405``."""
    return f"{resource}.{facts.restli_method.value}.{facts.version or 'NO_VERSION'}"


def _forbidden(reason: str, message: str, headers: dict[str, str] | None = None) -> Deny:
    return Deny(
        Refusal(
            status=403,
            reason=reason,
            code="ACCESS_DENIED",
            message=message,
            service_error_code=ACCESS_DENIED_CODE,
            headers=headers or {},
        )
    )


def _title(catalog: Catalog, product: str) -> str:
    known = catalog.products.get(product)
    return known.title if known is not None else product


def _titles(catalog: Catalog, products: Iterable[str]) -> str:
    return " or ".join(_title(catalog, p) for p in products)


def _missing_prerequisites(app: AppConfig, catalog: Catalog, product: str) -> list[str]:
    known = catalog.products.get(product)
    return [r for r in known.requires if r not in app.products] if known else []


def _held(app: AppConfig, catalog: Catalog, product: str) -> bool:
    # Advertising API approval is a prerequisite of Matched Audiences and Audience Insights
    # (seed, "API Products and Permissions"): without it the dependent product grants nothing.
    return product in app.products and not _missing_prerequisites(app, catalog, product)


def _product_not_approved(
    app: AppConfig, catalog: Catalog, what: str, products: Sequence[str]
) -> Deny:
    message = (
        f"Application '{app.name}' is not approved for a product that allows {what}; "
        f"it needs any one of: {_titles(catalog, products)}"
    )
    for product in products:
        missing = _missing_prerequisites(app, catalog, product)
        if product in app.products and missing:
            message += (
                f". {_title(catalog, product)} is approved but requires "
                f"{' and '.join(_title(catalog, m) for m in missing)}"
            )
    return _forbidden("product_not_approved", message)


def _insufficient_scope(catalog: Catalog, call: str, permissions: Sequence[str]) -> Deny:
    needs = []
    for perm in permissions:
        grantors = catalog.granting_products(perm)
        where = f"granted by {_titles(catalog, grantors)}" if grantors else "no product needed"
        needs.append(f"{perm} ({where})")
    return _forbidden(
        "insufficient_scope",
        f"Not enough permissions to access: {call}. The token needs any one of: {', '.join(needs)}",
        bearer_challenge("insufficient_scope", scope=" ".join(permissions)),
    )


def _batch_get_ban(
    facts: RequestFacts, app: AppConfig, catalog: Catalog, products: Sequence[str], what: str
) -> Deny | None:
    # Community Management Development tier: "All APIs with BATCH_GET: No API calls allowed"
    # (seed, "How to Upgrade your Access Tier").
    if facts.restli_method is not RestliMethod.BATCH_GET:
        return None
    for product in products:
        tier = granted_tier(app, catalog, product)
        if tier is not None and not tier.batch_get:
            return _forbidden(
                "batch_get_forbidden",
                f"BATCH_GET calls are not allowed on the {tier.title} tier of "
                f"{_title(catalog, product)}: {what}",
            )
    return None


def _authorize(
    facts: RequestFacts, match: RouteMatch, token: TokenInfo, app: AppConfig, catalog: Catalog
) -> tuple[str, ...] | Deny:
    """The products a matched call counts against, or why it may not be made."""
    rule = match.rule
    call = call_name(match.route.resource, facts)
    # Audience Insights, Media Planning: the application holds the permission, the member's
    # scope plays no part (seed, "What permissions are available?").
    app_level = tuple(p for p in rule.app_products if _held(app, catalog, p))
    if app_level:
        return app_level
    if rule.app_products and not rule.permissions:
        return _product_not_approved(app, catalog, call, rule.app_products)

    approved = [p for p in match.products if _held(app, catalog, p)]
    if match.products and not approved:
        return _product_not_approved(app, catalog, call, match.products)
    if not rule.permissions:
        return tuple(approved)

    def usable(perm: str) -> bool:
        # A scope only counts when a product the app is approved for grants it; scopes no
        # product grants (openid, profile) count on their own.
        grantors = catalog.granting_products(perm)
        return perm in token.scopes and (not grantors or any(g in approved for g in grantors))

    used = [perm for perm in rule.permissions if usable(perm)]
    if not used:
        return _insufficient_scope(catalog, call, rule.permissions)
    return tuple(p for p in approved if any(p in catalog.granting_products(perm) for perm in used))


def decide(
    facts: RequestFacts,
    match: RouteMatch | None,
    token: TokenInfo,
    app: AppConfig,
    catalog: Catalog,
    unmatched: UnmatchedRoutes,
) -> Decision:
    """Admit the call with the quota buckets it is charged to, or deny it with a refusal.

    For a matched route, in order: app-level products (no scope needed); approval of a
    product that allows the call (403 product_not_approved); a scope granted by an approved
    product (403 insufficient_scope); the tier's BATCH_GET ban (403 batch_get_forbidden).
    A call no route matches is denied (route_not_in_catalog) or, when configured to forward,
    counted against every product of the app: the conservative choice, so a Development-tier
    quota cannot be dodged through an uncatalogued path. Before all of it, ``/rest/`` calls
    need an active ``LinkedIn-Version`` (``gateway.policy.versions``); after it, the tier's webhook
    rule applies (``gateway.webhooks.subscriptions``).
    """
    outdated = version_refusal(facts.api, facts.version, catalog.versions.sunset_through)
    if outdated is not None:
        return Deny(outdated)
    if match is None:
        if unmatched is UnmatchedRoutes.DENY:
            return _forbidden(
                "route_not_in_catalog",
                f"{facts.method} {facts.resource_path} is not in the gateway's route catalog",
            )
        products: tuple[str, ...] = tuple(app.products)
        what = f"{facts.method} {facts.resource_path}"
    else:
        authorized = _authorize(facts, match, token, app, catalog)
        if isinstance(authorized, Deny):
            return authorized
        # A call no product authorizes (openid's userinfo) is still an API call of this app:
        # the seed's Development quotas cover "All APIs".
        products = authorized or tuple(app.products)
        what = call_name(match.route.resource, facts)
    ban = _batch_get_ban(facts, app, catalog, products, what)
    if ban is not None:
        return ban
    no_webhooks = webhook_subscription_refusal(facts, app, catalog, products)
    if no_webhooks is not None:
        return Deny(no_webhooks)
    return Admit(
        match=match,
        products=products,
        # Per-route limits count in the same consume: all buckets admit the call, or none.
        buckets=quota_buckets(app, token.member, catalog, products)
        + route_buckets(app, token.member, match),
    )
