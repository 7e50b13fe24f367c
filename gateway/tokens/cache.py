"""The token cache: what introspection and the gateway's own flow learned about a token.

Two layers. A small bounded in-process layer answers most requests without a round trip;
behind it the shared space (Redis on a Redis store, so replicas share answers) keeps

* ``lgw:tok:{<sha256>}`` — the token's app, scopes, expiry and origin, until
  min(expiry, ``cache_seconds``) so a revocation is seen within that time;
* ``lgw:tok:{<sha256>}:member`` — its member, for the token's whole life;
* ``lgw:tok:{<sha256>}:refresh`` — for a refresh token: its app and member.

Negative answers (inactive tokens) live only in the in-process layer, bounded in number:
a flood of random tokens can neither grow memory without bound nor fill the shared store.
Keys hold SHA-256 digests, never a token; the hash tag keeps a token's keys in one slot.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from gateway.errors import StoreError
from gateway.settings.model import OAuthSettings
from gateway.support.metrics import TOKEN_CACHE, TOKEN_EVICTIONS, TOKEN_STORE_ERRORS, Metrics
from gateway.support.ttl_cache import BoundedTTLCache
from gateway.tokens.kv import SharedKV
from gateway.tokens.model import TokenInfo

log = logging.getLogger("gateway.tokens")

Origin = Literal["introspection", "flow"]
NegativeStatus = Literal["invalid", "revoked", "expired"]
PREFIX = "lgw:tok:"
# A member pin outlives any token LinkedIn issues (access tokens live 60 days) when the
# introspection answer names no expiry.
PIN_SECONDS = 60 * 86400.0


def validity_key(digest: str) -> str:
    return f"{PREFIX}{{{digest}}}"


def member_key(digest: str) -> str:
    return f"{PREFIX}{{{digest}}}:member"


def refresh_key(digest: str) -> str:
    return f"{PREFIX}{{{digest}}}:refresh"


@dataclass(frozen=True)
class Cached:
    info: TokenInfo
    origin: Origin


@dataclass(frozen=True)
class Negative:
    status: NegativeStatus
    expires_at: float | None = None


def encode_validity(cached: Cached, until: float) -> str:
    """The shared record of a token's validity (no member, no token), kept until ``until``."""
    info = cached.info
    return json.dumps(
        {
            "app": info.app,
            "scopes": sorted(info.scopes),
            "expires_at": info.expires_at,
            "origin": cached.origin,
            "until": until,
        },
        separators=(",", ":"),
    )


def decode_validity(digest: str, raw: str, member: str | None) -> tuple[Cached, float] | None:
    """A shared record back into a Cached and its end; None when it is not one of ours."""
    try:
        data = json.loads(raw)
        app, scopes, expires, origin, until = (
            data["app"],
            data["scopes"],
            data["expires_at"],
            data["origin"],
            data["until"],
        )
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(until, int | float) or isinstance(until, bool):
        return None
    if (
        not isinstance(app, str)
        or not isinstance(scopes, list)
        or origin not in ("introspection", "flow")
    ):
        return None
    if expires is not None and not isinstance(expires, int | float):
        return None
    info = TokenInfo(digest, app, member, frozenset(str(s) for s in scopes), expires)
    return Cached(info, origin), float(until)


class EvictionBroadcast(Protocol):
    async def publish(self, digest: str) -> None: ...


