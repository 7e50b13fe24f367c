"""The ad-account ledger that goes with a quota store."""

from __future__ import annotations

from gateway.adaccounts.ledger import AdAccountLedger, MemoryLedger
from gateway.adaccounts.redis_ledger import RedisLedger
from gateway.quota.redis_store import RedisStore
from gateway.quota.store import QuotaStore


def ledger_for(store: QuotaStore) -> AdAccountLedger:
    """A Redis store's ledger shares its client (so its replicas share the ledger); any other
    store gets a ledger of this process."""
    if isinstance(store, RedisStore):
        return RedisLedger(store.client)
    return MemoryLedger()
