"""The authorization-code flow through the gateway: authorize, callback, refresh.

``/oauth/authorize`` checks the requested scopes against the app's approved products
before the member is sent anywhere, then sends them to LinkedIn with a state the gateway
generates and keeps single-use in the state store (apart from tokens; a bucket per client
address bounds how fast states are made), a PKCE challenge, and a cookie that binds the
flow to the browser (``gateway.oauth.binding``). ``/oauth/callback`` claims that state,
refuses it without its cookie, exchanges the code (client_secret_post, with the PKCE
code_verifier), verifies the id_token when ``openid`` was asked,
records token -> (app, member, scopes, expiry) in the token cache by SHA-256 and returns
what the app's ``return_url`` must receive. ``/oauth/refresh`` does the same for a refresh
token. Nothing is recorded unless every check passed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import MultiMapping

from gateway.errors import GatewayError, Refusal, StoreError
from gateway.oauth.binding import (
    PKCE_METHOD,
    Binding,
    bound,
    code_challenge,
    new_binding,
    new_code_verifier,
)
from gateway.oauth.client import (
    Credentials,
    LinkedInOAuth,
    OAuthRefused,
    OAuthUnavailable,
    TokenGrant,
)
from gateway.oauth.discovery import OpenIdProvider
from gateway.oauth.idtoken import IdTokenError
from gateway.oauth.scopes import parse_scopes, refused_scopes
from gateway.oauth.state_limit import StateLimiter
from gateway.settings.model import AppConfig, Settings
from gateway.support.metrics import OAUTH_TOKENS_RECORDED, Metrics
from gateway.tokens.cache import Cached, TokenCache
from gateway.tokens.kv import USED, SharedKV
from gateway.tokens.model import TokenInfo, token_digest

STATE_PREFIX = "lgw:oauth:state:"
# LinkedIn: refresh tokens live 365 days from the first authorization (programmatic-refresh-tokens).
REFRESH_TOKEN_SECONDS = 365 * 86400
_CALLER_STATE = re.compile(r"^[\x21-\x7e]{1,500}$")
_MEMBER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_CODES = {
    400: "BAD_REQUEST",
    429: "TOO_MANY_REQUESTS",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
}


def flow_refusal(
    reason: str, message: str, status: int = 400, retry_after: float | None = None
) -> GatewayError:
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return GatewayError(
        Refusal(
            status=status,
            reason=reason,
            code=_CODES.get(status, "BAD_REQUEST"),
            message=message,
            headers=headers,
        )
    )


def state_key(state: str) -> str:
    return STATE_PREFIX + hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class TokenHandoff:
    """What the app's return_url receives (as a form POST, never in a URL)."""

    return_url: str
    fields: Mapping[str, str]
    # The binding cookie the flow used up: the answer clears it.
    cookie: str | None = None


@dataclass(frozen=True)
class Authorization:
    """Where to send the member, and the cookie that binds the flow to their browser."""

    location: str
    binding: Binding


def single(params: MultiMapping[str], name: str, *, required: bool = True) -> str | None:
    """One parameter's value; a repeated or (when required) missing one is a bad request."""
    values = params.getall(name, [])
    if len(values) > 1:
        raise flow_refusal("oauth_bad_request", f"the {name} parameter is repeated")
    if not values or not values[0]:
        if required:
            raise flow_refusal("oauth_bad_request", f"the {name} parameter is required")
        return None
    return values[0]


