"""The webhook queue's contract on every backend: memory, fakeredis and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import fakeredis
import pytest
import redis.asyncio

from gateway.quota.redis_store import RedisStore
from gateway.webhooks.notifications import Notification
from gateway.webhooks.queue import (
    QUEUE_SECONDS,
    SEEN_SECONDS,
    MemoryWebhookQueue,
    RedisWebhookQueue,
    WebhookQueue,
)
from tests.redis_server import PATIENT, unique_app, with_query

NOW = 1_800_000_000.0
LEASE = 60.0


@dataclass
class Subject:
    queue: WebhookQueue
    app: str
    client: redis.asyncio.Redis | None


def note(n: int) -> Notification:
    return Notification(str(n), f'{{"notificationId":{n}}}'.encode())


@pytest.fixture(params=["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    app = unique_app("wh")
    if request.param == "memory":
        yield Subject(MemoryWebhookQueue(), app, None)
        return
    if request.param == "fakeredis":
        client: redis.asyncio.Redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    else:
        url: str = request.getfixturevalue("redis_url")
        client = RedisStore.from_url(with_query(url, PATIENT)).client
    try:
        yield Subject(RedisWebhookQueue(client), app, client)
        keys = [k async for k in client.scan_iter(match=f"lgw:{{{app}}}:*")]
        ttls = {k: await client.ttl(k) for k in keys}
        assert all(ttl > 0 for ttl in ttls.values()), ttls
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_enqueue_deduplicates_on_the_notification_id(subject: Subject) -> None:
    q, app = subject.queue, subject.app
    assert await q.enqueue(app, [note(1), note(2)], NOW) == 2
    assert await q.enqueue(app, [note(2), note(3)], NOW + 300) == 1  # LinkedIn's retry
    assert await q.enqueue(app, [note(4), note(4)], NOW) == 1  # twice in one push
    assert await q.pending(app) == 4


async def test_claim_leases_and_ack_removes(subject: Subject) -> None:
    q, app = subject.queue, subject.app
    await q.enqueue(app, [note(1), note(2)], NOW)
    claimed = await q.claim(app, NOW, LEASE, 10)
    assert sorted(d.id for d in claimed) == ["1", "2"]
    assert {d.attempts for d in claimed} == {1}
    assert claimed[0].payload == note(int(claimed[0].id)).payload
    # Leased: nobody else gets them before the lease runs out.
    assert await q.claim(app, NOW + LEASE - 1, LEASE, 10) == []
    await q.ack(app, "1")
    assert await q.pending(app) == 1
    # Item 2 was never acknowledged (its worker died): it comes back after the lease.
    again = await q.claim(app, NOW + LEASE, LEASE, 10)
    assert [(d.id, d.attempts) for d in again] == [("2", 2)]
    await q.ack(app, "2")
    assert await q.pending(app) == 0
    assert await q.claim(app, NOW + 10 * LEASE, LEASE, 10) == []


async def test_retry_makes_an_item_due_later(subject: Subject) -> None:
    q, app = subject.queue, subject.app
    await q.enqueue(app, [note(1)], NOW)
    (first,) = await q.claim(app, NOW, LEASE, 10)
    await q.retry(app, first.id, NOW + 4)
    assert await q.claim(app, NOW + 3, LEASE, 10) == []
    (second,) = await q.claim(app, NOW + 4, LEASE, 10)
    assert (second.id, second.attempts) == ("1", 2)


async def test_acknowledged_ids_stay_seen_until_the_mark_expires(subject: Subject) -> None:
    q, app = subject.queue, subject.app
    await q.enqueue(app, [note(1)], NOW)
    (item,) = await q.claim(app, NOW, LEASE, 10)
    await q.ack(app, item.id)
    assert await q.enqueue(app, [note(1)], NOW + 8 * 3600) == 0
    if subject.client is not None:
        ttl = await subject.client.ttl(f"lgw:{{{app}}}:wh_seen:1")
        assert 0 < ttl <= SEEN_SECONDS
    else:
        assert await q.enqueue(app, [note(1)], NOW + SEEN_SECONDS) == 1


async def test_claim_respects_the_limit_and_order(subject: Subject) -> None:
    q, app = subject.queue, subject.app
    for n in range(5):
        await q.enqueue(app, [note(n)], NOW + n)
    first = await q.claim(app, NOW + 10, LEASE, 2)
    assert [d.id for d in first] == ["0", "1"]
    rest = await q.claim(app, NOW + 10, LEASE, 10)
    assert [d.id for d in rest] == ["2", "3", "4"]


async def test_concurrent_claims_never_hand_out_one_item_twice(subject: Subject) -> None:
    q, app = subject.queue, subject.app
    await q.enqueue(app, [note(n) for n in range(20)], NOW)
    batches = await asyncio.gather(*(q.claim(app, NOW, LEASE, 3) for _ in range(10)))
    ids = [d.id for batch in batches for d in batch]
    assert sorted(ids, key=int) == [str(n) for n in range(20)]


async def test_queue_keys_expire(subject: Subject) -> None:
    if subject.client is None:
        pytest.skip("memory keys live in the process")
    await subject.queue.enqueue(subject.app, [note(1)], NOW)
    ttl = await subject.client.ttl(f"lgw:{{{subject.app}}}:wh_items")
    assert QUEUE_SECONDS - 10 < ttl <= QUEUE_SECONDS

