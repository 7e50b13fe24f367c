"""A quota script whose reply is lost and that redis-py retries counts once.

redis-py retries a command once when its connection breaks (``Retry(NoBackoff(), 1)``: how a
pooled connection that a Redis restart closed is replaced), though Redis may already have
run it. Between the store and a real Redis sits a proxy that, once armed, lets the next
``EVALSHA`` through and drops its reply, cutting the connection: the script ran, the client
saw a broken connection and sent the same command again on a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio

from gateway.quota.keys import bucket_key, window_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import CONSUME_LUA, REFUND_LUA, RedisStore
from tests.fake_tcp import listening
from tests.redis_server import unique_app

pytestmark = pytest.mark.redis

NOW = 1_702_083_600.25
# An unknown query parameter hands every command to redis-py, whose retry is under test.
REDIS_PY_ONLY = "health_check_interval=0&socket_timeout=0.5"


class ReplyCutter:
    """A TCP proxy to Redis that, when armed, drops the reply to the next EVALSHA it
    forwards and closes that connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.armed = False
        self.cut = 0
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        redis_r, redis_w = await asyncio.open_connection(*self.target)
        self.writers += [client_w, redis_w]
        script_sent = asyncio.Event()

        async def to_redis() -> None:
            while data := await client_r.read(65536):
                if self.armed and b"EVALSHA" in data.upper():
                    self.armed = False
                    script_sent.set()
                redis_w.write(data)
                await redis_w.drain()
            redis_w.close()

        async def to_client() -> None:
            while data := await redis_r.read(65536):
                if script_sent.is_set():
                    # Redis ran the script; its reply never arrives.
                    self.cut += 1
                    break
                client_w.write(data)
                await client_w.drain()
            client_w.close()
            redis_w.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(to_redis(), to_client())


@pytest.fixture
async def direct(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    # Loaded beforehand, so the cut EVALSHA is one that runs (not a NOSCRIPT answer).
    for text in (CONSUME_LUA, REFUND_LUA):
        await client.script_load(text)
    yield client
    await client.aclose()


@pytest.fixture
async def store_and_cutter(
    redis_url: str, direct: redis.asyncio.Redis
) -> AsyncIterator[tuple[RedisStore, ReplyCutter]]:
    parts = urlsplit(redis_url)
    async with listening(ReplyCutter(parts.hostname or "127.0.0.1", parts.port or 6379)) as cutter:
        db = urlsplit(redis_url).path or "/0"
        store = RedisStore.from_url(f"redis://127.0.0.1:{cutter.port}{db}?{REDIS_PY_ONLY}")
        assert store.resp is None
        yield store, cutter
        await store.close()


def app_bucket(app: str) -> BucketSpec:
    return BucketSpec("app", bucket_key(app, "app"), 100, Window.UTC_DAY)


async def counted(direct: redis.asyncio.Redis, bucket: BucketSpec) -> int:
    raw = await direct.get(window_key(bucket.key, Window.UTC_DAY, NOW))
    return int(raw or 0)


async def test_a_consume_retried_after_its_reply_was_lost_counts_once(
    store_and_cutter: tuple[RedisStore, ReplyCutter], direct: redis.asyncio.Redis
) -> None:
    store, cutter = store_and_cutter
    bucket = app_bucket(unique_app("retried"))
    cutter.armed = True
    outcome = await store.consume([bucket], NOW)
    assert cutter.cut == 1
    assert outcome.admitted
    assert outcome.states[0].used == 1
    assert await counted(direct, bucket) == 1
    # The next call is counted as usual.
    assert (await store.consume([bucket], NOW)).states[0].used == 2


async def test_a_refund_retried_after_its_reply_was_lost_takes_back_one_call(
    store_and_cutter: tuple[RedisStore, ReplyCutter], direct: redis.asyncio.Redis
) -> None:
    store, cutter = store_and_cutter
    bucket = app_bucket(unique_app("retried"))
    await store.consume([bucket], NOW)
    second = await store.consume([bucket], NOW)
    assert second.ticket is not None
    cutter.armed = True
    await store.refund(second.ticket, NOW)
    assert cutter.cut == 1
    assert await counted(direct, bucket) == 1


async def test_the_retry_markers_expire(
    store_and_cutter: tuple[RedisStore, ReplyCutter], direct: redis.asyncio.Redis
) -> None:
    store, _ = store_and_cutter
    app = unique_app("retried")
    bucket = app_bucket(app)
    admitted = await store.consume([bucket], NOW)
    assert admitted.ticket is not None
    await store.refund(admitted.ticket, NOW)
    ttls = {
        key.decode().split(":")[2]: await direct.pttl(key)
        async for key in direct.scan_iter(match=f"lgw:{{{app}}}:*")
        if b":once:" in key or b":refund:" in key
    }
    # The once key lives until the consume's deadline (socket_timeout 0.5 s), the refund's
    # marker a minute.
    assert set(ttls) == {"once", "refund"}
    assert 0 < ttls["once"] <= 500
    assert 55_000 < ttls["refund"] <= 60_000