class TokenCache:
    def __init__(
        self,
        kv: SharedKV,
        options: OAuthSettings,
        metrics: Metrics,
        broadcast: EvictionBroadcast | None = None,
    ) -> None:
        self._kv = kv
        self._options = options
        self._metrics = metrics
        self._broadcast = broadcast
        self._local: BoundedTTLCache[Cached] = BoundedTTLCache(options.local_cache_entries)
        self._negative: BoundedTTLCache[Negative] = BoundedTTLCache(options.negative_cache_entries)

    @property
    def negative_entries(self) -> int:
        # How many unknown tokens are remembered: that this stays bounded under a flood of
        # made-up tokens is a security property, checked through this count.
        return len(self._negative)

    async def lookup(self, digest: str, now: float) -> Cached | Negative | None:
        """What is known of the token: a live positive or negative answer, else None."""
        negative = self._negative.get(digest, now)
        if negative is not None:
            self._count("negative_hit")
            return negative
        local = self._local.get(digest, now)
        if local is not None:
            self._count("local_hit")
            return local
        try:
            raw, member = await self._kv.get_many([validity_key(digest), member_key(digest)], now)
        except StoreError as exc:
            self._store_failed("lookup", exc)
            raw, member = None, None
        found = decode_validity(digest, raw, member) if raw is not None else None
        if found is None:
            self._count("miss")
            return None
        cached, until = found
        self._count("shared_hit")
        # The local copy never outlives the shared record: revocations stay bounded.
        self._local.put(digest, cached, min(until, self._local_until(cached, now)))
        return cached

    async def known_member(self, digest: str, now: float) -> str | None:
        """The member recorded for the token (it outlives the validity record)."""
        try:
            (member,) = await self._kv.get_many([member_key(digest)], now)
        except StoreError as exc:
            self._store_failed("lookup", exc)
            return None
        return member

    def remember_negative(self, digest: str, negative: Negative, now: float) -> None:
        self._negative.put(digest, negative, now + self._options.negative_cache_seconds)

    async def store(self, cached: Cached, now: float) -> None:
        """Record a token's validity (and its member, when known) in both layers."""
        info = cached.info
        ttl = self._options.cache_seconds
        if info.expires_at is not None:
            ttl = min(ttl, info.expires_at - now)
        if ttl <= 0:
            return
        self._negative.delete(info.digest)
        self._local.put(info.digest, cached, self._local_until(cached, now))
        record = encode_validity(cached, now + ttl)
        try:
            await self._kv.put(validity_key(info.digest), record, ttl, now)
        except StoreError as exc:
            self._store_failed("store", exc)
        if info.member is not None:
            await self.store_member(info, info.member, now)

    async def store_member(self, info: TokenInfo, member: str, now: float) -> None:
        """Record the token's member for the rest of the token's life."""
        local = self._local.get(info.digest, now)
        if local is not None:
            updated = replace(local, info=replace(local.info, member=member))
            self._local.put(info.digest, updated, self._local_until(updated, now))
        life = info.expires_at - now if info.expires_at is not None else self._options.cache_seconds
        if life <= 0:
            return
        try:
            await self._kv.put(member_key(info.digest), member, life, now)
        except StoreError as exc:
            self._store_failed("store", exc)

    async def pin_member(self, info: TokenInfo, member: str, now: float) -> str:
        """Bind ``member`` to the token unless one is bound already; the bound member.

        Kept for the token's life (``PIN_SECONDS`` when LinkedIn names no expiry). Raises
        StoreError when the shared space fails: a binding nobody else can see is none.
        """
        life = info.expires_at - now if info.expires_at is not None else PIN_SECONDS
        bound = await self._kv.put_new(member_key(info.digest), member, max(life, 0.001), now)
        local = self._local.get(info.digest, now)
        if local is not None:
            updated = replace(local, info=replace(local.info, member=bound))
            self._local.put(info.digest, updated, self._local_until(updated, now))
        return bound

    async def evict(self, digest: str) -> None:
        """Forget everything about the token, in this process and in the shared space."""
        self._local.delete(digest)
        self._negative.delete(digest)
        try:
            await self._kv.delete([validity_key(digest), member_key(digest)])
            if self._broadcast is not None:
                await self._broadcast.publish(digest)
        except StoreError as exc:
            self._store_failed("evict", exc)
        self._metrics.inc(TOKEN_EVICTIONS, source="answer")

    def forget_local(self, digest: str) -> None:
        """Another replica evicted the token: drop this process's copy."""
        self._local.delete(digest)
        self._metrics.inc(TOKEN_EVICTIONS, source="replica")

    async def store_refresh(
        self, refresh_digest: str, app: str, member: str | None, ttl: float, now: float
    ) -> None:
        if ttl <= 0:
            return
        record = json.dumps({"app": app, "member": member}, separators=(",", ":"))
        try:
            await self._kv.put(refresh_key(refresh_digest), record, ttl, now)
        except StoreError as exc:
            self._store_failed("store", exc)

    async def refresh_owner(self, refresh_digest: str, now: float) -> tuple[str, str | None] | None:
        """The app and member a refresh token was issued through the gateway for."""
        try:
            (raw,) = await self._kv.get_many([refresh_key(refresh_digest)], now)
        except StoreError as exc:
            self._store_failed("lookup", exc)
            return None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            app, member = data["app"], data["member"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(app, str) or not (member is None or isinstance(member, str)):
            return None
        return app, member

    def _local_until(self, cached: Cached, now: float) -> float:
        options = self._options
        until = now + min(options.local_cache_seconds, options.cache_seconds)
        expires = cached.info.expires_at
        return min(until, expires) if expires is not None else until

    def _count(self, result: str) -> None:
        self._metrics.inc(TOKEN_CACHE, result=result)

    def _store_failed(self, operation: str, exc: StoreError) -> None:
        log.warning("token cache %s failed: %s", operation, exc)
        self._metrics.inc(TOKEN_STORE_ERRORS, operation=operation)
