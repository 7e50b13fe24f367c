"""Per-minute and per-hour windows, on every store (memory, fakeredis, a real Redis).

The clock is injected: each call passes ``now``; the boundaries are exact UTC minutes and
hours, tested on both sides.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.quota.keys import window_key
from gateway.quota.model import WINDOW_SECONDS, Window
from gateway.quota.windows import EXPIRY_MARGIN_SECONDS
from tests.contract.subjects import Subject, spec

DAY = 19_700
MIDNIGHT = float(DAY * WINDOW_SECONDS)
MINUTE = MIDNIGHT + 13 * 3600 + 37 * 60  # 13:37:00 UTC
HOUR = MIDNIGHT + 14 * 3600  # 14:00:00 UTC


async def test_a_minute_counter_resets_at_the_minute(subject: Subject) -> None:
    bucket = spec(subject, "route:conversionEvents:minute", 3, Window.UTC_MINUTE)
    start = MINUTE + 59  # 13:37:59

    admitted = [await subject.store.consume([bucket], start) for _ in range(3)]
    refused = await subject.store.consume([bucket], MINUTE + 60 - 0.001)
    next_minute = await subject.store.consume([bucket], MINUTE + 60)  # 13:38:00

    assert [o.admitted for o in admitted] == [True, True, True]
    assert {o.states[0].reset_at for o in admitted} == {MINUTE + 60}
    assert not refused.admitted
    assert refused.exhausted == (bucket,)
    assert (refused.states[0].used, refused.states[0].reset_at) == (3, MINUTE + 60)
    assert next_minute.admitted
    assert (next_minute.states[0].used, next_minute.states[0].reset_at) == (1, MINUTE + 120)


async def test_an_hour_counter_resets_at_the_hour(subject: Subject) -> None:
    bucket = spec(subject, "route:adAnalytics:hour", 2, Window.UTC_HOUR)
    for _ in range(2):
        assert (await subject.store.consume([bucket], HOUR - 1800)).admitted
    late = await subject.store.consume([bucket], HOUR - 1)
    on_time = await subject.store.consume([bucket], HOUR)
    assert not late.admitted
    assert late.states[0].reset_at == HOUR
    assert on_time.admitted and on_time.states[0].reset_at == HOUR + 3600


async def test_minute_and_day_buckets_are_one_all_or_nothing_consume(subject: Subject) -> None:
    minute = spec(subject, "route:conversionEvents:minute", 2, Window.UTC_MINUTE)
    day = spec(subject, "route:conversionEvents", 3, Window.UTC_DAY)

    first = [await subject.store.consume([minute, day], MINUTE + 10) for _ in range(2)]
    throttled = await subject.store.consume([minute, day], MINUTE + 20)
    after_minute = await subject.store.consume([minute, day], MINUTE + 60)
    day_out = await subject.store.consume([minute, day], MINUTE + 120)

    assert [o.admitted for o in first] == [True, True]
    # The minute refused: the day counted nothing for this call.
    assert not throttled.admitted and throttled.exhausted == (minute,)
    assert [s.used for s in throttled.states] == [2, 2]
    assert after_minute.admitted and [s.used for s in after_minute.states] == [1, 3]
    assert not day_out.admitted and day_out.exhausted == (day,)
    assert [s.used for s in await subject.store.peek([minute, day], MINUTE + 120)] == [0, 3]


async def test_a_refund_gives_the_call_back_to_its_minute(subject: Subject) -> None:
    bucket = spec(subject, "route:conversionEvents:minute", 1, Window.UTC_MINUTE)
    outcome = await subject.store.consume([bucket], MINUTE + 5)
    assert outcome.ticket is not None
    assert not (await subject.store.consume([bucket], MINUTE + 6)).admitted
    await subject.store.refund(outcome.ticket, MINUTE + 7)
    assert (await subject.store.consume([bucket], MINUTE + 8)).admitted


async def test_a_burst_at_a_minute_limit_admits_exactly_the_limit(subject: Subject) -> None:
    bucket = spec(subject, "route:conversionEvents:minute", 5, Window.UTC_MINUTE)
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(subject.store.consume([bucket], MINUTE + 30) for _ in range(100))),
        timeout=30,
    )
    assert sum(o.admitted for o in outcomes) == 5


@pytest.mark.parametrize(
    ("window", "now", "seconds"),
    [
        # 13:37:50: ten seconds of its minute left, then the refund margin (a minute).
        (Window.UTC_MINUTE, MINUTE + 50, 10 + 60),
        (Window.UTC_HOUR, HOUR - 100, 100 + EXPIRY_MARGIN_SECONDS),
    ],
)
async def test_a_sub_day_key_expires_with_its_window(
    subject: Subject, window: Window, now: float, seconds: int
) -> None:
    bucket = spec(subject, "route:x", 5, window)
    await subject.store.consume([bucket], now)
    ttls = await subject.ttls(now)
    key = window_key(bucket.key, window, now)
    assert set(ttls) == {key}
    ttl = ttls[key]
    assert ttl is not None
    # Redis counts its TTL down in real time while the test runs.
    assert seconds - 2 < ttl <= seconds
