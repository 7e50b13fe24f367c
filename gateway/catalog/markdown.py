"""docs/catalog.md: the catalog as a reference, product -> endpoint -> methods -> permissions
-> roles, then each seed permission with the endpoints it opens. Pure.

``linkedin-gateway catalog --markdown`` prints it; a test keeps docs/catalog.md equal to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.catalog.model import Catalog, Route, RouteRule
from gateway.catalog.render import render_methods
from gateway.catalog.routes import rule_products
from gateway.catalog.sources import is_unconfirmed

# OpenID Connect claims: they add fields to /v2/userinfo, which `openid` opens.
OPENID_CLAIMS = ("profile", "email")
USERINFO = "/v2/userinfo"


def _code(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) or "-"


def _grants(rule: RouteRule) -> str:
    parts = []
    if rule.permissions:
        parts.append(" or ".join(f"`{p}`" for p in rule.permissions))
    if rule.app_products:
        parts.append("app product " + " or ".join(f"`{p}`" for p in rule.app_products))
    return "; ".join(parts)


def opens(catalog: Catalog, permission: str) -> tuple[str, ...]:
    """Route patterns a token holding ``permission`` may call (for some method).

    The OpenID claims ``profile`` and ``email`` open ``/v2/userinfo`` together with
    ``openid``: they only add claims to its answer.
    """
    if permission in OPENID_CLAIMS:
        permission = "openid"
    return tuple(
        route.pattern
        for route in catalog.routes
        if any(permission in rule.permissions for rule in route.rules)
    )


def _product_routes(catalog: Catalog, product: str) -> list[tuple[Route, RouteRule]]:
    out = []
    for route in catalog.routes:
        for rule in route.rules:
            if product in rule_products(catalog, rule):
                out.append((route, rule))
    return out


def render_markdown(catalog: Catalog, sources: Mapping[str, str]) -> str:
    """The whole reference page; ``sources`` maps route patterns to their cited page."""
    lines = [
        "# The route catalog",
        "",
        "Generated from `config/catalog.yaml` by `linkedin-gateway catalog --markdown`; do not",
        "edit by hand (`tests/unit/test_catalog_markdown.py` fails when the two differ).",
        "",
        "A call is admitted on a route when the app holds a product granting one of the rule's",
        "permissions and the token holds that permission (or, for app-level products, when the",
        "app holds the product). Roles are the Company Page or Ad Account roles the member needs",
        "(checked for apps with `enforce_roles`). *Ad account*: writes name an ad account and",
        "count against the Advertising Development tier's editable accounts. Sources are paths",
        "under `learn.microsoft.com/en-us/linkedin/`; `[?]` marks what no page confirmed.",
        "",
        "## Products and their endpoints",
    ]
    for product in catalog.products.values():
        lines += ["", f"### {product.title} (`{product.name}`)", ""]
        rows = _product_routes(catalog, product.name)
        if not rows:
            lines.append("No endpoint.")
            continue
        lines += [
            "| endpoint | methods | permissions | roles | ad account | source |",
            "|---|---|---|---|---|---|",
        ]
        for route, rule in rows:
            lines.append(
                f"| `{route.pattern}` | {render_methods(rule.methods)} | {_grants(rule)} | "
                f"{_code(list(rule.roles))} | {'yes' if route.ad_account_scoped else 'no'} | "
                f"{sources.get(route.pattern, '') or '-'} |"
            )
    lines += [
        "",
        "## Permissions and the endpoints each opens",
        "",
        "| permission | granted by | endpoints |",
        "|---|---|---|",
    ]
    for permission in catalog.permissions.values():
        routes = opens(catalog, permission.name)
        granted = _code(list(permission.products)) if permission.products else "any application"
        shown = ", ".join(f"`{r}`" for r in routes) or "none"
        if permission.name in OPENID_CLAIMS:
            shown += " (claims, with `openid`)"
        lines.append(f"| `{permission.name}` | {granted} | {shown} |")
    unconfirmed = [r.pattern for r in catalog.routes if is_unconfirmed(sources.get(r.pattern, ""))]
    lines += ["", "## Not confirmed", ""]
    lines += [f"- `{pattern}`: {sources[pattern]}" for pattern in unconfirmed] or ["Nothing."]
    return "\n".join(lines) + "\n"
