"""The unmatched-call tally on every backend (this process's memory, fakeredis, Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from gateway.catalog import unmatched
from gateway.catalog.unmatched import (
    KEEP_DAYS,
    OVERFLOW,
    MemoryUnmatchedLedger,
    RedisUnmatchedLedger,
    UnmatchedLedger,
    day_key,
)
from tests.redis_server import BACKENDS, backend_client

# A day of our own far from today, so tests sharing one Redis never share a tally.
DAY = 40_000 + uuid.uuid4().int % 10_000
NOW = DAY * 86400.0 + 600


@pytest.fixture(params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[UnmatchedLedger, redis.asyncio.Redis | None]]:
    if request.param == "memory":
        yield MemoryUnmatchedLedger(), None
        return
    client = backend_client(request)
    try:
        yield RedisUnmatchedLedger(client), client
    finally:
        await client.delete(day_key(DAY), day_key(DAY + 1))
        await client.aclose()


async def test_counts_add_up_per_day(
    backend: tuple[UnmatchedLedger, redis.asyncio.Redis | None],
) -> None:
    ledger, client = backend
    await ledger.add(DAY, {"/rest/a": 2, "/rest/b/{key}": 1}, NOW)
    await ledger.add(DAY, {"/rest/a": 3}, NOW + 5)
    await ledger.add(DAY + 1, {"/rest/c": 1}, NOW + 86400)
    assert await ledger.day(DAY) == {"/rest/a": 5, "/rest/b/{key}": 1}
    assert await ledger.day(DAY + 1) == {"/rest/c": 1}
    if client is not None:
        ttl = await client.ttl(day_key(DAY))
        # Kept KEEP_DAYS from the day's start: the last add came 605 s into the day.
        expected = KEEP_DAYS * 86400 - 605
        assert expected - 2 < ttl <= expected


async def test_distinct_paths_are_bounded(
    backend: tuple[UnmatchedLedger, redis.asyncio.Redis | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(unmatched, "MAX_PATHS", 2)
    ledger, _ = backend
    for i in range(5):
        await ledger.add(DAY, {f"/rest/p{i}": 1}, NOW)
    await ledger.add(DAY, {"/rest/p0": 1}, NOW)
    tally = await ledger.day(DAY)
    assert tally == {"/rest/p0": 2, "/rest/p1": 1, OVERFLOW: 3}
