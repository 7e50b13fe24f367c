"""The token source chain: the static tokens of gateway.yaml, then the token cache, then
LinkedIn's introspection (one call per token at a time, whatever the concurrency).

``resolve`` answers what the token is; whether it may make this call is decided afterwards
on every request, cache hit or not (``gateway.policy.decide``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from gateway.errors import GatewayError
from gateway.policy.auth import expired_token
from gateway.tokens.cache import Cached, Negative, TokenCache
from gateway.tokens.introspection import (
    Active,
    IntrospectionRateLimited,
    IntrospectionSource,
    IntrospectionUnavailable,
)
from gateway.tokens.model import TokenInfo, token_digest
from gateway.tokens.refusals import (
    REVOKED_TOKEN_CODE,
    introspection_rate_limited,
    introspection_unavailable,
    revoked_token,
)
from gateway.tokens.singleflight import SingleFlight
from gateway.tokens.static import StaticTokenSource

EXPIRED_TOKEN_CODE = 65602
# LinkedIn's 401 codes that mean the token itself is dead (API guide, "Error handling").
DEAD_TOKEN_CODES = frozenset({REVOKED_TOKEN_CODE, EXPIRED_TOKEN_CODE})

TokenOrigin = Literal["static", "introspection", "flow"]


@dataclass(frozen=True)
class Resolved:
    info: TokenInfo
    origin: TokenOrigin


def dead_token_code(body: bytes) -> int | None:
    """65601 (REVOKED) or 65602 (EXPIRED) when a 401 body is LinkedIn's saying so, else None."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    code = data.get("serviceErrorCode") if isinstance(data, dict) else None
    return code if code in DEAD_TOKEN_CODES else None


class TokenChain:
    def __init__(
        self,
        static: StaticTokenSource,
        cache: TokenCache,
        introspection: IntrospectionSource,
    ) -> None:
        self._static = static
        self.cache = cache
        self._introspection = introspection
        self._flights: SingleFlight[Cached | Negative] = SingleFlight()

    async def resolve(self, token: str, now: float) -> Resolved | None:
        """The token's facts; None when no source knows it (401 invalid_token).

        Raises GatewayError: 401 revoked_token / expired_token when introspection says so,
        503 token_introspection_unavailable when it cannot be asked, 503
        introspection_rate_limited when an app's introspection budget is spent.
        """
        info = await self._static.lookup(token)
        if info is not None:
            return Resolved(info, "static")
        digest = token_digest(token)
        known = await self.cache.lookup(digest, now)
        if known is None:
            known = await self._flights.run(digest, lambda: self._introspect(token, digest, now))
        if isinstance(known, Cached):
            return Resolved(known.info, known.origin)
        if known.status == "revoked":
            raise GatewayError(revoked_token())
        if known.status == "expired":
            # Introspection's word is final even when its expires_at disagrees with our clock.
            raise GatewayError(expired_token())
        return None

    def evict_on_dead_answer(self, resolved: Resolved) -> Callable[[bytes], Awaitable[None]] | None:
        """A hook for the proxy: an upstream 401 REVOKED/EXPIRED evicts the token."""
        if resolved.origin == "static":
            return None
        digest = resolved.info.digest

        async def hook(body: bytes) -> None:
            if dead_token_code(body) is not None:
                await self.cache.evict(digest)

        return hook

    async def _introspect(self, token: str, digest: str, now: float) -> Cached | Negative:
        try:
            verdict = await self._introspection.introspect(token, digest[:12], now)
        except IntrospectionUnavailable:
            raise GatewayError(introspection_unavailable()) from None
        except IntrospectionRateLimited as exc:
            raise GatewayError(introspection_rate_limited(exc.retry_after)) from None
        if isinstance(verdict, Active):
            member = await self.cache.known_member(digest, now)
            info = TokenInfo(digest, verdict.app, member, verdict.scopes, verdict.expires_at)
            cached = Cached(info, "introspection")
            await self.cache.store(cached, now)
            return cached
        negative = Negative(verdict.status, verdict.expires_at)
        self.cache.remember_negative(digest, negative, now)
        return negative
