"""The shared space of the token cache and the OAuth state: one contract, every backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.errors import StoreError
from gateway.tokens.kv import USED, MemoryKV, RedisKV, SharedKV
from tests.redis_server import BACKENDS, backend_client, unique_app


@pytest.fixture(params=BACKENDS)
async def kv(request: pytest.FixtureRequest) -> AsyncIterator[tuple[SharedKV, str]]:
    """A backend and a key prefix of its own; Redis keys are checked for a TTL, then dropped."""
    prefix = f"lgw:tok:test:{unique_app()}:"
    if request.param == "memory":
        yield MemoryKV(), prefix
        return
    client = backend_client(request)
    try:
        yield RedisKV(client), prefix
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        assert all([await client.pttl(k) > 0 for k in keys]), "a key without a TTL"
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_put_then_get_many_in_order(kv: tuple[SharedKV, str]) -> None:
    store, p = kv
    now = time.time()
    await store.put(p + "a", "1", 60, now)
    await store.put(p + "b", "2", 60, now)
    assert await store.get_many([p + "b", p + "missing", p + "a"], now) == ["2", None, "1"]


async def test_entries_expire(kv: tuple[SharedKV, str]) -> None:
    store, p = kv
    now = time.time()
    await store.put(p + "short", "x", 0.05, now)
    await asyncio.sleep(0.1)
    assert await store.get_many([p + "short"], now + 0.1) == [None]


async def test_delete(kv: tuple[SharedKV, str]) -> None:
    store, p = kv
    now = time.time()
    await store.put(p + "a", "1", 60, now)
    await store.delete([p + "a", p + "never"])
    assert await store.get_many([p + "a"], now) == [None]


async def test_claim_is_single_use(kv: tuple[SharedKV, str]) -> None:
    store, p = kv
    now = time.time()
    await store.put(p + "state", "record", 60, now)
    assert await store.claim(p + "state", now) == "record"
    assert await store.claim(p + "state", now) == USED
    assert await store.claim(p + "forged", now) is None


async def test_concurrent_claims_see_the_value_once(kv: tuple[SharedKV, str]) -> None:
    store, p = kv
    now = time.time()
    await store.put(p + "state", "record", 60, now)
    results = await asyncio.gather(*(store.claim(p + "state", now) for _ in range(20)))
    assert results.count("record") == 1 and results.count(USED) == 19


async def test_memory_space_is_bounded() -> None:
    store = MemoryKV(max_entries=10)
    for i in range(100):
        await store.put(f"k{i}", "v", 60, 0.0)
    assert len(store) == 10
    assert await store.get_many(["k99", "k0"], 0.0) == ["v", None]


async def test_redis_failures_become_store_errors() -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    store = RedisKV(client)
    try:
        with pytest.raises(StoreError, match="token store get failed"):
            await store.get_many(["k"], 0.0)
    finally:
        await client.aclose()


async def test_put_new_keeps_the_first_value_among_racers(kv: tuple[SharedKV, str]) -> None:
    store, p = kv
    now = time.time()
    held = await asyncio.gather(*(store.put_new(p + "pin", f"v{i}", 60, now) for i in range(10)))

    assert len(set(held)) == 1
    assert await store.get_many([p + "pin"], now) == [held[0]]
    assert await store.put_new(p + "pin", "later", 60, now) == held[0]
