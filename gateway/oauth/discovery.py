"""LinkedIn's OpenID provider: the discovery document and its JWKS, fetched when needed
and kept for an hour; a key id the cached JWKS lacks (LinkedIn rotated its keys) triggers
one refetch."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet

from gateway.oauth.client import LinkedInOAuth, OAuthUnavailable
from gateway.oauth.idtoken import IdTokenError, load_key_set, verify_id_token

KEEP_SECONDS = 3600.0


@dataclass(frozen=True)
class Provider:
    issuer: str
    jwks_uri: str
    keys: KeySet
    fetched_at: float


class OpenIdProvider:
    def __init__(self, client: LinkedInOAuth) -> None:
        self._client = client
        self._provider: Provider | None = None
        self._lock = asyncio.Lock()

    async def verify(self, id_token: str, audience: str, now: float) -> dict[str, Any]:
        """Verified claims; IdTokenError (refused) or OAuthUnavailable (cannot check)."""
        provider = await self._current(now, refresh=False)
        try:
            return verify_id_token(
                id_token, provider.keys, issuer=provider.issuer, audience=audience, now=now
            )
        except IdTokenError as exc:
            if exc.reason != "id_token_unknown_key":
                raise
        provider = await self._current(now, refresh=True)
        return verify_id_token(
            id_token, provider.keys, issuer=provider.issuer, audience=audience, now=now
        )

    async def _current(self, now: float, *, refresh: bool) -> Provider:
        async with self._lock:
            known = self._provider
            if known is not None and not refresh and now - known.fetched_at < KEEP_SECONDS:
                return known
            document = await self._client.fetch_json(self._client.discovery_url)
            issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
            if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                raise OAuthUnavailable("the discovery document names no issuer and jwks_uri")
            try:
                keys = load_key_set(await self._client.fetch_json(jwks_uri))
            except IdTokenError:
                raise OAuthUnavailable("the provider's JWKS holds no readable key") from None
            self._provider = Provider(issuer, jwks_uri, keys, now)
            return self._provider
