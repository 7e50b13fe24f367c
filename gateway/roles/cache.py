"""Looked-up member roles, kept per app, member and kind for ``role_cache_seconds``.

The memory cache serves one process; the Redis cache is shared by every process (keys
``lgw:{app}:roles_<kind>:<member>``, each with the cache's TTL). ``now`` is passed in.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping

import redis.asyncio

from gateway.quota.keys import bucket_key
from gateway.quota.redis_errors import redis_call
from gateway.support.ttl_cache import BoundedTTLCache

Roles = dict[str, frozenset[str]]


def cache_key(app: str, member: str, kind: str) -> str:
    return bucket_key(app, f"roles_{kind}", member)


def _encode(roles: Mapping[str, set[str]]) -> str:
    return json.dumps({entity: sorted(held) for entity, held in sorted(roles.items())})


def _decode(raw: str | bytes) -> Roles | None:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    return {
        str(entity): frozenset(r for r in held if isinstance(r, str))
        for entity, held in document.items()
        if isinstance(held, list)
    }


class RoleCache(ABC):
    """Roles kept as JSON under ``cache_key``; a subclass says where the strings live."""

    async def get(self, app: str, member: str, kind: str, now: float) -> Roles | None:
        raw = await self._read(cache_key(app, member, kind), now)
        return None if raw is None else _decode(raw)

    async def put(
        self,
        app: str,
        member: str,
        kind: str,
        roles: Mapping[str, set[str]],
        ttl: float,
        now: float,
    ) -> None:
        await self._write(cache_key(app, member, kind), _encode(roles), ttl, now)

    @abstractmethod
    async def _read(self, key: str, now: float) -> str | bytes | None: ...

    @abstractmethod
    async def _write(self, key: str, value: str, ttl: float, now: float) -> None: ...


class MemoryRoleCache(RoleCache):
    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: BoundedTTLCache[str] = BoundedTTLCache(max_entries)

    async def _read(self, key: str, now: float) -> str | None:
        return self._entries.get(key, now)

    async def _write(self, key: str, value: str, ttl: float, now: float) -> None:
        self._entries.put(key, value, now + ttl)


class RedisRoleCache(RoleCache):
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client

    async def _read(self, key: str, now: float) -> str | bytes | None:
        raw = await redis_call("role cache", self._client.get(key))
        return raw if isinstance(raw, str | bytes) else None

    async def _write(self, key: str, value: str, ttl: float, now: float) -> None:
        millis = max(int(ttl * 1000), 1)
        await redis_call("role cache", self._client.set(key, value, px=millis))
