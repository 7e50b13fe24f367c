"""One backend switch: every feature keeps its state where the quota store counts."""

from __future__ import annotations

import time

import pytest

from gateway.adaccounts.ledger import MemoryLedger
from gateway.adaccounts.redis_ledger import RedisLedger
from gateway.backends import Backends
from gateway.catalog.unmatched import MemoryUnmatchedLedger, RedisUnmatchedLedger
from gateway.quota.local_fallback import LocalFallback
from gateway.quota.memory import MemoryStore
from gateway.quota.redis_store import RedisStore
from gateway.roles.cache import MemoryRoleCache, RedisRoleCache
from gateway.usage.ledger import MemoryUsageLedger, RedisUsageLedger
from gateway.webhooks.queue import MemoryWebhookQueue, RedisWebhookQueue
from tests.redis_server import unique_app


async def test_a_memory_store_keeps_every_feature_in_this_process() -> None:
    backends = Backends.open("memory://")
    assert isinstance(backends.store, MemoryStore)
    assert backends.redis is None
    assert isinstance(backends.ad_account_ledger(), MemoryLedger)
    assert isinstance(backends.webhook_queue(), MemoryWebhookQueue)
    assert isinstance(backends.role_cache(), MemoryRoleCache)
    assert isinstance(backends.unmatched_ledger(), MemoryUnmatchedLedger)
    assert isinstance(backends.usage_ledger(), MemoryUsageLedger)
    # Never away: there is no allowance to keep.
    backends.keep_local_allowance(3)
    await backends.close()


@pytest.mark.redis
async def test_a_redis_store_shares_its_one_client_with_every_feature(redis_url: str) -> None:
    backends = Backends.open(redis_url)
    try:
        assert isinstance(backends.store, RedisStore)
        assert backends.redis is backends.store.client
        assert isinstance(backends.ad_account_ledger(), RedisLedger)
        assert isinstance(backends.webhook_queue(), RedisWebhookQueue)
        assert isinstance(backends.role_cache(), RedisRoleCache)
        assert isinstance(backends.unmatched_ledger(), RedisUnmatchedLedger)
        assert isinstance(backends.usage_ledger(), RedisUsageLedger)

        # Two processes' backends on one URL see one ledger: what one claims, the other sees.
        app = unique_app("backends")
        other = Backends.open(redis_url)
        try:
            claimed = await backends.ad_account_ledger().claim_edit(app, ["7"], 5)
            assert claimed.admitted
            assert (await other.ad_account_ledger().view(app)).edited == ("7",)
        finally:
            await backends.redis.delete(*[k async for k in backends.redis.scan_iter(f"*{app}*")])
            await other.close()

        backends.keep_local_allowance(3)
        assert isinstance(backends.store.fallback, LocalFallback)
    finally:
        await backends.close()


@pytest.mark.redis
async def test_ad_account_claims_are_dated_with_the_store_urls_clock_allowance(
    redis_url: str,
) -> None:
    joiner = "&" if "?" in redis_url else "?"
    backends = Backends.open(f"{redis_url}{joiner}socket_timeout=0.5&clock_allowance=4")
    try:
        ledger = backends.ad_account_ledger()
        assert isinstance(ledger, RedisLedger)
        # Claims are dated as the store dates its consumes: the reply timeout plus the
        # allowance the operator gave, so a host whose clock lags Redis's by up to that
        # long still counts.
        assert isinstance(backends.store, RedisStore)
        assert ledger.deadline == backends.store.script_deadline
        assert float(ledger.deadline()) - time.time() == pytest.approx(4.5, abs=0.2)
    finally:
        await backends.close()
