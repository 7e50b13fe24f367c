"""A stalled Redis must not charge the calls the gateway refused while it waited.

Redis is paused with SIGSTOP: the gateway times out and answers 503, yet the consume
scripts it sent wait in Redis's socket buffer. On SIGCONT Redis runs them; each must see
that its deadline has passed and count nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer

from gateway.adaccounts.redis_ledger import RedisLedger
from gateway.app import build_gateway_app
from gateway.errors import StoreError
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.redis_server import RedisServer, pausable_redis_server, unique_app

pytestmark = pytest.mark.redis

# The store gives up on a reply after this long: the stall outlasts it many times over.
TIMEOUT = "socket_timeout=0.3&connect_timeout=1"
STALLED_CALLS = 8
WAIT = 20.0

ServerFactory = Callable[..., Awaitable[TestServer]]
T = TypeVar("T")


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A private redis-server: this test pauses it, which a shared one must never be."""
    with pausable_redis_server() as started:
        yield started


@pytest.fixture
async def opened(server: RedisServer) -> AsyncIterator[RedisStore]:
    """A store on the private server that gives up on a reply after 0.3 s."""
    store = RedisStore.from_url(f"{server.url}?{TIMEOUT}")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def inspector(server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A client of its own on the private server, to read what Redis ran."""
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()


async def scripts_run(inspector: redis.asyncio.Redis) -> int:
    stats: dict[str, Any] = await inspector.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval")
    )


async def until_scripts_run(inspector: redis.asyncio.Redis, count: int) -> None:
    """Wait (bounded) until Redis has run ``count`` scripts: the stalled ones included."""

    async def poll() -> None:
        while await scripts_run(inspector) < count:  # noqa: ASYNC110 - the state is in Redis
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), WAIT)


def pause(server: RedisServer) -> None:
    os.kill(server.process.pid, signal.SIGSTOP)


def resume(server: RedisServer) -> None:
    os.kill(server.process.pid, signal.SIGCONT)


async def while_paused(server: RedisServer, calls: Awaitable[T]) -> T:
    """``calls``, awaited (bounded) while Redis is paused; Redis resumes whatever happens."""
    pause(server)
    try:
        return await asyncio.wait_for(calls, WAIT)
    finally:
        resume(server)


@pytest.mark.parametrize("client", ["pipelined", "redis-py"])
async def test_consumes_refused_during_a_stall_count_nothing_after_it(
    server: RedisServer, opened: RedisStore, inspector: redis.asyncio.Redis, client: str
) -> None:
    app = unique_app("stall")
    bucket = BucketSpec("app", bucket_key(app, "app"), 100, Window.UTC_DAY)
    store = opened if client == "pipelined" else RedisStore(opened.client)
    try:
        now = 1_800_000_000.0
        # As many calls as will stall, at once: redis-py then holds a connection for each,
        # and the stalled scripts are sent at once instead of waiting for a new connection.
        warm = await asyncio.gather(*(store.consume([bucket], now) for _ in range(STALLED_CALLS)))
        assert all(outcome.admitted for outcome in warm)
        await inspector.config_resetstat()

        results = await while_paused(
            server,
            asyncio.gather(
                *(store.consume([bucket], now) for _ in range(STALLED_CALLS)),
                return_exceptions=True,
            ),
        )
        assert all(isinstance(r, StoreError) for r in results), results

        await until_scripts_run(inspector, STALLED_CALLS)
        (state,) = await store.peek([bucket], now)
        assert state.used == STALLED_CALLS
    finally:
        if store is not opened:
            await store.close()


async def test_calls_answered_503_during_a_stall_are_not_charged(
    server: RedisServer,
    inspector: redis.asyncio.Redis,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
) -> None:
    store_url = f"{server.url}?{TIMEOUT}"
    suffix = "-" + unique_app("gw")
    config = gateway_yaml("sandbox", store=store_url, suffix=suffix)
    settings = load_settings(write_config(tmp_path, config), environ={})
    gateway = await aiohttp_server(build_gateway_app(settings))
    url = str(gateway.make_url("/rest/organizationAcls?q=roleAssignee"))
    headers = {"Authorization": f"Bearer {member_token(0)}", "LinkedIn-Version": "202505"}
    async with aiohttp.ClientSession() as session:

        async def call() -> tuple[int, str, str]:
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                return (
                    resp.status,
                    resp.headers.get("X-Gateway-Reason", ""),
                    resp.headers.get("RateLimit", ""),
                )

        first = await asyncio.wait_for(call(), WAIT)
        assert first[0] == 200
        assert '"app";r=99' in first[2]
        await inspector.config_resetstat()

        stalled = await while_paused(
            server, asyncio.gather(*(call() for _ in range(STALLED_CALLS)))
        )
        assert {(status, reason) for status, reason, _ in stalled} == {
            (503, "quota_store_unavailable")
        }

        await until_scripts_run(inspector, STALLED_CALLS)
        status, _, limits = await asyncio.wait_for(call(), WAIT)
        assert status == 200
        # Two calls reached LinkedIn: the first and this one. Nothing else was charged.
        assert '"app";r=98' in limits, limits
        assert '"member";r=8' in limits, limits


async def test_a_redis_clock_ahead_of_the_gateway_is_named_and_counts_nothing(
    opened: RedisStore,
) -> None:
    app = unique_app("skew")
    bucket = BucketSpec("app", bucket_key(app, "app"), 100, Window.UTC_DAY)
    now = 1_800_000_000.0
    # This host's clock 10 s behind Redis's: every deadline it dates has passed for Redis.
    skewed = RedisStore(opened.client, reply_timeout=0.3, wall_clock=lambda: time.time() - 10)
    with pytest.raises(StoreError, match=r"Redis's clock is (9|10)\.\d+ s ahead") as caught:
        await asyncio.wait_for(skewed.consume([bucket], now), WAIT)
    assert "nothing was counted" in str(caught.value)
    (state,) = await opened.peek([bucket], now)
    assert state.used == 0

    # An allowance wider than the skew lets the same clocks work.
    tolerant = RedisStore(
        opened.client,
        reply_timeout=0.3,
        clock_allowance=15,
        wall_clock=lambda: time.time() - 10,
    )
    assert (await asyncio.wait_for(tolerant.consume([bucket], now), WAIT)).admitted


async def test_ad_account_claims_refused_during_a_stall_take_nothing_after_it(
    server: RedisServer, opened: RedisStore, inspector: redis.asyncio.Redis
) -> None:
    app = unique_app("ledger-stall")
    ledger = RedisLedger(opened.client, deadline=opened.script_deadline)
    # Two claims at once open two connections, so both stalled claims are sent at once.
    warm = await asyncio.gather(
        *(ledger.claim_edit(app, ["urn:li:sponsoredAccount:1"], 5) for _ in range(2))
    )
    assert all(outcome.admitted for outcome in warm)
    await inspector.config_resetstat()

    results = await while_paused(
        server,
        asyncio.gather(
            ledger.claim_edit(app, ["urn:li:sponsoredAccount:2"], 5),
            ledger.claim_test_accounts(app, 1, 1),
            return_exceptions=True,
        ),
    )
    assert all(isinstance(r, StoreError) for r in results), results

    await until_scripts_run(inspector, len(results))
    view = await ledger.view(app)
    assert view.edited == ("urn:li:sponsoredAccount:1",)
    assert view.test_slots == 0


async def test_an_ad_account_claim_dated_by_a_clock_behind_redis_takes_nothing(
    opened: RedisStore,
) -> None:
    app = unique_app("ledger-skew")
    # This host's clock 10 s behind Redis's: every deadline it dates has passed for Redis.
    skewed = RedisStore(opened.client, reply_timeout=0.3, wall_clock=lambda: time.time() - 10)
    behind = RedisLedger(opened.client, deadline=skewed.script_deadline)
    with pytest.raises(StoreError, match="after its deadline; nothing was taken"):
        await asyncio.wait_for(behind.claim_edit(app, ["urn:li:sponsoredAccount:1"], 5), WAIT)
    assert (await RedisLedger(opened.client).view(app)).edited == ()
