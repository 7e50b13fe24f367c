"""The store behind Sentinel: a master, a replica and a Sentinel started by the test; the
master is killed in the middle of a burst of consumes, and what the fail-over cost is
measured and bounded.

What is measured (printed, and stated in docs/quota.md):
- refused: consumes that failed (StoreError: 503 or ``on_store_error``) while no master
  answered;
- lost: consumes Redis acknowledged as counted that the promoted replica does not have (the
  replication is asynchronous): each one is a call the app may make again, over its limit;
- phantom: consumes counted although the gateway saw a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from gateway.errors import StoreError
from gateway.quota.factory import open_store
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from gateway.tokens.evictions import RedisEvictions
from gateway.tokens.kv import RedisKV
from tests.redis_server import unique_app
from tests.redis_topologies import SentinelSet, redis_sentinel

pytestmark = pytest.mark.redis

NOW = 1_702_083_600.25
WORKERS = 8
BEFORE_KILL = 300
AFTER_FAILOVER = 300
BOUND = 25.0


@pytest.fixture
def sentinel() -> Iterator[SentinelSet]:
    with redis_sentinel() as made:
        yield made


async def test_a_master_killed_mid_burst_fails_over_and_the_loss_is_bounded(
    sentinel: SentinelSet,
) -> None:
    store = open_store(sentinel.url + "?socket_timeout=0.5&connect_timeout=0.5")
    assert isinstance(store, RedisStore)
    spec = [BucketSpec("app", bucket_key(unique_app("sentinel"), "app"), 10**6, Window.UTC_DAY)]
    admitted = refused = 0
    killed_at: float | None = None
    back_at: float | None = None
    admitted_after = 0
    killed = asyncio.Event()
    first_refusal = asyncio.Event()

    async def worker() -> None:
        nonlocal admitted, refused, killed_at, back_at, admitted_after
        while admitted_after < AFTER_FAILOVER:
            try:
                outcome = await store.consume(spec, NOW)
            except StoreError:
                refused += 1
                if killed.is_set():
                    first_refusal.set()
                # Pacing while no master answers, not waiting for luck: the loop ends on
                # the count of calls admitted after the fail-over, bounded by BOUND.
                await asyncio.sleep(0.02)
                continue
            assert outcome.admitted
            admitted += 1
            if first_refusal.is_set():
                # Consumes in flight at the kill may still be answered; this counts those
                # admitted once the old master had stopped answering.
                if back_at is None:
                    back_at = time.monotonic()
                admitted_after += 1
            elif admitted >= BEFORE_KILL:
                killed_at = time.monotonic()
                sentinel.kill_master()
                killed.set()

    try:
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(WORKERS))), BOUND)
        counted = (await store.peek(spec, NOW))[0].used
    finally:
        await store.close()

    assert str(sentinel.replica_port) in sentinel.master_address()
    lost = max(admitted - counted, 0)
    phantom = max(counted - admitted, 0)
    assert killed_at is not None and back_at is not None
    print(
        f"\nsentinel fail-over: {back_at - killed_at:.2f} s without a master, "
        f"{refused} consumes refused, {lost} admitted calls lost, {phantom} phantom"
    )
    # Writes in flight at the kill are all that asynchronous replication can lose on one
    # host; each worker has at most one in flight.
    assert lost <= WORKERS
    assert phantom <= WORKERS
    assert refused > 0  # the kill did land mid-burst


async def test_the_features_sharing_the_client_work_on_the_sentinel_master(
    sentinel: SentinelSet,
) -> None:
    store = open_store(sentinel.url + "?socket_timeout=5&connect_timeout=5")
    other = open_store(sentinel.url + "?socket_timeout=5&connect_timeout=5")
    assert isinstance(store, RedisStore) and isinstance(other, RedisStore)
    kv = RedisKV(store.client)
    keys = [f"lgw:tok:{unique_app('k')}" for _ in range(3)]
    sender, receiver = RedisEvictions(store.client), RedisEvictions(other.client)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listening = asyncio.ensure_future(receiver.listen(heard.put_nowait))
    try:
        for key in keys:
            await kv.put(key, "v", 60, NOW)
        assert await kv.get_many(keys, NOW) == ["v", "v", "v"]

        async def until_heard() -> str:
            # The subscription starts in the background: publish until it is there.
            while True:
                await sender.publish("cd" * 32)
                try:
                    return await asyncio.wait_for(heard.get(), 0.5)
                except TimeoutError:
                    continue

        assert await asyncio.wait_for(until_heard(), BOUND) == "cd" * 32
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await store.close()
        await other.close()
