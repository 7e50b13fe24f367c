"""The shared key-value space the token cache and the OAuth state live in.

On Redis (the quota store's client) every replica sees the same entries; every key gets a
TTL. On ``memory://`` it is a bounded dict in this process. Redis failures become
``StoreError`` here, at the edge. Keys never hold a token: callers pass SHA-256 digests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import redis.asyncio
from redis.asyncio.cluster import RedisCluster

from gateway.errors import StoreError
from gateway.quota.redis_errors import redis_call
from gateway.quota.redis_replies import reply_text
from gateway.support.ttl_cache import BoundedTTLCache

# What ``claim`` leaves behind: the key was there and has been used.
USED = "\x00used"


class SharedKV(Protocol):
    async def get_many(self, keys: Sequence[str], now: float) -> list[str | None]:
        """The values of ``keys`` (None where missing or expired), in one round trip."""
        ...

    async def put(self, key: str, value: str, ttl: float, now: float) -> None:
        """Store ``value`` for ``ttl`` seconds (at least one millisecond)."""
        ...

    async def put_new(self, key: str, value: str, ttl: float, now: float) -> str:
        """Store ``value`` for ``ttl`` seconds unless ``key`` holds a value already; the
        value the key holds afterwards (ours or the earlier one). One atomic decision:
        of two racing callers, exactly one value wins."""
        ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def claim(self, key: str, now: float) -> str | None:
        """Single use: the value, replaced by USED for the rest of its TTL; USED when it was
        already claimed; None when it never existed or expired."""
        ...


def ttl_ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class MemoryKV:
    """One process's shared space: entries expire; at most ``max_entries``, least used dropped."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: BoundedTTLCache[str] = BoundedTTLCache(max_entries)

    async def get_many(self, keys: Sequence[str], now: float) -> list[str | None]:
        return [self._entries.get(key, now) for key in keys]

    async def put(self, key: str, value: str, ttl: float, now: float) -> None:
        self._entries.put(key, value, now + ttl_ms(ttl) / 1000)

    async def put_new(self, key: str, value: str, ttl: float, now: float) -> str:
        held = self._entries.get(key, now)
        if held is not None:
            return held
        await self.put(key, value, ttl, now)
        return value

    async def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._entries.delete(key)

    async def claim(self, key: str, now: float) -> str | None:
        value = self._entries.get(key, now)
        until = self._entries.until(key)
        if value is not None and until is not None:
            # Used, but kept until its deadline: a replay is told from a forgery.
            self._entries.put(key, USED, until)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class RedisKV:
    """The same space in Redis: ``SET PX``, ``MGET``, ``DEL``; claim is ``SET XX GET KEEPTTL``."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client

    async def get_many(self, keys: Sequence[str], now: float) -> list[str | None]:
        client = self._client
        # Token keys spread over a cluster's slots; MGET there takes one slot only.
        many = client.mget_nonatomic if isinstance(client, RedisCluster) else client.mget
        values = await redis_call("token store get", many(list(keys)))
        return [_text(v) for v in values]

    async def put(self, key: str, value: str, ttl: float, now: float) -> None:
        await redis_call("token store put", self._client.set(key, value, px=ttl_ms(ttl)))

    async def put_new(self, key: str, value: str, ttl: float, now: float) -> str:
        # SET NX decides; when it loses, GET reads the winner. A winner that expired in
        # between leaves the key free: try again, a bounded number of times.
        for _ in range(3):
            stored = await redis_call(
                "token store put", self._client.set(key, value, px=ttl_ms(ttl), nx=True)
            )
            if stored:
                return value
            held = _text(await redis_call("token store get", self._client.get(key)))
            if held is not None:
                return held
        raise StoreError("token store put: the key kept changing")

    async def delete(self, keys: Sequence[str]) -> None:
        if keys:
            await redis_call("token store delete", self._client.delete(*keys))

    async def claim(self, key: str, now: float) -> str | None:
        # One atomic step: two callbacks racing on one state cannot both see its value.
        old = await redis_call(
            "token store claim", self._client.set(key, USED, xx=True, get=True, keepttl=True)
        )
        return _text(old)


def _text(value: object) -> str | None:
    return None if value is None else reply_text(value)
