"""The catalog as readable text: products, permissions, tiers, routes. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.catalog.model import Catalog, Product, Route, RouteRule, Tier
from gateway.restli.methods import READ_METHODS, WRITE_METHODS, RestliMethod

_METHOD_ORDER = {m: i for i, m in enumerate(RestliMethod)}


def _list(items: Iterable[str], empty: str = "-") -> str:
    joined = ", ".join(items)
    return joined or empty


def _limit(value: int | None) -> str:
    return "unlimited" if value is None else str(value)


def render_methods(methods: frozenset[RestliMethod]) -> str:
    """Methods as written in the catalog: READ / WRITE where a whole group is present."""
    parts: list[str] = []
    rest = set(methods)
    for alias, group in (("READ", READ_METHODS), ("WRITE", WRITE_METHODS)):
        if group <= rest:
            parts.append(alias)
            rest -= group
    parts.extend(m.value for m in sorted(rest, key=_METHOD_ORDER.__getitem__))
    return ", ".join(parts)


def _product_lines(product: Product) -> list[str]:
    tiers = [
        f"{name} (default)" if name == product.default_tier else name for name in product.tiers
    ]
    return [
        f"  {product.name}: {product.title}",
        f"    availability: {product.availability}",
        f"    how to request: {product.how_to_request}",
        "    app-level: "
        + (
            "yes (assigned to the application, never an OAuth scope)" if product.app_level else "no"
        ),
        f"    requires: {_list(product.requires)}",
        f"    tiers: {_list(tiers)}",
        f"    permissions: {_list(product.permissions)}",
    ]


def _tier_lines(tier: Tier) -> list[str]:
    lines = [f"  {tier.product}/{tier.name}: {tier.title}", f"    {tier.description}"]
    if tier.quota is None:
        lines.append("    quota: none")
    else:
        q = tier.quota
        lines.append(
            f"    quota: {_limit(q.app_per_window)} calls per app, "
            f"{_limit(q.member_per_window)} per member per app, window {q.window.value}"
        )
    lines.append(f"    BATCH_GET: {'allowed' if tier.batch_get else 'not allowed'}")
    lines.append(
        "    social action webhooks: "
        + ("push notifications" if tier.social_action_webhooks else "push notifications disabled")
    )
    if tier.ad_accounts is not None:
        a = tier.ad_accounts
        lines.append(
            "    ad accounts: "
            f"reads {'unlimited' if a.read_unlimited else 'limited'}; "
            f"test account creates {_limit(a.test_account_creates)}; "
            f"real account creates {'yes' if a.real_account_creates else 'no (Campaign Manager)'}; "
            f"editable accounts {_limit(a.editable_accounts)}"
        )
    if tier.development_months is not None:
        lines.append(f"    finish integration within {tier.development_months} months")
    return lines


def _rule_line(rule: RouteRule) -> str:
    grants: list[str] = []
    if rule.permissions:
        grants.append("any of " + " | ".join(rule.permissions))
    if rule.app_products:
        grants.append("app products " + " | ".join(rule.app_products))
    line = f"    {render_methods(rule.methods)} -> {'; '.join(grants)}"
    if rule.roles:
        line += f"  [roles: {', '.join(rule.roles)}]"
    return line


def _route_lines(route: Route) -> list[str]:
    return [f"  {route.pattern}", *(_rule_line(rule) for rule in route.rules)]


def render_catalog(catalog: Catalog) -> str:
    """The whole catalog as indented text, for ``check-config`` and operators."""
    lines = [
        f"Catalog {catalog.source}",
        f"Marketing versions through {catalog.versions.sunset_through} are sunset.",
        "",
        "Products",
    ]
    for product in catalog.products.values():
        lines.extend(_product_lines(product))
    lines += ["", "Permissions"]
    for permission in catalog.permissions.values():
        granted = _list(permission.products, empty="any application")
        lines.append(f"  {permission.name} [{permission.type}]: {permission.description}")
        lines.append(f"    granted by: {granted}")
    lines += ["", "Tiers"]
    for tier in catalog.tiers.values():
        lines.extend(_tier_lines(tier))
    if catalog.roles:
        lines += ["", "Roles"]
        lines.extend(f"  {group}: {_list(names)}" for group, names in catalog.roles.items())
    lines += ["", "Routes"]
    for route in catalog.routes:
        lines.extend(_route_lines(route))
    return "\n".join(lines) + "\n"
