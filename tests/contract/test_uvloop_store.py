"""The Redis store on uvloop, the loop `serve` runs on: same counting, over a real Redis."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from tests.redis_server import unique_app

NOW = 1_780_000_000.0


async def burst(url: str) -> list[bool]:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    store = RedisStore.from_url(url)
    bucket = BucketSpec("app", bucket_key(unique_app(), "app"), 3, Window.UTC_DAY)
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(store.consume([bucket], NOW) for _ in range(5))), 10
        )
    finally:
        await store.close()
    return [outcome.admitted for outcome in outcomes]


@pytest.mark.redis
def test_a_burst_on_uvloop_admits_exactly_the_limit(redis_url: str) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        admitted = runner.run(burst(redis_url))

    assert sorted(admitted) == [False, False, True, True, True]