class OAuthFlow:
    def __init__(
        self,
        settings: Settings,
        client: LinkedInOAuth,
        provider: OpenIdProvider,
        states: SharedKV,
        cache: TokenCache,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._client = client
        self._provider = provider
        self._states = states
        self._cache = cache
        self._metrics = metrics
        self._limiter = StateLimiter(settings.public.oauth_state_limit)

    async def authorize(
        self,
        query: MultiMapping[str],
        now: float,
        *,
        client_address: str | None = None,
        tls: bool = False,
    ) -> Authorization:
        """LinkedIn's authorization URL and the binding cookie, or GatewayError (400, 429
        past the client address's state budget, 503 when the state cannot be kept).

        ``tls``: the request reached the gateway over TLS (the cookie is then ``Secure``,
        as it is whenever the app's redirect_uri is https)."""
        app = self._app(single(query, "app"))
        scope_text = single(query, "scope")
        assert scope_text is not None
        scopes = parse_scopes(scope_text)
        if not scopes:
            raise flow_refusal("oauth_bad_request", "the scope parameter names no scope")
        caller_state = single(query, "state", required=False)
        if caller_state is not None and not _CALLER_STATE.match(caller_state):
            raise flow_refusal("oauth_bad_request", "state must be 1-500 visible ASCII characters")
        problems = refused_scopes(scopes, app, self._settings.catalog)
        if problems:
            raise flow_refusal(
                "scope_refused",
                f"app {app.name} cannot ask for these scopes: "
                + "; ".join(str(p) for p in problems),
            )
        assert app.redirect_uri is not None
        wait = self._limiter.take(client_address, now)
        if wait > 0:
            raise flow_refusal(
                "oauth_state_rate_limited",
                "too many sign-ins started from this address; retry later",
                429,
                retry_after=wait,
            )
        state = secrets.token_urlsafe(32)
        binding = new_binding(state, secure=tls or app.redirect_uri.startswith("https://"))
        verifier = new_code_verifier()
        record = {
            "app": app.name,
            "caller_state": caller_state,
            "scopes": list(scopes),
            "redirect_uri": app.redirect_uri,
            "cookie": binding.name,
            "binding": binding.digest,
            "code_verifier": verifier,
        }
        try:
            await self._states.put(
                state_key(state),
                json.dumps(record, separators=(",", ":")),
                self._settings.oauth.state_seconds,
                now,
            )
        except StoreError:
            raise flow_refusal(
                "state_store_unavailable", "the gateway cannot keep the flow's state now", 503
            ) from None
        location = self._client.authorization_url(
            app.client_id,
            app.redirect_uri,
            scopes,
            state,
            code_challenge=code_challenge(verifier),
            code_challenge_method=PKCE_METHOD,
        )
        return Authorization(location, binding)

    async def callback(
        self, query: MultiMapping[str], cookies: Mapping[str, str], now: float
    ) -> TokenHandoff:
        """Claim the state, check its cookie, exchange the code, verify, record; what to
        deliver to the app."""
        record, app = await self._claim(single(query, "state", required=False), now)
        cookie_name = record.get("cookie")
        if not isinstance(cookie_name, str) or not bound(
            record.get("binding"), cookies.get(cookie_name)
        ):
            raise flow_refusal(
                "state_not_bound",
                "this sign-in was not started in this browser: start again from the app",
            )
        verifier = record.get("code_verifier")
        if not isinstance(verifier, str):
            raise flow_refusal("state_unknown", "the state holds no PKCE code_verifier")
        caller_state = record.get("caller_state")
        base = {"app": app.name}
        if isinstance(caller_state, str):
            base["state"] = caller_state
        assert app.return_url is not None
        error = single(query, "error", required=False)
        if error is not None:
            # The member declined, or LinkedIn refused the request: the app should know.
            description = single(query, "error_description", required=False) or ""
            return TokenHandoff(
                app.return_url,
                {**base, "error": error[:100], "error_description": description[:300]},
                cookie_name,
            )
        code = single(query, "code")
        assert code is not None and app.redirect_uri is not None
        creds = Credentials(app.client_id, app.client_secret)
        try:
            grant = await self._client.exchange_code(creds, code, app.redirect_uri, verifier)
        except OAuthRefused as exc:
            raise _exchange_refused(exc) from None
        except OAuthUnavailable as exc:
            raise flow_refusal(
                "oauth_unavailable", f"LinkedIn's token endpoint failed: {exc}", 503
            ) from None
        requested = tuple(str(s) for s in record.get("scopes", []))
        member = await self._member(grant, app, requested, now)
        scopes = grant.scopes or requested
        await self._record(app, member, scopes, grant, now)
        self._metrics.inc(OAUTH_TOKENS_RECORDED, app=app.name, grant="code")
        fields = _grant_fields(grant, scopes, member)
        return TokenHandoff(
            app.return_url, {**base, **{k: str(v) for k, v in fields.items()}}, cookie_name
        )

    async def refresh(self, form: MultiMapping[str], now: float) -> dict[str, Any]:
        """A new access token for a refresh token (grant_type=refresh_token)."""
        app = self._app(single(form, "app"), need_flow=False)
        refresh_token = single(form, "refresh_token")
        assert refresh_token is not None
        creds = Credentials(app.client_id, app.client_secret)
        try:
            grant = await self._client.refresh(creds, refresh_token)
        except OAuthRefused as exc:
            raise flow_refusal(
                "refresh_failed",
                f"LinkedIn refused the refresh token: {exc.error}: {exc.description}",
            ) from None
        except OAuthUnavailable as exc:
            raise flow_refusal(
                "oauth_unavailable", f"LinkedIn's token endpoint failed: {exc}", 503
            ) from None
        owner = await self._cache.refresh_owner(token_digest(refresh_token), now)
        member = owner[1] if owner is not None and owner[0] == app.name else None
        if grant.refresh_token is None:
            # LinkedIn keeps the refresh token; its life is not extended by refreshing.
            grant = TokenGrant(
                access_token=grant.access_token,
                expires_in=grant.expires_in,
                scopes=grant.scopes,
                refresh_token=refresh_token,
                refresh_token_expires_in=grant.refresh_token_expires_in,
                id_token=grant.id_token,
            )
        await self._record(app, member, grant.scopes, grant, now)
        self._metrics.inc(OAUTH_TOKENS_RECORDED, app=app.name, grant="refresh")
        return {"app": app.name, **_grant_fields(grant, grant.scopes, member)}

    def _app(self, name: str | None, *, need_flow: bool = True) -> AppConfig:
        app = self._settings.apps.get(name or "")
        if app is None:
            raise flow_refusal("oauth_bad_request", f"unknown app {str(name)[:64]!r}")
        if need_flow and (app.redirect_uri is None or app.return_url is None):
            raise flow_refusal(
                "oauth_bad_request",
                f"app {app.name} has no redirect_uri and return_url: its flow is not set up",
            )
        return app

    async def _claim(self, state: str | None, now: float) -> tuple[dict[str, Any], AppConfig]:
        if state is None:
            raise flow_refusal("state_unknown", "the callback carries no state")
        try:
            raw = await self._states.claim(state_key(state), now)
        except StoreError:
            raise flow_refusal(
                "state_store_unavailable", "the gateway cannot check the flow's state now", 503
            ) from None
        if raw == USED:
            raise flow_refusal("state_replayed", "this state was already used: start again")
        if raw is None:
            raise flow_refusal(
                "state_unknown", "the state is not one the gateway issued, or it expired"
            )
        try:
            record = json.loads(raw)
            app = self._settings.apps.get(record["app"])
        except (ValueError, KeyError, TypeError):
            app = None
        if app is None or app.return_url is None:
            raise flow_refusal("state_unknown", "the state names no app this gateway serves")
        if record.get("redirect_uri") != app.redirect_uri:
            raise flow_refusal(
                "redirect_uri_mismatch",
                f"app {app.name}'s redirect_uri changed during the flow: start again",
            )
        return record, app

    async def _member(
        self, grant: TokenGrant, app: AppConfig, requested: tuple[str, ...], now: float
    ) -> str | None:
        if "openid" not in requested:
            return None
        if grant.id_token is None:
            raise flow_refusal("id_token_missing", "openid was requested but no id_token came back")
        try:
            claims = await self._provider.verify(grant.id_token, app.client_id, now)
        except IdTokenError as exc:
            raise flow_refusal(exc.reason, f"the id_token is refused: {exc}") from None
        except OAuthUnavailable as exc:
            raise flow_refusal(
                "oauth_unavailable", f"LinkedIn's OpenID keys are unavailable: {exc}", 503
            ) from None
        sub = str(claims["sub"])
        if not _MEMBER_ID.match(sub):
            raise flow_refusal("id_token_malformed", "the id_token's sub is not a member id")
        return f"urn:li:person:{sub}"

    async def _record(
        self,
        app: AppConfig,
        member: str | None,
        scopes: tuple[str, ...],
        grant: TokenGrant,
        now: float,
    ) -> None:
        info = TokenInfo(
            token_digest(grant.access_token),
            app.name,
            member,
            frozenset(scopes),
            now + grant.expires_in,
        )
        if scopes:
            await self._cache.store(Cached(info, "flow"), now)
        elif member is not None:
            await self._cache.store_member(info, member, now)
        if grant.refresh_token is not None:
            ttl = grant.refresh_token_expires_in or REFRESH_TOKEN_SECONDS
            await self._cache.store_refresh(
                token_digest(grant.refresh_token), app.name, member, ttl, now
            )


def _exchange_refused(exc: OAuthRefused) -> GatewayError:
    text = f"{exc.error}: {exc.description}"
    if exc.error == "invalid_redirect_uri":
        return flow_refusal("redirect_uri_mismatch", f"LinkedIn refused the redirect URI: {text}")
    return flow_refusal("token_exchange_failed", f"LinkedIn refused the authorization code: {text}")


def _grant_fields(
    grant: TokenGrant, scopes: tuple[str, ...], member: str | None
) -> dict[str, str | int]:
    fields: dict[str, str | int] = {
        "access_token": grant.access_token,
        "expires_in": grant.expires_in,
        "scope": " ".join(scopes),
        "token_type": "Bearer",
    }
    if grant.refresh_token is not None:
        fields["refresh_token"] = grant.refresh_token
    if grant.refresh_token_expires_in is not None:
        fields["refresh_token_expires_in"] = grant.refresh_token_expires_in
    if member is not None:
        fields["member"] = member
    return fields
