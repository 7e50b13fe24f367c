"""The sandbox's LinkedIn OAuth side, so the whole flow runs offline.

Endpoints, as LinkedIn's (shared/authentication: "Authorization Code Flow", "Programmatic
Refresh Tokens", "Token Introspection"; Sign In with LinkedIn using OpenID Connect):

``GET /oauth/v2/authorization``
    Auto-consents for the configured member: 302 to ``redirect_uri`` with ``code`` and
    ``state`` (codes live 30 minutes, single use). With ``consent`` off: ``error`` instead.
    A PKCE ``code_challenge`` (RFC 7636; ``S256`` only, ``plain`` is refused) is kept with
    the code.
``POST /oauth/v2/accessToken``
    ``authorization_code`` (the ``redirect_uri`` must equal the authorization's; a code
    issued with a challenge needs the ``code_verifier`` whose S256 digest it is) and
    ``refresh_token``: access tokens live 60 days; refresh tokens 365 days from the first
    authorization, not extended by refreshing. An ``id_token`` (RS256) when ``openid``.
``POST /oauth/v2/introspectToken`` / ``POST /oauth/v2/revoke``
    ``{"active", "client_id", "status", "scope": "a,b", "expires_at", ...}`` for a token
    issued to the asking client; ``{"active": false}`` for any other.
``GET /oauth/.well-known/openid-configuration`` / ``GET /oauth/openid/jwks``
    Issuer ``<origin>/oauth``; one RS256 key, generated when first needed.

Tokens it issued are known by SHA-256, with their client_id, member and scopes; a revoked
or expired one gets LinkedIn's 401 (65601 / 65602) on every API path, and ``/v2/userinfo``
(needs ``openid``) and ``/v2/me`` (needs ``r_basicprofile`` or ``r_liteprofile``) answer
for its member. Any other token keeps working as before.

Test knobs: ``GET /__sandbox/oauth`` (calls per endpoint, knobs) and ``POST
/__sandbox/oauth`` with a JSON object setting ``member``, ``consent``,
``introspection_delay`` (seconds), ``introspection_status`` (answer that status),
``id_token_fault`` (``bad_signature``, ``wrong_issuer``, ``wrong_audience``, ``expired``,
``not_yet_valid`` (``nbf`` in the future), ``audience_list`` (``aud`` a list, no ``azp``),
``other_azp``);
``clients`` (client_id -> secret) and ``redirect_uris`` (client_id -> [uri]) register
apps (unregistered clients are accepted with any secret).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from gateway.restli.facts import RequestFacts
from gateway.sandbox.fixtures import member_id, seed
from gateway.sandbox.wire import error_response, json_response, status_error_body

ACCESS_SECONDS = 60 * 86400
REFRESH_SECONDS = 365 * 86400
CODE_SECONDS = 30 * 60
ID_TOKEN_SECONDS = 3600
FAULTS = frozenset(
    {
        "bad_signature",
        "wrong_issuer",
        "wrong_audience",
        "expired",
        "not_yet_valid",
        "audience_list",
        "other_azp",
    }
)
# Which scopes each member endpoint needs.
MEMBER_ENDPOINTS = {"userinfo": ("openid",), "me": ("r_basicprofile", "r_liteprofile")}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Issued:
    client_id: str
    member: str
    scopes: tuple[str, ...]
    created_at: float
    expires_at: float
    revoked: bool = False

    def status(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


@dataclass(frozen=True)
class Grant:
    """What a refresh token stands for, and what a code does besides its redirect and PKCE."""

    client_id: str
    member: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass(frozen=True)
class CodeGrant(Grant):
    redirect_uri: str
    code_challenge: str | None = None


@dataclass
class SandboxOAuth:
    member: str
    clock: Callable[[], float] = time.time
    consent: bool = True
    clients: dict[str, str] = field(default_factory=dict)
    redirect_uris: dict[str, list[str]] = field(default_factory=dict)
    introspection_delay: float = 0.0
    introspection_status: int | None = None
    id_token_fault: str | None = None
    calls: Counter[str] = field(default_factory=Counter)
    tokens: dict[str, Issued] = field(default_factory=dict)
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    _key: RSAKey | None = None

    @property
    def key(self) -> RSAKey:
        if self._key is None:
            kid = secrets.token_hex(8)
            self._key = RSAKey.generate_key(
                2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}
            )
        return self._key

    def issued(self, token: str) -> Issued | None:
        return self.tokens.get(digest(token))

    def issue(self, client_id: str, member: str, scopes: tuple[str, ...]) -> str:
        token = "AQ" + secrets.token_urlsafe(48)
        now = self.clock()
        self.tokens[digest(token)] = Issued(client_id, member, scopes, now, now + ACCESS_SECONDS)
        return token

    def snapshot(self) -> dict[str, object]:
        return {
            "calls": dict(sorted(self.calls.items())),
            "member": self.member,
            "consent": self.consent,
            "introspection_delay": self.introspection_delay,
            "introspection_status": self.introspection_status,
            "id_token_fault": self.id_token_fault,
            "tokens": len(self.tokens),
        }


SANDBOX_OAUTH = web.AppKey("sandbox_oauth", SandboxOAuth)


def add_oauth(app: web.Application, member: str) -> None:
    """Give a sandbox application LinkedIn's OAuth side (before its catch-all route)."""
    app[SANDBOX_OAUTH] = SandboxOAuth(member)
    app.router.add_get("/oauth/v2/authorization", _authorization)
    app.router.add_post("/oauth/v2/accessToken", _access_token)
    app.router.add_post("/oauth/v2/introspectToken", _introspect)
    app.router.add_post("/oauth/v2/revoke", _revoke)
    app.router.add_get("/oauth/.well-known/openid-configuration", _discovery)
    app.router.add_get("/oauth/openid/jwks", _jwks)
    app.router.add_get("/__sandbox/oauth", _knobs)
    app.router.add_post("/__sandbox/oauth", _set_knobs)


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def issued_token_refusal(request: web.Request) -> web.Response | None:
    """LinkedIn's 401 for a revoked (65601) or expired (65602) token this sandbox issued."""
    oauth = request.app[SANDBOX_OAUTH]
    token = _bearer(request)
    issued = oauth.issued(token) if token else None
    if issued is None:
        return None
    status = issued.status(oauth.clock())
    if status == "revoked":
        return error_response(
            401,
            "REVOKED_ACCESS_TOKEN",
            "The token used in the request has been revoked by the user",
            65601,
        )
    if status == "expired":
        return error_response(
            401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602
        )
    return None


