"""Counts admitted alone go back into a real Redis once, with their windows and TTLs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key
from gateway.quota.local_fallback import Flush, LocalFallback
from gateway.quota.model import BucketSpec, BucketState, Window
from gateway.quota.redis_store import RedisStore
from gateway.quota.windows import counter_key
from tests.redis_server import PATIENT, free_port, unique_app, with_query

pytestmark = pytest.mark.redis

NOW = 1_702_083_600.25


def specs(app: str) -> list[BucketSpec]:
    return [
        BucketSpec("app", bucket_key(app, "app"), 100, Window.UTC_DAY),
        BucketSpec("route:x", bucket_key(app, "route:x"), 50, Window.ROLLING_24H),
    ]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    opened = RedisStore.from_url(with_query(redis_url, PATIENT))
    opened.fallback = LocalFallback(replicas=2)
    try:
        yield opened
    finally:
        await opened.close()


async def test_counts_admitted_alone_are_added_back_once(
    store: RedisStore, redis_url: str
) -> None:
    app = unique_app("local")
    buckets = specs(app)
    assert (await store.consume(buckets, NOW)).admitted  # the store says 99 and 49 remain
    fallback = store.fallback
    assert fallback is not None
    local = [fallback.admit(buckets, NOW + i) for i in range(30)]
    assert sum(o is not None for o in local) == 24  # 49 // 2 of the rolling window

    confirmations: list[Flush] = []
    real_flushed = fallback.flushed

    def first_reply_lost(flush: Flush) -> None:
        # The first flush ran in Redis but its confirmation never came back.
        if confirmations:
            real_flushed(flush)
        confirmations.append(flush)

    fallback.flushed = first_reply_lost  # type: ignore[method-assign]
    await store.flush_local(NOW + 60)
    assert fallback.pending
    await store.flush_local(NOW + 60)

    assert not fallback.pending
    assert confirmations[0].marker == confirmations[1].marker
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        day_key, rolling_key = (counter_key(s, NOW) for s in buckets)
        assert int(await client.get(day_key) or 0) == 25
        assert await client.zcard(rolling_key) == 25
        assert 0 < await client.ttl(day_key) <= 86400 + 60
        assert await client.ttl(rolling_key) > 86000
    finally:
        await client.aclose()
    states = await store.peek(buckets, NOW + 60)
    assert [s.used for s in states] == [25, 25]


async def test_with_the_store_away_the_share_is_admitted_then_refused() -> None:
    app = unique_app("away")
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0?socket_timeout=0.2")
    fallback = LocalFallback(replicas=4)
    store.fallback = fallback
    buckets = specs(app)[:1]
    fallback.observe([BucketState(buckets[0], 60, NOW)], NOW)  # 40 remain: 10 here
    try:
        outcomes = [await store.consume(buckets, NOW) for _ in range(10)]
        with pytest.raises(StoreError, match="local allowance is spent"):
            await store.consume(buckets, NOW)
    finally:
        await store.close()

    assert all(o.admitted and o.local for o in outcomes)
    assert [o.states[0].remaining for o in outcomes] == list(range(9, -1, -1))
