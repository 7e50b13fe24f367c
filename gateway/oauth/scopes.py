"""Scope lists and the check of requested scopes against an app's approved products. Pure.

LinkedIn takes a space-separated ``scope`` at authorization and answers with a
comma-separated one from the token and introspection endpoints (shared/authentication,
"Authorization Code Flow", "Token Introspection"); both forms are read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.catalog.model import Catalog
from gateway.settings.model import AppConfig

_SCOPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_SEPARATORS = re.compile(r"[\s,]+")


def parse_scopes(text: str) -> tuple[str, ...]:
    """The scopes of a space- or comma-separated list, in order, without repeats or blanks."""
    seen: dict[str, None] = {}
    for scope in _SEPARATORS.split(text.strip()):
        if scope:
            seen.setdefault(scope, None)
    return tuple(seen)


@dataclass(frozen=True)
class ScopeProblem:
    scope: str
    why: str

    def __str__(self) -> str:
        return f"{self.scope}: {self.why}"


def refused_scopes(
    scopes: tuple[str, ...], app: AppConfig, catalog: Catalog
) -> tuple[ScopeProblem, ...]:
    """Each requested scope the member could not grant to ``app``, with the reason.

    A scope must name a member permission of the catalog granted by a product the app is
    approved for; OpenID Connect scopes need no Marketing product. Audience Insights and
    Media Planning are application-level: "does not require any additional member
    permission to be passed in OAuth2 scope" (seed, "What permissions are available?").
    """
    problems: list[ScopeProblem] = []
    app_level = [p for p in catalog.products.values() if p.app_level]
    for scope in scopes:
        if not _SCOPE.match(scope):
            problems.append(ScopeProblem(scope[:100], "not a scope name"))
            continue
        level = next((p for p in app_level if p.name in scope.lower()), None)
        if level is not None:
            problems.append(
                ScopeProblem(
                    scope,
                    f"{level.title} is an application-level permission: it is assigned to "
                    "the application and never requested in a member's OAuth scope",
                )
            )
            continue
        permission = catalog.permissions.get(scope)
        if permission is None:
            problems.append(ScopeProblem(scope, "no LinkedIn product grants this permission"))
        elif permission.products and not set(permission.products) & set(app.products):
            titles = ", ".join(
                catalog.products[p].title if p in catalog.products else p
                for p in permission.products
            )
            problems.append(
                ScopeProblem(
                    scope,
                    f"granted by {titles}; app {app.name} is approved for none of them",
                )
            )
    return tuple(problems)
