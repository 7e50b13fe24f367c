"""Calls to LinkedIn's OAuth endpoints: authorization URL, token exchange, refresh,
introspection, and the OpenID discovery document and JWKS.

Requests are prepared with authlib (RFC 6749 parameters, ``client_secret_post`` client
authentication, as LinkedIn requires: shared/authentication, "Authorization Code Flow")
and sent with aiohttp. aiohttp's exceptions are translated here, once: an endpoint that is
down, slow or garbled raises ``OAuthUnavailable``; a 4xx answer raises ``OAuthRefused``
with LinkedIn's ``error`` and ``error_description``. No message holds a token or secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import aiohttp
from authlib.common.urls import add_params_to_qs  # type: ignore[import-untyped]
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_grant_uri,
    prepare_token_request,
)

from gateway.oauth.scopes import parse_scopes
from gateway.support.client_session import AnswerTooLarge, SessionOwner, read_at_most

FORM = "application/x-www-form-urlencoded"
MAX_ANSWER_BYTES = 256 * 1024


class OAuthUnavailable(Exception):
    """A LinkedIn OAuth endpoint could not be used: down, slow, 5xx/429 or garbled."""


class OAuthRefused(Exception):
    """A LinkedIn OAuth endpoint refused the request (4xx)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class TokenGrant:
    """A token endpoint answer (RFC 6749 §5.1 plus LinkedIn's refresh_token_expires_in)."""

    access_token: str = field(repr=False)
    expires_in: int
    scopes: tuple[str, ...]
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_in: int | None = None
    id_token: str | None = field(default=None, repr=False)


def read_token_grant(data: Mapping[str, Any]) -> TokenGrant:
    """A TokenGrant from the token endpoint's JSON; ValueError when it is not one."""
    token, expires = data.get("access_token"), data.get("expires_in")
    if not isinstance(token, str) or not token or not _whole(expires):
        raise ValueError("the token endpoint's answer has no access_token and expires_in")
    refresh, refresh_expires = data.get("refresh_token"), data.get("refresh_token_expires_in")
    id_token, scope = data.get("id_token"), data.get("scope")
    return TokenGrant(
        access_token=token,
        expires_in=expires,
        scopes=parse_scopes(scope) if isinstance(scope, str) else (),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_token_expires_in=refresh_expires if _whole(refresh_expires) else None,
        id_token=id_token if isinstance(id_token, str) and id_token else None,
    )


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class LinkedInOAuth(SessionOwner):
    """One ClientSession to LinkedIn's OAuth host (``base`` like .../oauth/v2)."""

    def __init__(self, base: str, discovery_url: str, *, timeout: float) -> None:
        super().__init__(aiohttp.ClientTimeout(total=timeout))
        self.base = base.rstrip("/")
        self.discovery_url = discovery_url

    def authorization_url(
        self,
        client_id: str,
        redirect_uri: str,
        scopes: Sequence[str],
        state: str,
        *,
        code_challenge: str,
        code_challenge_method: str,
    ) -> str:
        """LinkedIn's authorization URL: response_type=code, space-separated scopes, the
        PKCE challenge (RFC 7636 §4.3)."""
        return str(
            prepare_grant_uri(
                f"{self.base}/authorization",
                client_id,
                "code",
                redirect_uri=redirect_uri,
                scope=list(scopes),
                state=state,
                code_challenge=code_challenge,
                code_challenge_method=code_challenge_method,
            )
        )

    async def exchange_code(
        self, creds: Credentials, code: str, redirect_uri: str, code_verifier: str
    ) -> TokenGrant:
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
        )
        return await self._grant(creds, body, "accessToken")

    async def refresh(self, creds: Credentials, refresh_token: str) -> TokenGrant:
        body = prepare_token_request("refresh_token", refresh_token=refresh_token)
        return await self._grant(creds, body, "accessToken")

    async def introspect(self, creds: Credentials, token: str) -> dict[str, Any]:
        """LinkedIn's introspectToken answer (form body client_id, client_secret, token)."""
        body = add_params_to_qs("", [("token", token)])
        return await self._post(creds, "introspectToken", body)

    async def fetch_json(self, url: str) -> dict[str, Any]:
        """A JSON document (discovery, JWKS) by GET."""
        return await self._send("GET", url, None, url.rsplit("/", 1)[-1] or url)

    async def _grant(self, creds: Credentials, body: str, endpoint: str) -> TokenGrant:
        data = await self._post(creds, endpoint, body)
        try:
            return read_token_grant(data)
        except ValueError as exc:
            raise OAuthUnavailable(f"{endpoint}: {exc}") from None

    async def _post(self, creds: Credentials, endpoint: str, body: str) -> dict[str, Any]:
        url = f"{self.base}/{endpoint}"
        headers = {"Content-Type": FORM, "Accept": "application/json"}
        auth = ClientAuth(creds.client_id, creds.client_secret, "client_secret_post")
        url, headers, body = auth.prepare("POST", url, headers, body)
        return await self._send("POST", url, body, endpoint, headers)

    async def _send(
        self,
        method: str,
        url: str,
        body: str | None,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        session = self._started
        try:
            async with session.request(
                method, url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                raw = await read_at_most(resp, MAX_ANSWER_BYTES)
                status = resp.status
        except AnswerTooLarge:
            raise OAuthUnavailable(
                f"{endpoint} answered more than {MAX_ANSWER_BYTES} bytes"
            ) from None
        except TimeoutError:
            raise OAuthUnavailable(f"{endpoint} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise OAuthUnavailable(f"{endpoint} failed: {type(exc).__name__}") from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            data = None
        if status >= 500 or status == 429:
            raise OAuthUnavailable(f"{endpoint} answered {status}")
        if status >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            description = data.get("error_description") if isinstance(data, dict) else None
            raise OAuthRefused(
                status,
                error if isinstance(error, str) else "error",
                description[:300] if isinstance(description, str) else f"HTTP {status}",
            )
        if not isinstance(data, dict) or status != 200:
            raise OAuthUnavailable(f"{endpoint} answered {status} without a JSON object")
        return data
