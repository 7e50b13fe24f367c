"""Memory or Redis, decided once per process.

The ``store:`` URL names the backend. ``Backends`` holds the quota store it opened and,
when that store is Redis, the store's client, which every other feature shares (one pool,
one set of timeouts): replicas then share ad-account ledgers, role and token caches,
webhook queues and usage tallies. On ``memory://`` each feature keeps its state in this
process. No other module asks which kind of store it was given.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio

from gateway.adaccounts.ledger import AdAccountLedger, MemoryLedger
from gateway.adaccounts.redis_ledger import RedisLedger
from gateway.catalog.unmatched import (
    MemoryUnmatchedLedger,
    RedisUnmatchedLedger,
    UnmatchedLedger,
)
from gateway.quota.factory import open_store
from gateway.quota.local_fallback import LocalFallback
from gateway.quota.redis_store import RedisStore
from gateway.quota.store import QuotaStore
from gateway.roles.cache import MemoryRoleCache, RedisRoleCache, RoleCache
from gateway.usage.ledger import MemoryUsageLedger, RedisUsageLedger, UsageLedger
from gateway.webhooks.queue import MemoryWebhookQueue, RedisWebhookQueue, WebhookQueue


@dataclass(frozen=True)
class Backends:
    """The quota store, and ``redis``: its client when it is Redis, else None."""

    store: QuotaStore
    redis: redis.asyncio.Redis | None = None

    @classmethod
    def of(cls, store: QuotaStore) -> Backends:
        """The backends that go with ``store`` (opened here or handed in by a test)."""
        if isinstance(store, RedisStore):
            return cls(store, store.client)
        return cls(store)

    @classmethod
    def open(cls, url: str) -> Backends:
        """Nothing connects here: the first operation does."""
        return cls.of(open_store(url))

    def keep_local_allowance(self, replicas: int) -> None:
        """``on_store_error: local``: the Redis store admits on this replica's share while
        Redis is away. The memory store is never away."""
        if isinstance(self.store, RedisStore):
            self.store.fallback = LocalFallback(replicas)

    def ad_account_ledger(self) -> AdAccountLedger:
        if not isinstance(self.store, RedisStore):
            return MemoryLedger()
        # Dated as the store dates its scripts: claims and consumes on one client give up alike.
        return RedisLedger(self.store.client, deadline=self.store.script_deadline)

    def webhook_queue(self) -> WebhookQueue:
        return MemoryWebhookQueue() if self.redis is None else RedisWebhookQueue(self.redis)

    def role_cache(self) -> RoleCache:
        return MemoryRoleCache() if self.redis is None else RedisRoleCache(self.redis)

    def unmatched_ledger(self) -> UnmatchedLedger:
        return MemoryUnmatchedLedger() if self.redis is None else RedisUnmatchedLedger(self.redis)

    def usage_ledger(self) -> UsageLedger:
        return MemoryUsageLedger() if self.redis is None else RedisUsageLedger(self.redis)

    async def close(self) -> None:
        # The features borrow the store's client; closing the store closes it.
        await self.store.close()