def member_answer(request: web.Request, facts: RequestFacts) -> web.Response | None:
    """``/v2/userinfo`` and ``/v2/me`` for the member of a token this sandbox issued."""
    if facts.api != "v2" or len(facts.segments) != 1 or facts.segments[0] not in MEMBER_ENDPOINTS:
        return None
    oauth = request.app[SANDBOX_OAUTH]
    token = _bearer(request)
    issued = oauth.issued(token) if token else None
    if issued is None:
        return None
    name = facts.segments[0]
    oauth.calls[name] += 1
    if not set(MEMBER_ENDPOINTS[name]) & set(issued.scopes):
        message = f"Not enough permissions to access: {name}.GET.NO_VERSION"
        return json_response(status_error_body(403, message), status=403)
    return json_response(seed(issued.member).singletons[("v2", (name,))])


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return json_response({"error": error, "error_description": description}, status=status)


async def _client_form(request: web.Request, oauth: SandboxOAuth) -> dict[str, str] | web.Response:
    """The posted form of a client call, or the error LinkedIn sends when it names no
    client or a known client with the wrong secret."""
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    client_id = form.get("client_id", "")
    if not client_id:
        return _oauth_error(400, "invalid_request", "A required parameter client_id is missing")
    known = oauth.clients.get(client_id)
    if known is not None and not secrets.compare_digest(known, form.get("client_secret", "")):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    return form


async def _counted_client_form(
    request: web.Request, call: str
) -> tuple[SandboxOAuth, dict[str, str] | web.Response]:
    """The sandbox's OAuth side, having counted ``call``, and what _client_form says."""
    oauth = request.app[SANDBOX_OAUTH]
    oauth.calls[call] += 1
    return oauth, await _client_form(request, oauth)


