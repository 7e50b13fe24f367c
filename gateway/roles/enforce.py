"""Role enforcement on the request path, for apps with ``enforce_roles: true``.

After the decision admits a call whose route rule names roles, the member's roles of that
kind come from the cache or, on a miss, from LinkedIn (``lookup``). Each look-up page is an
API call LinkedIn counts, so the gateway counts it too: it is charged to the app and member
buckets of the look-up route, atomically like any call; a refused charge answers the
original call with the 429, and a page that never reached LinkedIn is refunded. The
original call is charged as usual afterwards. Store failures follow ``on_store_error``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from gateway.catalog.model import RouteMatch
from gateway.catalog.routes import match_route
from gateway.errors import Refusal, StoreError
from gateway.policy.decide import call_name
from gateway.quota.buckets import quota_buckets
from gateway.quota.charging import charge, refund
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import RestliMethod
from gateway.roles.lookup import MAX_PAGES, LookupFailed, RoleLookup, finder_of
from gateway.roles.rules import (
    Named,
    entities_named,
    json_body,
    role_kind,
    role_refusal,
    roles_from_elements,
)
from gateway.runtime import RUNTIME, Runtime
from gateway.settings.model import AppConfig
from gateway.support.metrics import ROLE_LOOKUPS
from gateway.tokens.model import TokenInfo

log = logging.getLogger("gateway.roles")

LOOKUPS_METRIC = ROLE_LOOKUPS


@dataclass(frozen=True)
class RoleCheck:
    """What the request path hands over: the admitted call and how to look roles up."""

    app: AppConfig
    token: TokenInfo
    facts: RequestFacts
    match: RouteMatch
    body: bytes | None
    authorization: str


def wants_body(app: AppConfig, method: str) -> bool:
    """True when role enforcement needs the request body (entities named in JSON)."""
    return app.enforce_roles and method in ("POST", "PUT")


async def check_roles(runtime: Runtime, check: RoleCheck, now: float) -> Refusal | None:
    """A refusal when the member lacks the route's roles (or a look-up failed), else None."""
    rule = check.match.rule
    if not check.app.enforce_roles or not rule.roles:
        return None
    kind = role_kind(rule.roles, runtime.settings.catalog)
    if kind is None:
        return None
    named: Named = entities_named(check.facts, check.match, json_body(check.body), kind)
    if named.as_member and not named.entities:
        return None
    member = check.token.member or f"token-sha256-{check.token.digest}"
    held = await _cached(runtime, check, member, kind, now)
    if held is None:
        looked_up = await _look_up(runtime, check, kind, now)
        if isinstance(looked_up, Refusal):
            return looked_up
        held = {entity: frozenset(roles) for entity, roles in looked_up.items()}
        try:
            await runtime.role_cache.put(
                check.app.name, member, kind, looked_up, runtime.settings.role_cache_seconds, now
            )
        except StoreError as exc:
            log.warning("role cache write failed: %s", exc)
    call = call_name(check.match.route.resource, check.facts)
    refused = role_refusal(kind, rule.roles, named, held, member, call)
    if refused is not None:
        log.info("app=%s member=%s refused %s: %s", check.app.name, member, call, refused.message)
    return refused


async def _cached(
    runtime: Runtime, check: RoleCheck, member: str, kind: str, now: float
) -> dict[str, frozenset[str]] | None:
    try:
        return await runtime.role_cache.get(check.app.name, member, kind, now)
    except StoreError as exc:
        log.warning("role cache read failed, looking up: %s", exc)
        return None


def _lookup_products(runtime: Runtime, check: RoleCheck, kind: str) -> tuple[str, ...]:
    catalog = runtime.settings.catalog
    resource, _ = finder_of(check.facts.api, kind)
    api = "v2" if check.facts.api == "v2" else "rest"
    match = match_route(catalog, api, (resource,), RestliMethod.FINDER)
    held = tuple(p for p in (match.products if match else ()) if p in check.app.products)
    return held or tuple(check.app.products)


async def _look_up(
    runtime: Runtime, check: RoleCheck, kind: str, now: float
) -> dict[str, set[str]] | Refusal:
    lookup = runtime.role_lookup
    if lookup is None:
        return _failed(502, "role look-ups are not available")
    buckets = quota_buckets(
        check.app,
        check.token.member,
        runtime.settings.catalog,
        _lookup_products(runtime, check, kind),
    )
    roles: dict[str, set[str]] = {}
    start = 0
    for _ in range(MAX_PAGES):
        charged = await charge(runtime, check.app.name, buckets, now, what="a role look-up")
        if isinstance(charged, Refusal):
            return charged
        try:
            page = await lookup.page(
                check.facts.api, kind, check.authorization, check.facts.version, start
            )
        except LookupFailed as exc:
            runtime.metrics.inc(LOOKUPS_METRIC, app=check.app.name, outcome="failed")
            if not exc.sent:
                await refund(runtime, charged, now, what="a role look-up")
            log.warning("role look-up for app %s failed: %s", check.app.name, exc)
            status = 403 if exc.status in (401, 403) else 502
            return _failed(status, f"the member's roles could not be read: {exc}")
        runtime.metrics.inc(LOOKUPS_METRIC, app=check.app.name, outcome="ok")
        for entity, held in roles_from_elements(kind, page.elements).items():
            roles.setdefault(entity, set()).update(held)
        if not page.more:
            break
        start += len(page.elements)
    return roles


def _failed(status: int, message: str) -> Refusal:
    return Refusal(
        status=status,
        reason="role_lookup_failed",
        code="ACCESS_DENIED" if status == 403 else "BAD_GATEWAY",
        message=message,
        service_error_code=100 if status == 403 else None,
    )


def role_lookup_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: a look-up client to the gateway's upstream while the application runs."""

    async def context() -> AsyncIterator[None]:
        runtime = app[RUNTIME]
        if not any(a.enforce_roles for a in runtime.settings.apps.values()):
            yield
            return
        lookup = RoleLookup(
            runtime.upstream.base_url,
            connect_timeout=runtime.settings.upstream_connect_timeout,
            timeout=runtime.settings.upstream_timeout,
        )
        await lookup.start()
        runtime.role_lookup = lookup
        try:
            yield
        finally:
            runtime.role_lookup = None
            await lookup.close()

    return context()
