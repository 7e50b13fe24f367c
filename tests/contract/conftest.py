"""Every quota store behind one fixture, so one suite checks them all.

After each test the ``subject`` fixture checks that every key the test wrote expires.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest

from gateway.quota.redis_store import RedisStore
from tests.contract.subjects import MemorySubject, RedisSubject, Subject, keys_without_ttl
from tests.redis_server import PATIENT, with_query


def _redis_subject(request: pytest.FixtureRequest, kind: str) -> RedisSubject:
    """``fakeredis`` and ``redis-py``: the store on a redis-py client; ``redis``: the store
    from a URL, as the gateway opens it, on its pipelined client.
    """
    if kind == "fakeredis":
        # The tests' bursts outnumber redis-py's default pool of 100 connections.
        fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), max_connections=1000)
        return RedisSubject(kind, RedisStore(fake))
    url: str = request.getfixturevalue("redis_url")
    from_url = RedisStore.from_url(with_query(url, PATIENT))
    if kind == "redis":
        assert from_url.resp is not None
        return RedisSubject(kind, from_url)
    return RedisSubject(kind, RedisStore(from_url.client))


_REAL = [pytest.param(kind, marks=pytest.mark.redis) for kind in ("redis", "redis-py")]
STORES = ["memory", "fakeredis", *_REAL]
REDIS_STORES = ["fakeredis", *_REAL]


@pytest.fixture(params=STORES)
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    """Each store in turn; after the test every key it wrote must have a TTL."""
    kind: str = request.param
    made: Subject = MemorySubject() if kind == "memory" else _redis_subject(request, kind)
    try:
        yield made
        assert await keys_without_ttl(made) == [], f"{kind}: keys written without a TTL"
    finally:
        if isinstance(made, RedisSubject):
            await made.drop_keys()
        await made.store.close()


@pytest.fixture(params=REDIS_STORES)
async def redis_subject(request: pytest.FixtureRequest) -> AsyncIterator[RedisSubject]:
    """The Redis-backed stores only. Cleans its keys up instead of checking them."""
    made = _redis_subject(request, request.param)
    try:
        yield made
    finally:
        await made.drop_keys()
        await made.store.close()
