"""A real Redis that is down, hung or shared: fail fast, recover alone, stay exact."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterator

import pytest

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key, window_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from tests.redis_server import (
    PATIENT,
    RedisServer,
    RedisUnavailable,
    free_port,
    start_redis_server,
    unique_app,
    with_query,
)

pytestmark = pytest.mark.redis

NOW = 1_702_083_600.25
# Short client timeouts: a failure must surface well within FAIL_FAST_SECONDS.
FAST = "socket_timeout=0.3&connect_timeout=0.3"
FAIL_FAST_SECONDS = 1.5
SECRET_MEMBER = "member-urn-li-person-AbC123"


def buckets(app: str) -> list[BucketSpec]:
    return [
        BucketSpec("app", bucket_key(app, "app"), 100, Window.UTC_DAY),
        BucketSpec("member", bucket_key(app, "member", SECRET_MEMBER), 10, Window.ROLLING_24H),
    ]


async def fails_fast(call: Awaitable[object]) -> StoreError:
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        await asyncio.wait_for(call, FAIL_FAST_SECONDS * 2)
    assert time.monotonic() - started < FAIL_FAST_SECONDS
    return caught.value


@pytest.fixture
def servers() -> Iterator[list[RedisServer]]:
    """Servers a test starts itself; all stopped at teardown."""
    started: list[RedisServer] = []
    yield started
    for server in started:
        server.stop()


def start_on(port: int, servers: list[RedisServer]) -> RedisServer:
    try:
        server = start_redis_server(port)
    except RedisUnavailable as exc:
        pytest.skip(f"needs redis-server on PATH: {exc}")
    servers.append(server)
    return server


async def test_a_down_redis_fails_fast_and_the_same_store_recovers(
    servers: list[RedisServer],
) -> None:
    port = free_port()
    app = unique_app("faults")
    store = RedisStore.from_url(with_query(f"redis://127.0.0.1:{port}/0", FAST))
    try:
        error = await fails_fast(store.consume(buckets(app), NOW))
        assert "consume" in str(error)
        assert app in str(error)
        assert SECRET_MEMBER not in str(error)
        await fails_fast(store.ping())

        first = start_on(port, servers)
        assert (await store.consume(buckets(app), NOW)).admitted
        await store.ping()

        first.stop()
        await fails_fast(store.consume(buckets(app), NOW))

        # A fresh server: empty, and without the script (NOSCRIPT makes the store reload it).
        start_on(port, servers)
        outcome = await store.consume(buckets(app), NOW)
        assert outcome.admitted
        assert [s.used for s in outcome.states] == [1, 1]
    finally:
        await store.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_hung_redis_times_out_fast(silent_server: int) -> None:
    app = unique_app("hung")
    store = RedisStore.from_url(with_query(f"redis://127.0.0.1:{silent_server}/0", FAST))
    try:
        error = await fails_fast(store.consume(buckets(app), NOW))
        assert "consume" in str(error)
        assert SECRET_MEMBER not in str(error)
    finally:
        await store.close()


@pytest.mark.parametrize("window", [Window.UTC_DAY, Window.ROLLING_24H])
async def test_three_clients_sharing_one_redis_admit_exactly_the_limit(
    redis_url: str, window: Window
) -> None:
    app = unique_app("shared")
    bucket = BucketSpec("app", bucket_key(app, "app"), 100, window)
    stores = [RedisStore.from_url(with_query(redis_url, PATIENT)) for _ in range(3)]
    try:
        outcomes = await asyncio.gather(
            *(store.consume([bucket], NOW) for store in stores for _ in range(100))
        )

        assert sum(o.admitted for o in outcomes) == 100
        assert [s.used for s in await stores[0].peek([bucket], NOW)] == [100]
        assert len({id(store.resp) for store in stores if store.resp is not None}) == 3
    finally:
        await stores[0].client.delete(window_key(bucket.key, window, NOW))
        for store in stores:
            await store.close()


@pytest.mark.parametrize("client", ["pipelined", "redis-py"])
async def test_one_store_carries_a_burst_larger_than_its_pool(redis_url: str, client: str) -> None:
    app = unique_app("pool")
    bucket = BucketSpec("app", bucket_key(app, "app"), 250, Window.UTC_DAY)
    opened = RedisStore.from_url(with_query(redis_url, f"max_connections=8&{PATIENT}"))
    store = opened if client == "pipelined" else RedisStore(opened.client)
    try:
        outcomes = await asyncio.gather(*(store.consume([bucket], NOW) for _ in range(300)))

        assert sum(o.admitted for o in outcomes) == 250
        assert (store.resp is not None) == (client == "pipelined")
        assert store.client.connection_pool.max_connections == 8
    finally:
        await store.client.delete(window_key(bucket.key, Window.UTC_DAY, NOW))
        await opened.close()