async def _authorization(request: web.Request) -> web.Response:
    oauth = request.app[SANDBOX_OAUTH]
    oauth.calls["authorization"] += 1
    query = request.query
    client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
    if query.get("response_type") != "code" or not client_id or not redirect_uri:
        return _oauth_error(
            400, "invalid_request", "response_type=code, client_id and redirect_uri are required"
        )
    registered = oauth.redirect_uris.get(client_id)
    if registered is not None and redirect_uri not in registered:
        return _oauth_error(
            400, "invalid_redirect_uri", "The redirect_uri does not match the registered value"
        )
    state = query.get("state")
    challenge = query.get("code_challenge")
    if challenge is not None and query.get("code_challenge_method") != "S256":
        return _oauth_error(400, "invalid_request", "code_challenge_method must be S256")
    if not oauth.consent:
        params = {
            "error": "user_cancelled_authorize",
            "error_description": "The user cancelled the authorization",
        }
    else:
        code = secrets.token_urlsafe(32)
        scopes = tuple(query.get("scope", "").replace(",", " ").split())
        oauth.codes[code] = CodeGrant(
            client_id=client_id,
            member=oauth.member,
            scopes=scopes,
            expires_at=oauth.clock() + CODE_SECONDS,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
        )
        params = {"code": code}
    if state is not None:
        params["state"] = state
    separator = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(redirect_uri + separator + urlencode(params))


async def _access_token(request: web.Request) -> web.Response:
    oauth, form = await _counted_client_form(request, "accessToken")
    if isinstance(form, web.Response):
        return form
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(request, oauth, form)
    if grant_type == "refresh_token":
        return _exchange_refresh(oauth, form)
    return _oauth_error(
        400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
    )


def _exchange_code(request: web.Request, oauth: SandboxOAuth, form: dict[str, str]) -> web.Response:
    grant = oauth.codes.pop(form.get("code", ""), None)
    now = oauth.clock()
    if grant is None or grant.expires_at <= now or grant.client_id != form["client_id"]:
        return _oauth_error(
            400,
            "invalid_request",
            "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
            "authorization code. Or authorization code expired.",
        )
    if grant.redirect_uri != form.get("redirect_uri"):
        return _oauth_error(
            400, "invalid_redirect_uri", "The redirect_uri does not match the authorization request"
        )
    if grant.code_challenge is not None and not secrets.compare_digest(
        grant.code_challenge, _s256(form.get("code_verifier", ""))
    ):
        oauth.calls["pkce_refused"] += 1
        return _oauth_error(
            400,
            "invalid_request",
            "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
            "authorization code. Or authorization code expired.",
        )
    token = oauth.issue(grant.client_id, grant.member, grant.scopes)
    refresh = "AQ" + secrets.token_urlsafe(48)
    oauth.refresh_tokens[digest(refresh)] = Grant(
        grant.client_id, grant.member, grant.scopes, now + REFRESH_SECONDS
    )
    answer: dict[str, Any] = {
        "access_token": token,
        "expires_in": ACCESS_SECONDS,
        "refresh_token": refresh,
        "refresh_token_expires_in": REFRESH_SECONDS,
        "scope": ",".join(grant.scopes),
        "token_type": "Bearer",
    }
    if "openid" in grant.scopes:
        answer["id_token"] = _id_token(request, oauth, grant.client_id, grant.member, now)
    return json_response(answer)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _exchange_refresh(oauth: SandboxOAuth, form: dict[str, str]) -> web.Response:
    refresh = form.get("refresh_token", "")
    grant = oauth.refresh_tokens.get(digest(refresh))
    now = oauth.clock()
    if grant is None or grant.client_id != form["client_id"] or grant.expires_at <= now:
        return _oauth_error(
            400, "invalid_request", "The provided refresh token is invalid or expired"
        )
    token = oauth.issue(grant.client_id, grant.member, grant.scopes)
    return json_response(
        {
            "access_token": token,
            "expires_in": ACCESS_SECONDS,
            "refresh_token": refresh,
            # Refreshing does not extend the refresh token's life (programmatic-refresh-tokens).
            "refresh_token_expires_in": int(grant.expires_at - now),
            "scope": ",".join(grant.scopes),
            "token_type": "Bearer",
        }
    )


def _id_token(
    request: web.Request, oauth: SandboxOAuth, client_id: str, member: str, now: float
) -> str:
    fault = oauth.id_token_fault
    issued_at = int(now) - (2 * ID_TOKEN_SECONDS if fault == "expired" else 0)
    claims: dict[str, Any] = {
        "iss": "https://elsewhere.example/oauth" if fault == "wrong_issuer" else _issuer(request),
        "aud": "another-client" if fault == "wrong_audience" else client_id,
        "iat": issued_at,
        "exp": issued_at + ID_TOKEN_SECONDS,
        "sub": member_id(member),
        "name": "Sandy Box",
        "email": "sandy.box@example.com",
        "email_verified": True,
    }
    if fault == "not_yet_valid":
        claims["nbf"] = issued_at + ID_TOKEN_SECONDS // 2
    elif fault == "audience_list":
        # Meant for another party as well, and not issued to this client (no azp).
        claims["aud"] = [client_id, "another-client"]
    elif fault == "other_azp":
        claims["azp"] = "another-client"
    key = oauth.key
    if fault == "bad_signature":
        # Same key id, other key: only the signature can tell.
        key = RSAKey.generate_key(2048, parameters={"kid": oauth.key.kid or ""})
    return jwt.encode({"alg": "RS256", "kid": oauth.key.kid}, claims, key)


