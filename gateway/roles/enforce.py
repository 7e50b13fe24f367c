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

from gateway.catalog.model import Catalog, RouteMatch
from gateway.catalog.routes import match_route
from gateway.errors import GatewayError, Refusal, StoreError
from gateway.policy.decide import call_name
from gateway.quota.buckets import quota_buckets
from gateway.quota.charging import Charging
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import RestliMethod
from gateway.roles.cache import RoleCache
from gateway.roles.lookup import MAX_PAGES, LookupFailed, RoleLookup, finder_of
from gateway.roles.rules import (
    Named,
    entities_named,
    json_body,
    role_kind,
    role_refusal,
    roles_from_elements,
)
from gateway.settings.model import AppConfig, Settings
from gateway.support.metrics import ROLE_LOOKUPS, Metrics
from gateway.tokens.model import TokenInfo

log = logging.getLogger("gateway.roles")


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


@dataclass
class RoleEnforcement:
    """What role checks need: the catalog, the role cache, charging for the look-ups, and
    the look-up client (None until ``role_lookups`` starts one, and without roles to check)."""

    catalog: Catalog
    cache: RoleCache
    cache_seconds: float
    charging: Charging
    metrics: Metrics
    lookup: RoleLookup | None = None

    async def check(self, check: RoleCheck, now: float) -> None:
        """Raises the refusal when the member lacks the route's roles or a look-up failed."""
        rule = check.match.rule
        if not check.app.enforce_roles or not rule.roles:
            return
        kind = role_kind(rule.roles, self.catalog)
        if kind is None:
            return
        named: Named = entities_named(check.facts, check.match, json_body(check.body), kind)
        if named.as_member and not named.entities:
            return
        member = check.token.member or f"token-sha256-{check.token.digest}"
        held = await self._cached(check, member, kind, now)
        if held is None:
            looked_up = await self._look_up(check, kind, now)
            held = {entity: frozenset(roles) for entity, roles in looked_up.items()}
            try:
                await self.cache.put(
                    check.app.name, member, kind, looked_up, self.cache_seconds, now
                )
            except StoreError as exc:
                log.warning("role cache write failed: %s", exc)
        call = call_name(check.match.route.resource, check.facts)
        refused = role_refusal(kind, rule.roles, named, held, member, call)
        if refused is not None:
            log.info(
                "app=%s member=%s refused %s: %s", check.app.name, member, call, refused.message
            )
            raise GatewayError(refused)

    async def _cached(
        self, check: RoleCheck, member: str, kind: str, now: float
    ) -> dict[str, frozenset[str]] | None:
        try:
            return await self.cache.get(check.app.name, member, kind, now)
        except StoreError as exc:
            log.warning("role cache read failed, looking up: %s", exc)
            return None

    def _lookup_products(self, check: RoleCheck, kind: str) -> tuple[str, ...]:
        resource, _ = finder_of(check.facts.api, kind)
        api = "v2" if check.facts.api == "v2" else "rest"
        match = match_route(self.catalog, api, (resource,), RestliMethod.FINDER)
        held = tuple(p for p in (match.products if match else ()) if p in check.app.products)
        return held or tuple(check.app.products)

    async def _look_up(self, check: RoleCheck, kind: str, now: float) -> dict[str, set[str]]:
        lookup = self.lookup
        if lookup is None:
            raise GatewayError(_failed(502, "role look-ups are not available"))
        buckets = quota_buckets(
            check.app, check.token.member, self.catalog, self._lookup_products(check, kind)
        )
        roles: dict[str, set[str]] = {}
        start = 0
        for _ in range(MAX_PAGES):
            charged = await self.charging.charge(
                check.app.name, buckets, now, what="a role look-up"
            )
            try:
                page = await lookup.page(
                    check.facts.api, kind, check.authorization, check.facts.version, start
                )
            except LookupFailed as exc:
                self.metrics.inc(ROLE_LOOKUPS, app=check.app.name, outcome="failed")
                if not exc.sent:
                    await self.charging.refund(charged, now, what="a role look-up")
                log.warning("role look-up for app %s failed: %s", check.app.name, exc)
                status = 403 if exc.status in (401, 403) else 502
                raise GatewayError(
                    _failed(status, f"the member's roles could not be read: {exc}")
                ) from None
            self.metrics.inc(ROLE_LOOKUPS, app=check.app.name, outcome="ok")
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


async def role_lookups(
    roles: RoleEnforcement, settings: Settings, upstream_base: str
) -> AsyncIterator[None]:
    """A look-up client to the gateway's upstream while the application runs, when any app
    enforces roles."""
    if not any(a.enforce_roles for a in settings.apps.values()):
        yield
        return
    lookup = RoleLookup(
        upstream_base,
        connect_timeout=settings.upstream_connect_timeout,
        timeout=settings.upstream_timeout,
    )
    await lookup.start()
    roles.lookup = lookup
    try:
        yield
    finally:
        roles.lookup = None
        await lookup.close()
