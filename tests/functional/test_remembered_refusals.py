"""A refusal over quota repeated without a store round trip, through real sockets on a real
Redis of the test's own: stopped with SIGSTOP after the first refusal, the next calls are
still refused 429 (not 503) because the store is not asked, until ``refusal_cache_seconds``
has passed on the gateway's clock."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.runtime import RUNTIME
from gateway.support.metrics import QUOTA_REMEMBERED_REFUSALS
from tests.functional.gateway_harness import FIXED_NOW, FakeClock, member_token
from tests.redis_server import RedisServer, pausable_redis_server, unique_app

Start = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"
HEADERS = {"LinkedIn-Version": "202505", "Authorization": f"Bearer {member_token(0)}"}
# A stalled store is given up on after this: a 503 comes quickly when the store is asked.
STALL = "socket_timeout=0.2"


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with pausable_redis_server() as server:
        yield server


async def answer(session: aiohttp.ClientSession, gw: TestServer) -> tuple[int, dict[str, str]]:
    async with session.get(gw.make_url(PATH), headers=HEADERS) as response:
        await response.read()
        return response.status, dict(response.headers)


@pytest.mark.redis
async def test_refusals_are_repeated_from_memory_while_the_store_is_stopped(
    sandbox: TestServer, start_gateway: Start, private_redis: RedisServer
) -> None:
    clock = FakeClock(FIXED_NOW)
    gw = await start_gateway(
        str(sandbox.make_url("")),
        store=f"{private_redis.url}?{STALL}",
        suffix=unique_app("refusals")[-8:],
        clock=clock,
        extra="refusal_cache_seconds: 2\n",
    )
    metrics = gw.app[RUNTIME].metrics
    async with aiohttp.ClientSession() as session:
        statuses = [(await answer(session, gw))[0] for _ in range(10)]
        assert statuses == [200] * 10
        status, first = await answer(session, gw)
        assert (status, first["X-RateLimit-Remaining"]) == (429, "0")
        private_redis.process.send_signal(signal.SIGSTOP)
        clock.now += 1.5
        status, again = await answer(session, gw)
        assert status == 429
        assert again["X-RateLimit-Limit"] == first["X-RateLimit-Limit"]
        assert again["X-RateLimit-Reset"] == first["X-RateLimit-Reset"]
        assert int(again["Retry-After"]) == int(first["Retry-After"]) - 1
        assert metrics.value(QUOTA_REMEMBERED_REFUSALS) == 1
        # Past the memory's seconds the stopped store is asked, and fails closed.
        clock.now += 1.0
        status, _ = await answer(session, gw)
        assert status == 503
        private_redis.process.send_signal(signal.SIGCONT)
        status, _ = await answer(session, gw)
        assert status == 429
    assert metrics.value(QUOTA_REMEMBERED_REFUSALS) == 1


@pytest.mark.redis
async def test_with_the_memory_off_a_stopped_store_fails_the_next_refusal(
    sandbox: TestServer, start_gateway: Start, private_redis: RedisServer
) -> None:
    gw = await start_gateway(
        str(sandbox.make_url("")),
        store=f"{private_redis.url}?{STALL}",
        suffix=unique_app("refusals")[-8:],
        clock=FakeClock(FIXED_NOW),
        extra="refusal_cache_seconds: 0\n",
    )
    async with aiohttp.ClientSession() as session:
        statuses = [(await answer(session, gw))[0] for _ in range(11)]
        assert statuses == [200] * 10 + [429]
        private_redis.process.send_signal(signal.SIGSTOP)
        status, _ = await answer(session, gw)
        assert status == 503
        private_redis.process.send_signal(signal.SIGCONT)
    assert gw.app[RUNTIME].metrics.value(QUOTA_REMEMBERED_REFUSALS) == 0