def _issuer(request: web.Request) -> str:
    return f"{request.url.origin()}/oauth"


async def _introspect(request: web.Request) -> web.Response:
    oauth = request.app[SANDBOX_OAUTH]
    oauth.calls["introspectToken"] += 1
    if oauth.introspection_delay:
        await asyncio.sleep(oauth.introspection_delay)
    if oauth.introspection_status is not None:
        forced = oauth.introspection_status
        return json_response(status_error_body(forced), status=forced)
    form = await _client_form(request, oauth)
    if isinstance(form, web.Response):
        return form
    issued = oauth.issued(form.get("token", ""))
    if issued is None or issued.client_id != form["client_id"]:
        return json_response({"active": False})
    status = issued.status(oauth.clock())
    return json_response(
        {
            "active": status == "active",
            "client_id": issued.client_id,
            "authorized_at": int(issued.created_at),
            "created_at": int(issued.created_at),
            "status": status,
            "expires_at": int(issued.expires_at),
            "scope": ",".join(issued.scopes),
            "auth_type": "3L",
        }
    )


async def _revoke(request: web.Request) -> web.Response:
    oauth, form = await _counted_client_form(request, "revoke")
    if isinstance(form, web.Response):
        return form
    issued = oauth.issued(form.get("token", ""))
    if issued is not None and issued.client_id == form["client_id"]:
        issued.revoked = True
    return web.Response(status=200)


async def _discovery(request: web.Request) -> web.Response:
    origin = str(request.url.origin())
    return json_response(
        {
            "issuer": _issuer(request),
            "authorization_endpoint": f"{origin}/oauth/v2/authorization",
            "token_endpoint": f"{origin}/oauth/v2/accessToken",
            "userinfo_endpoint": f"{origin}/v2/userinfo",
            "jwks_uri": f"{origin}/oauth/openid/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["iss", "aud", "iat", "exp", "sub", "name", "email"],
        }
    )


async def _jwks(request: web.Request) -> web.Response:
    oauth = request.app[SANDBOX_OAUTH]
    oauth.calls["jwks"] += 1
    return json_response(KeySet([oauth.key]).as_dict(private=False))


async def _knobs(request: web.Request) -> web.Response:
    return json_response(request.app[SANDBOX_OAUTH].snapshot())


async def _set_knobs(request: web.Request) -> web.Response:
    oauth = request.app[SANDBOX_OAUTH]
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return error_response(400, "BAD_REQUEST", "send a JSON object of knobs")
    for name, value in body.items():
        problem = _set_knob(oauth, name, value)
        if problem is not None:
            return error_response(400, "BAD_REQUEST", f"{name}: {problem}")
    return json_response(oauth.snapshot())


def _set_knob(oauth: SandboxOAuth, name: str, value: object) -> str | None:
    if name == "member" and isinstance(value, str) and value.startswith("urn:li:person:"):
        oauth.member = value
    elif name == "consent" and isinstance(value, bool):
        oauth.consent = value
    elif name == "introspection_delay" and isinstance(value, int | float) and 0 <= value <= 30:
        oauth.introspection_delay = float(value)
    elif name == "introspection_status" and (
        value is None or (isinstance(value, int) and 400 <= value <= 599)
    ):
        oauth.introspection_status = value
    elif name == "id_token_fault" and (value is None or value in FAULTS):
        oauth.id_token_fault = value if isinstance(value, str) else None
    elif name == "clients" and isinstance(value, dict):
        oauth.clients.update({str(k): str(v) for k, v in value.items()})
    elif (
        name == "redirect_uris"
        and isinstance(value, dict)
        and all(isinstance(v, list) for v in value.values())
    ):
        oauth.redirect_uris.update({str(k): [str(u) for u in v] for k, v in value.items()})
    else:
        return "unknown knob or bad value"
    return None
