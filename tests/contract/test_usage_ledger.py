"""The usage ledger contract (members, refusals, learned marks, once-a-day alert marks),
checked on memory, fakeredis and a real Redis; every Redis key it writes expires."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import fakeredis
import pytest
import redis.asyncio

from gateway.backends import Backends
from gateway.quota.keys import utc_day
from gateway.quota.redis_store import RedisStore
from gateway.usage.ledger import (
    MEMBERS_SHOWN,
    DayBatch,
    LearnedMark,
    MemoryUsageLedger,
    RedisUsageLedger,
    UsageLedger,
)
from tests.redis_server import PATIENT, unique_app, with_query

# 2023-11-14 22:13:20 UTC: 6400 s before midnight.
NOW = 1_700_000_000.0
DAY = utc_day(NOW)
MIDNIGHT = (DAY + 1) * 86400.0


@dataclass
class Ledgers:
    kind: str
    app: str
    # Two ledgers on one backing store: two replicas.
    one: UsageLedger
    two: UsageLedger
    client: redis.asyncio.Redis | None


@pytest.fixture(params=["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
async def ledgers(request: pytest.FixtureRequest) -> AsyncIterator[Ledgers]:
    kind: str = request.param
    app = unique_app("usage")
    if kind == "memory":
        shared = MemoryUsageLedger()
        yield Ledgers(kind, app, shared, shared, None)
        return
    if kind == "fakeredis":
        client: redis.asyncio.Redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
        store = RedisStore(client)
    else:
        url: str = request.getfixturevalue("redis_url")
        store = RedisStore.from_url(with_query(url, PATIENT))
        client = store.client
    one, two = Backends.of(store).usage_ledger(), Backends.of(store).usage_ledger()
    assert isinstance(one, RedisUsageLedger)
    try:
        yield Ledgers(kind, app, one, two, client)
        keys = [k async for k in client.scan_iter(match=f"lgw:{{{app}}}:*")]
        assert keys, "the test wrote no key"
        for key in keys:
            ttl = await client.ttl(key)
            assert ttl > 0, f"{key!r} has no TTL"
    finally:
        keys = [k async for k in client.scan_iter(match=f"lgw:{{{app}}}:*")]
        if keys:
            await client.delete(*keys)
        await store.close()


def batch(
    members: set[str] | None = None,
    refusals: dict[str, int] | None = None,
    learned: list[LearnedMark] | None = None,
) -> DayBatch:
    return DayBatch(members or set(), refusals or {}, learned or [])


async def test_members_and_refusals_add_up_across_replicas(ledgers: Ledgers) -> None:
    app = ledgers.app
    await ledgers.one.add(
        {(app, DAY): batch({"urn:li:person:a", "urn:li:person:b"}, {"x": 2})}, NOW
    )
    await ledgers.two.add(
        {(app, DAY): batch({"urn:li:person:b", "urn:li:person:c"}, {"x": 1, "y": 4})}, NOW
    )
    members = ("urn:li:person:a", "urn:li:person:b", "urn:li:person:c")
    assert await ledgers.one.members(app, NOW) == (members, 3)
    assert await ledgers.two.refusals(app, NOW) == {"x": 3, "y": 4}
    # Another app, and tomorrow, see none of it.
    assert await ledgers.one.members(app + "-other", NOW) == ((), 0)
    assert await ledgers.one.refusals(app, MIDNIGHT) == {}
    assert await ledgers.one.members(app, MIDNIGHT) == ((), 0)


async def test_learned_marks_reach_the_other_replica(ledgers: Ledgers) -> None:
    app = ledgers.app
    app_mark = LearnedMark("APPLICATION", "rest/adAnalytics", None, NOW - 5)
    member_mark = LearnedMark("APPLICATION_AND_MEMBER", "rest/posts", "urn:li:person:a", NOW)
    await ledgers.one.add({(app, DAY): batch(learned=[app_mark, member_mark])}, NOW)
    found = await ledgers.two.learned([app, app + "-other"], NOW)
    assert sorted(found[app], key=lambda m: m.learned_at) == [app_mark, member_mark]
    assert found[app + "-other"] == []
    assert (await ledgers.two.learned([app], MIDNIGHT))[app] == []


async def test_an_alert_is_told_once_per_key_and_day_across_replicas(ledgers: Ledgers) -> None:
    key = f"lgw:{{{ledgers.app}}}:usage-alert:0123abcd:90:d{DAY}"
    assert await ledgers.one.first_alert(key, NOW) is True
    assert await ledgers.two.first_alert(key, NOW + 1) is False
    assert await ledgers.one.first_alert(key + "x", NOW) is True


async def test_keys_live_until_a_minute_past_midnight(ledgers: Ledgers) -> None:
    if ledgers.client is None:
        pytest.skip("memory ledger: no keys")
    app = ledgers.app
    await ledgers.one.add({(app, DAY): batch({"urn:li:person:a"}, {"x": 1})}, NOW)
    for key in [k async for k in ledgers.client.scan_iter(match=f"lgw:{{{app}}}:*")]:
        ttl = await ledgers.client.ttl(key)
        # The TTL counts from the real write; the day's end is 6400 s + 60 s after NOW.
        assert 0 < ttl <= MIDNIGHT + 60 - NOW


async def test_a_crowded_day_lists_at_most_the_cap(ledgers: Ledgers) -> None:
    app = ledgers.app
    crowd = {f"urn:li:person:p{i}" for i in range(MEMBERS_SHOWN + 5)}
    await ledgers.one.add({(app, DAY): batch(crowd)}, NOW)
    shown, total = await ledgers.one.members(app, NOW)
    assert total == MEMBERS_SHOWN + 5
    assert len(shown) == MEMBERS_SHOWN and set(shown) <= crowd
