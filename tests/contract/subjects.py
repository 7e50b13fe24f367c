"""The stores under test, each with a key space of its own and a view of its TTLs."""

from __future__ import annotations

import math
from typing import Protocol

import redis.asyncio

from gateway.adaccounts.keys import persistent_keys
from gateway.quota.keys import PREFIX, bucket_key
from gateway.quota.memory import MemoryStore
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from gateway.quota.store import QuotaStore
from tests.redis_server import unique_app


class Subject(Protocol):
    """A store under test, with a key space (app name) of its own."""

    kind: str
    app: str

    @property
    def store(self) -> QuotaStore: ...

    async def ttls(self, now: float, *, markers: bool = False) -> dict[str, float | None]:
        """Every key of this app with the seconds it lives after ``now`` (None: forever);
        the scripts' retry markers (``MARKER_KINDS``) only when ``markers``.

        On Redis the TTL counts from the write, so ``now`` should be the write's ``now``.
        """
        ...


# Keys a script writes so that a retried command counts once: not counters, short-lived.
MARKER_KINDS = (":once:", ":refund:")


def is_marker(key: str) -> bool:
    return any(kind in key for kind in MARKER_KINDS)


def spec(
    subject: Subject, name: str, limit: int | None, window: Window, member: str | None = None
) -> BucketSpec:
    """A bucket in the subject's key space."""
    key = bucket_key(subject.app, name, member)
    return BucketSpec(name=name, key=key, limit=limit, window=window)


class MemorySubject:
    kind = "memory"

    def __init__(self) -> None:
        self.app = unique_app("memory")
        self.memory = MemoryStore()

    @property
    def store(self) -> QuotaStore:
        return self.memory

    async def ttls(self, now: float, *, markers: bool = False) -> dict[str, float | None]:
        return {
            key: deadline - now if math.isfinite(deadline) else None
            for key, deadline in self.memory.expiring_keys().items()
        }


class RedisSubject:
    """A ``RedisStore``, and ``client`` (its redis-py client) to look at its keys."""

    def __init__(self, kind: str, store: RedisStore) -> None:
        self.kind = kind
        self.app = unique_app(kind)
        self.client: redis.asyncio.Redis = store.client
        self.redis = store

    @property
    def store(self) -> QuotaStore:
        return self.redis

    async def ttls(self, now: float, *, markers: bool = False) -> dict[str, float | None]:
        found: dict[str, float | None] = {}
        # The hash tag braces are literal in a SCAN pattern.
        async for raw in self.client.scan_iter(match=f"{PREFIX}:{{{self.app}}}:*", count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if is_marker(key) and not markers:
                continue
            millis = await self.client.pttl(key)
            if millis == -2:
                continue  # expired between SCAN and PTTL
            found[key] = None if millis < 0 else millis / 1000
        return found

    async def drop_keys(self) -> None:
        keys = list(await self.ttls(0.0, markers=True))
        if keys:
            await self.client.delete(*keys)


async def keys_without_ttl(subject: Subject) -> list[str]:
    """Keys of the subject's app that never expire, except the ad-account ledger's: those
    are the one kind of key meant to live without a TTL (the Development tier's five
    editable accounts are for the life of the app), excluded here by exact name."""
    persistent = persistent_keys(subject.app)
    return sorted(
        key
        for key, ttl in (await subject.ttls(0.0, markers=True)).items()
        if ttl is None and key not in persistent
    )
