"""The store, and every feature sharing its client, on a real 3-master Redis Cluster.

The cluster is started by the module (``tests/redis_topologies.py``): three
``redis-server --cluster-enabled yes`` on free ports joined by ``redis-cli --cluster create``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import ResponseError

from gateway.adaccounts.redis_ledger import RedisLedger
from gateway.quota.factory import open_store
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from gateway.quota.windows import counter_key
from gateway.roles.cache import RedisRoleCache
from gateway.tokens.evictions import RedisEvictions
from gateway.tokens.kv import RedisKV
from gateway.webhooks.notifications import Notification
from gateway.webhooks.queue import RedisWebhookQueue
from tests.redis_server import unique_app
from tests.redis_topologies import Cluster, redis_cluster

pytestmark = pytest.mark.redis

NOW = 1_702_083_600.25
BOUND = 20.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with redis_cluster() as made:
        yield made


@pytest.fixture
async def store(cluster: Cluster) -> AsyncIterator[RedisStore]:
    opened = open_store(cluster.url + "?socket_timeout=5&connect_timeout=5")
    assert isinstance(opened, RedisStore)
    assert opened.resp is None  # no pipelined client: it knows no MOVED
    try:
        yield opened
    finally:
        await opened.close()


def buckets(app: str, limit: int) -> list[BucketSpec]:
    return [
        BucketSpec("app", bucket_key(app, "app"), limit, Window.UTC_DAY),
        BucketSpec("member", bucket_key(app, "member", "urn:li:person:x"), None, Window.UTC_DAY),
        BucketSpec("route:x", bucket_key(app, "route:x"), limit, Window.ROLLING_24H),
    ]


async def test_a_concurrent_burst_admits_exactly_the_limit(store: RedisStore) -> None:
    app = unique_app("cluster")
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(store.consume(buckets(app, 100), NOW) for _ in range(250))), BOUND
    )

    assert collections.Counter(o.admitted for o in outcomes) == {True: 100, False: 150}
    states = await store.peek(buckets(app, 100), NOW)
    assert [s.used for s in states] == [100, 100, 100]


async def test_refund_gives_back_one_call(store: RedisStore) -> None:
    app = unique_app("cluster-refund")
    first = await store.consume(buckets(app, 2), NOW)
    await store.consume(buckets(app, 2), NOW)
    assert first.ticket is not None

    await store.refund(first.ticket, NOW)

    assert [s.used for s in await store.peek(buckets(app, 2), NOW)] == [1, 1, 1]


def test_every_key_of_one_call_is_in_one_slot_and_apps_spread_over_the_masters(
    cluster: Cluster,
) -> None:
    apps = [unique_app("slot") for _ in range(60)]
    slots = []
    for app in apps:
        keys = {key_slot(counter_key(spec, NOW).encode()) for spec in buckets(app, 5)}
        assert len(keys) == 1
        slots.append(keys.pop())
    # 16384 slots split in three ranges: 60 random apps land on every master.
    thirds = collections.Counter(min(slot * 3 // 16384, 2) for slot in slots)
    assert set(thirds) == {0, 1, 2}


async def test_the_counter_lives_on_the_master_owning_its_slot(
    store: RedisStore, cluster: Cluster
) -> None:
    app = unique_app("owner")
    await store.consume(buckets(app, 5), NOW)
    key = counter_key(buckets(app, 5)[0], NOW)
    client = store.client
    assert isinstance(client, RedisCluster)
    node = client.get_node_from_key(key)

    held = {}
    for port in cluster.ports:
        single = redis.asyncio.Redis(host="127.0.0.1", port=port)
        try:
            held[port] = await single.get(key)
        except ResponseError as exc:  # MOVED: another master owns the slot
            held[port] = type(exc).__name__.encode() + b" " + str(exc).encode()
        finally:
            await single.aclose()

    assert held[node.port] == b"1"
    others = [value for port, value in held.items() if port != node.port]
    assert len(others) == 2
    assert all(b"MOVED" in value or value.startswith(b"Moved") for value in others), others


# --- the features that share the store's client ------------------------------------------


async def test_token_kv_reads_and_deletes_keys_of_many_slots(store: RedisStore) -> None:
    kv = RedisKV(store.client)
    keys = [f"lgw:tok:{unique_app('k')}" for _ in range(6)]
    assert len({key_slot(k.encode()) for k in keys}) > 1
    for key in keys:
        await kv.put(key, key[-4:], 60, NOW)

    assert await kv.get_many(keys, NOW) == [k[-4:] for k in keys]
    assert await kv.put_new(keys[0], "other", 60, NOW) == keys[0][-4:]
    assert await kv.claim(keys[1], NOW) == keys[1][-4:]
    await kv.delete(keys)
    assert await kv.get_many(keys, NOW) == [None] * 6


async def test_role_cache(store: RedisStore) -> None:
    cache = RedisRoleCache(store.client)
    app = unique_app("roles")
    await cache.put(app, "urn:li:person:a", "org", {"urn:li:organization:1": {"ADMIN"}}, 60, NOW)

    assert await cache.get(app, "urn:li:person:a", "org", NOW) == {
        "urn:li:organization:1": frozenset({"ADMIN"})
    }


async def test_webhook_queue(store: RedisStore) -> None:
    queue = RedisWebhookQueue(store.client)
    app = unique_app("hooks")
    notes = [Notification(str(n), f'{{"notificationId":{n}}}'.encode()) for n in range(3)]

    assert await queue.enqueue(app, notes, NOW) == 3
    assert await queue.enqueue(app, notes[:1], NOW) == 0  # a duplicate
    claimed = await queue.claim(app, NOW, 60.0, 10)
    assert len(claimed) == 3
    for delivery in claimed:
        await queue.ack(app, delivery.id)
    assert await queue.pending(app) == 0


async def test_ad_account_ledger(store: RedisStore) -> None:
    ledger = RedisLedger(store.client, deadline=store.script_deadline)
    app = unique_app("ledger")

    first = await ledger.claim_edit(app, ["urn:li:sponsoredAccount:1"], 1)
    second = await ledger.claim_edit(app, ["urn:li:sponsoredAccount:2"], 1)
    assert await ledger.claim_test_accounts(app, 1, 1)
    assert not await ledger.claim_test_accounts(app, 1, 1)
    await ledger.release_test_accounts(app, 1)
    assert await ledger.claim_test_accounts(app, 1, 1)

    assert (first.admitted, first.edited) == (True, ("urn:li:sponsoredAccount:1",))
    assert (second.admitted, second.edited) == (False, ("urn:li:sponsoredAccount:1",))


async def test_token_evictions_reach_another_replica(store: RedisStore, cluster: Cluster) -> None:
    other = open_store(cluster.url + "?socket_timeout=5&connect_timeout=5")
    assert isinstance(other, RedisStore)
    sender, receiver = RedisEvictions(store.client), RedisEvictions(other.client)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listening = asyncio.ensure_future(receiver.listen(heard.put_nowait))
    digest = "ab" * 32
    try:

        async def until_heard() -> str:
            # The subscription starts in the background: publish until it is there.
            while True:
                await sender.publish(digest)
                try:
                    return await asyncio.wait_for(heard.get(), 0.5)
                except TimeoutError:
                    continue

        assert await asyncio.wait_for(until_heard(), BOUND) == digest
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await other.close()
