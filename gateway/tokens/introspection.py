"""The introspection token source: ask LinkedIn about a token the static source lacks.

``POST {oauth_base}/introspectToken`` with an app's client_id and client_secret
(shared/authentication, "Token Introspection"). LinkedIn answers ``active: false`` for a
token of another app, so with several apps each is asked in turn until one owns the token.
The answer carries no member (see ``member.py``). ``read_introspection`` is pure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.oauth.client import Credentials, LinkedInOAuth, OAuthRefused, OAuthUnavailable
from gateway.oauth.scopes import parse_scopes
from gateway.settings.model import AppConfig
from gateway.support.metrics import INTROSPECTION_CALLS, Metrics
from gateway.tokens.budget import IntrospectionBudget
from gateway.tokens.cache import NegativeStatus

log = logging.getLogger("gateway.tokens")


@dataclass(frozen=True)
class Active:
    app: str
    scopes: frozenset[str]
    expires_at: float | None


@dataclass(frozen=True)
class Inactive:
    status: NegativeStatus
    # True when the asking app owns the token: no other app need be asked.
    owned: bool
    expires_at: float | None = None


class IntrospectionUnavailable(Exception):
    """The token could not be checked: the introspection endpoint is down, slow or refuses
    every app's credentials. The token is not admitted."""


class IntrospectionRateLimited(Exception):
    """An app's introspection budget is spent: the token is neither admitted nor refused
    as invalid (another app, not asked, may own it). ``retry_after`` in seconds."""

    def __init__(self, app: str, retry_after: float) -> None:
        super().__init__(f"the introspection budget of app {app} is spent")
        self.retry_after = retry_after


def read_introspection(
    answer: Mapping[str, Any], asked: str, apps_by_client_id: Mapping[str, str], now: float
) -> Active | Inactive:
    """What one introspectToken answer says, asked with client_id ``asked``.

    Active only when ``active`` is true, the status is ``active``, the expiry (epoch
    seconds) is after ``now`` and the owning client_id is a configured app's. An inactive
    token the asking app owns (its ``client_id`` in the answer) is final: revoked, expired
    or invalid; otherwise another app may own it.
    """
    client_id = answer.get("client_id")
    owner = client_id if isinstance(client_id, str) and client_id else asked
    status = answer.get("status")
    raw_expiry = answer.get("expires_at")
    expires_at = (
        float(raw_expiry)
        if isinstance(raw_expiry, int | float) and not isinstance(raw_expiry, bool)
        else None
    )
    owned = isinstance(client_id, str) and client_id == asked
    if answer.get("active") is not True or status in ("revoked", "expired"):
        if status == "revoked":
            return Inactive("revoked", owned, expires_at)
        if status == "expired":
            return Inactive("expired", owned, expires_at)
        return Inactive("invalid", owned, expires_at)
    if expires_at is not None and expires_at <= now:
        return Inactive("expired", True, expires_at)
    app = apps_by_client_id.get(owner)
    if app is None:
        return Inactive("invalid", False, expires_at)
    scope = answer.get("scope")
    scopes = frozenset(parse_scopes(scope)) if isinstance(scope, str) else frozenset()
    return Active(app, scopes, expires_at)


class IntrospectionSource:
    def __init__(
        self,
        client: LinkedInOAuth,
        apps: Sequence[AppConfig],
        metrics: Metrics,
        budget: IntrospectionBudget | None = None,
    ) -> None:
        self._client = client
        self._apps = tuple(apps)
        self._by_client_id = {app.client_id: app.name for app in apps}
        self._metrics = metrics
        self._budget = budget

    async def introspect(self, token: str, log_id: str, now: float) -> Active | Inactive:
        """Ask each app in turn. Raises IntrospectionUnavailable when the endpoint is down
        or slow (at the first such failure: it is the same endpoint for every app), or when
        no app owns the token and some app's credentials were refused;
        IntrospectionRateLimited when an app that must be asked has spent its budget."""
        refused = False
        for app in self._apps:
            wait = self._budget.take(app.name, now) if self._budget is not None else 0.0
            if wait > 0:
                self._count(app.name, "limited")
                raise IntrospectionRateLimited(app.name, wait)
            creds = Credentials(app.client_id, app.client_secret)
            try:
                answer = await self._client.introspect(creds, token)
            except OAuthUnavailable as exc:
                self._count(app.name, "error")
                log.warning("introspection of token %s failed: %s", log_id, exc)
                raise IntrospectionUnavailable(str(exc)) from None
            except OAuthRefused as exc:
                # The app's own credentials are wrong: a configuration problem, not an
                # answer about the token. Other apps may still own it.
                self._count(app.name, "refused")
                log.warning("introspection as app %s refused: %s", app.name, exc.error)
                refused = True
                continue
            verdict = read_introspection(answer, app.client_id, self._by_client_id, now)
            self._count(app.name, "active" if isinstance(verdict, Active) else "inactive")
            if isinstance(verdict, Active) or verdict.owned:
                return verdict
        if refused:
            raise IntrospectionUnavailable(
                "the introspection endpoint refused an app's credentials"
            )
        return Inactive("invalid", False)

    def _count(self, app: str, result: str) -> None:
        self._metrics.inc(INTROSPECTION_CALLS, app=app, result=result)
