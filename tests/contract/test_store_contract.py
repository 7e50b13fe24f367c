"""The QuotaStore contract, checked on every store (memory, fakeredis, a real Redis)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import fakeredis
import pytest

from gateway.quota.keys import bucket_key, next_utc_midnight, window_key
from gateway.quota.model import WINDOW_SECONDS, BucketSpec, QuotaOutcome, Ticket, Window
from gateway.quota.redis_store import RedisStore
from gateway.quota.resp import Reply
from gateway.quota.windows import EXPIRY_MARGIN_SECONDS
from tests.contract.subjects import RedisSubject, Subject, keys_without_ttl, spec

WINDOWS = [Window.UTC_DAY, Window.ROLLING_24H]
DAY = 19_700  # 2023-12-09: a UTC day number, so midnights are whole multiples of 86400
MIDNIGHT = float(DAY * WINDOW_SECONDS)
NOW = MIDNIGHT + 3600.25  # 01:00:00.25 UTC; a fraction that floats represent exactly


def admitted_count(outcomes: list[QuotaOutcome]) -> int:
    return sum(outcome.admitted for outcome in outcomes)


@pytest.mark.parametrize("window", WINDOWS)
async def test_limit_is_respected_and_one_more_is_refused(subject: Subject, window: Window) -> None:
    bucket = spec(subject, "app", 3, window)
    for expected_used in (1, 2, 3):
        outcome = await subject.store.consume([bucket], NOW)
        assert outcome.admitted
        assert outcome.exhausted == ()
        assert outcome.ticket is not None
        assert [(s.used, s.remaining) for s in outcome.states] == [
            (expected_used, 3 - expected_used)
        ]

    refused = await subject.store.consume([bucket], NOW)

    assert not refused.admitted
    assert refused.ticket is None
    assert refused.exhausted == (bucket,)
    assert [(s.used, s.remaining) for s in refused.states] == [(3, 0)]


@pytest.mark.parametrize("window", WINDOWS)
async def test_a_refused_consume_changes_nothing(subject: Subject, window: Window) -> None:
    app = spec(subject, "app", 5, window)
    member = spec(subject, "member", 1, window, "m1")
    unlimited = spec(subject, "reported", None, window)
    buckets = [app, member, unlimited]
    assert (await subject.store.consume(buckets, NOW)).admitted
    before = await subject.store.peek(buckets, NOW + 1)

    refused = await subject.store.consume(buckets, NOW + 1)

    after = await subject.store.peek(buckets, NOW + 1)
    assert not refused.admitted
    assert refused.exhausted == (member,)
    assert after == before
    assert refused.states == before
    assert [s.used for s in after] == [1, 1, 1]


@pytest.mark.parametrize("window", WINDOWS)
async def test_peek_counts_nothing(subject: Subject, window: Window) -> None:
    bucket = spec(subject, "app", 2, window)
    await subject.store.consume([bucket], NOW)

    for _ in range(3):
        (state,) = await subject.store.peek([bucket], NOW)
        assert state.used == 1

    assert (await subject.store.consume([bucket], NOW)).admitted
    assert not (await subject.store.consume([bucket], NOW)).admitted


@pytest.mark.parametrize("window", WINDOWS)
async def test_twenty_members_ten_concurrent_calls_each_share_one_app_limit(
    subject: Subject, window: Window
) -> None:
    app = spec(subject, "app", 100, window)
    members = [spec(subject, "member", 10, window, f"m{i}") for i in range(20)]
    calls = [[app, member] for member in members for _ in range(10)]

    outcomes = await asyncio.gather(*(subject.store.consume(c, NOW) for c in calls))

    per_member = Counter(c[1].key for c, o in zip(calls, outcomes, strict=True) if o.admitted)
    assert admitted_count(outcomes) == 100
    assert max(per_member.values()) <= 10
    states = await subject.store.peek([app, *members], NOW)
    assert states[0].used == 100
    assert [s.used for s in states[1:]] == [per_member[m.key] for m in members]
    refused = [o for o in outcomes if not o.admitted]
    assert all(o.exhausted and o.ticket is None for o in refused)


@pytest.mark.parametrize("window", WINDOWS)
async def test_a_burst_of_100_callers_at_limit_5_admits_exactly_5(
    subject: Subject, window: Window
) -> None:
    bucket = spec(subject, "app", 5, window)

    outcomes = await asyncio.gather(*(subject.store.consume([bucket], NOW) for _ in range(100)))

    assert admitted_count(outcomes) == 5
    assert sorted(o.states[0].used for o in outcomes if o.admitted) == [1, 2, 3, 4, 5]
    assert (await subject.store.peek([bucket], NOW))[0].used == 5


@pytest.mark.parametrize("window", WINDOWS)
async def test_refund_restores_exactly_one_call(subject: Subject, window: Window) -> None:
    bucket = spec(subject, "app", 3, window)
    tickets = [(await subject.store.consume([bucket], NOW)).ticket for _ in range(3)]
    assert tickets[0] is not None

    await subject.store.refund(tickets[0], NOW + 1)

    assert (await subject.store.peek([bucket], NOW + 1))[0].used == 2
    assert (await subject.store.consume([bucket], NOW + 2)).admitted
    assert not (await subject.store.consume([bucket], NOW + 2)).admitted


@pytest.mark.parametrize("window", WINDOWS)
async def test_refund_never_takes_a_counter_below_zero(subject: Subject, window: Window) -> None:
    bucket = spec(subject, "app", 2, window)
    ticket = (await subject.store.consume([bucket], NOW)).ticket
    assert ticket is not None

    await subject.store.refund(ticket, NOW)
    await subject.store.refund(ticket, NOW)

    assert (await subject.store.peek([bucket], NOW))[0].used == 0
    outcomes = [await subject.store.consume([bucket], NOW) for _ in range(3)]
    assert [o.admitted for o in outcomes] == [True, True, False]


async def test_refund_does_not_recreate_a_missing_key(subject: Subject) -> None:
    day = spec(subject, "app", 5, Window.UTC_DAY)
    rolling = spec(subject, "member", 5, Window.ROLLING_24H, "m1")
    ticket = Ticket(
        entries=(
            (window_key(day.key, Window.UTC_DAY, NOW), None),
            (window_key(rolling.key, Window.ROLLING_24H, NOW), "never-counted"),
        )
    )

    await subject.store.refund(ticket, NOW)

    assert await subject.ttls(NOW) == {}
    assert [s.used for s in await subject.store.peek([day, rolling], NOW)] == [0, 0]


@pytest.mark.parametrize("window", WINDOWS)
async def test_unlimited_buckets_count_in_a_day_counter_and_never_refuse(
    subject: Subject, window: Window
) -> None:
    bucket = spec(subject, "reported", None, window)

    outcomes = [await subject.store.consume([bucket], NOW + i) for i in range(30)]

    assert all(o.admitted and o.exhausted == () for o in outcomes)
    last = outcomes[-1].states[0]
    assert (last.used, last.remaining, last.reset_at) == (30, None, MIDNIGHT + WINDOW_SECONDS)
    ticket = outcomes[-1].ticket
    assert ticket is not None
    assert ticket.entries == ((window_key(bucket.key, Window.UTC_DAY, NOW), None),)


async def test_an_unlimited_bucket_is_not_counted_when_another_refuses(subject: Subject) -> None:
    limited = spec(subject, "app", 1, Window.UTC_DAY)
    unlimited = spec(subject, "reported", None, Window.UTC_DAY)
    await subject.store.consume([limited, unlimited], NOW)

    refused = await subject.store.consume([limited, unlimited], NOW)

    assert not refused.admitted
    assert refused.exhausted == (limited,)
    assert [s.used for s in refused.states] == [1, 1]


async def test_utc_day_counters_reset_at_midnight_utc(subject: Subject) -> None:
    bucket = spec(subject, "app", 3, Window.UTC_DAY)
    last_second = MIDNIGHT - 1  # 23:59:59 UTC

    before = [await subject.store.consume([bucket], last_second) for _ in range(3)]
    just_before = await subject.store.consume([bucket], MIDNIGHT - 0.001)
    at_midnight = await subject.store.consume([bucket], MIDNIGHT)  # 00:00:00 UTC

    assert [o.admitted for o in before] == [True, True, True]
    assert {o.states[0].reset_at for o in before} == {MIDNIGHT}
    assert not just_before.admitted
    assert (just_before.states[0].used, just_before.states[0].reset_at) == (3, MIDNIGHT)
    assert at_midnight.admitted
    assert at_midnight.states[0].used == 1
    assert at_midnight.states[0].reset_at == MIDNIGHT + WINDOW_SECONDS


async def test_a_rolling_call_counts_for_exactly_24_hours(subject: Subject) -> None:
    bucket = spec(subject, "app", 2, Window.ROLLING_24H)
    t = NOW
    assert (await subject.store.consume([bucket], t)).admitted
    assert (await subject.store.consume([bucket], t + 10)).admitted

    still_counted = await subject.store.consume([bucket], t + WINDOW_SECONDS - 0.001)
    freed = await subject.store.consume([bucket], t + WINDOW_SECONDS)
    full_again = await subject.store.consume([bucket], t + WINDOW_SECONDS)
    second_freed = await subject.store.consume([bucket], t + WINDOW_SECONDS + 10)

    assert not still_counted.admitted
    assert still_counted.states[0].used == 2
    assert freed.admitted
    assert freed.states[0].used == 2
    assert not full_again.admitted
    assert second_freed.admitted


async def test_rolling_reset_at_is_the_oldest_call_plus_24_hours(subject: Subject) -> None:
    bucket = spec(subject, "app", 5, Window.ROLLING_24H)

    (empty,) = await subject.store.peek([bucket], NOW)
    first = await subject.store.consume([bucket], NOW)
    second = await subject.store.consume([bucket], NOW + 5.5)
    assert first.ticket is not None
    await subject.store.refund(first.ticket, NOW + 6)
    (after_refund,) = await subject.store.peek([bucket], NOW + 6)
    (later,) = await subject.store.peek([bucket], NOW + 5.5 + WINDOW_SECONDS)

    assert empty.reset_at == NOW + WINDOW_SECONDS
    assert first.states[0].reset_at == NOW + WINDOW_SECONDS
    assert second.states[0].reset_at == NOW + WINDOW_SECONDS
    assert after_refund.reset_at == NOW + 5.5 + WINDOW_SECONDS
    assert (later.used, later.reset_at) == (0, NOW + 5.5 + 2 * WINDOW_SECONDS)


@pytest.mark.parametrize(
    ("app_limit", "member_limit", "exhausted_names"),
    [
        (5, 2, ["member"]),
        (2, 5, ["app"]),
        (2, 2, ["app", "member"]),
    ],
)
async def test_a_refusal_names_every_exhausted_bucket_and_shows_current_counts(
    subject: Subject, app_limit: int, member_limit: int, exhausted_names: list[str]
) -> None:
    app = spec(subject, "app", app_limit, Window.UTC_DAY)
    member = spec(subject, "member", member_limit, Window.ROLLING_24H, "m1")
    for _ in range(2):
        assert (await subject.store.consume([app, member], NOW)).admitted

    refused = await subject.store.consume([app, member], NOW)

    assert [s.name for s in refused.exhausted] == exhausted_names
    assert [(s.spec, s.used) for s in refused.states] == [(app, 2), (member, 2)]
    assert [s.remaining for s in refused.states] == [app_limit - 2, member_limit - 2]


async def test_a_ticket_names_each_counted_key(subject: Subject) -> None:
    day = spec(subject, "app", 5, Window.UTC_DAY)
    rolling = spec(subject, "member", 5, Window.ROLLING_24H, "m1")

    first = await subject.store.consume([day, rolling], NOW)
    second = await subject.store.consume([day, rolling], NOW)

    assert first.ticket is not None
    assert second.ticket is not None
    (day_key, day_member), (rolling_key, rolling_member) = first.ticket.entries
    assert (day_key, day_member) == (window_key(day.key, Window.UTC_DAY, NOW), None)
    assert rolling_key == window_key(rolling.key, Window.ROLLING_24H, NOW)
    assert rolling_member
    assert rolling_member != second.ticket.entries[1][1]


async def test_no_buckets_admits_without_writing(subject: Subject) -> None:
    outcome = await subject.store.consume([], NOW)

    assert (outcome.admitted, outcome.states, outcome.exhausted) == (True, (), ())
    assert await subject.store.peek([], NOW) == ()
    assert await subject.ttls(NOW) == {}


async def test_every_key_written_expires_when_its_window_can_no_longer_matter(
    subject: Subject,
) -> None:
    day = spec(subject, "app", 5, Window.UTC_DAY)
    rolling = spec(subject, "member", 5, Window.ROLLING_24H, "m1")
    unlimited = spec(subject, "reported", None, Window.ROLLING_24H)
    last_second = MIDNIGHT - 1

    await subject.store.consume([day, rolling, unlimited], last_second)

    ttls = await subject.ttls(last_second)
    expected = {
        window_key(day.key, Window.UTC_DAY, last_second): 1 + EXPIRY_MARGIN_SECONDS,
        window_key(rolling.key, Window.ROLLING_24H, last_second): WINDOW_SECONDS
        + EXPIRY_MARGIN_SECONDS,
        window_key(unlimited.key, Window.UTC_DAY, last_second): 1 + EXPIRY_MARGIN_SECONDS,
    }
    assert set(ttls) == set(expected)
    for key, seconds in expected.items():
        ttl = ttls[key]
        # Redis counts its TTL down in real time while the test runs.
        assert ttl is not None, key
        assert seconds - 2 < ttl <= seconds, (key, ttl)
    assert next_utc_midnight(last_second) == MIDNIGHT


async def test_the_ttl_check_finds_a_key_without_expiry(redis_subject: RedisSubject) -> None:
    await redis_subject.store.consume([spec(redis_subject, "app", 5, Window.UTC_DAY)], NOW)
    planted = f"{spec(redis_subject, 'planted', 1, Window.UTC_DAY).key}:d{DAY}"
    await redis_subject.client.set(planted, 1)

    assert await keys_without_ttl(redis_subject) == [planted]


async def test_consume_is_one_round_trip(
    redis_subject: RedisSubject, monkeypatch: pytest.MonkeyPatch
) -> None:
    buckets: list[BucketSpec] = [
        spec(redis_subject, "app", 100, Window.UTC_DAY),
        spec(redis_subject, "member", 10, Window.ROLLING_24H, "m1"),
        spec(redis_subject, "reported", None, Window.UTC_DAY),
    ]
    await redis_subject.store.consume(buckets, NOW)  # may load the script first
    sent: list[str] = []
    resp = redis_subject.redis.resp
    if resp is None:
        execute: Callable[..., Awaitable[object]] = redis_subject.client.execute_command

        async def counting(*args: object, **options: object) -> object:
            sent.append(str(args[0]))
            return await execute(*args, **options)

        monkeypatch.setattr(redis_subject.client, "execute_command", counting)
    else:
        call_built = resp.call_built

        async def counting_resp(build: Callable[[], bytes]) -> Reply:
            def recording() -> bytes:
                command = build()
                # "*N\r\n$len\r\nNAME\r\n...": the third line names the command.
                sent.append(command.split(b"\r\n")[2].decode())
                return command

            return await call_built(recording)

        # ``call`` goes through ``call_built`` too: every command is seen here.
        monkeypatch.setattr(resp, "call_built", counting_resp)

    outcome = await redis_subject.store.consume(buckets, NOW)

    assert outcome.admitted
    assert sent == ["EVALSHA"]


async def test_consume_reloads_a_script_the_server_forgot() -> None:
    # On fakeredis: SCRIPT FLUSH would disturb a shared real server. On a real Redis the
    # restart in test_redis_faults.py empties the script cache the same way.
    store = RedisStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()))
    bucket = BucketSpec("app", bucket_key("app1", "app"), 2, Window.UTC_DAY)
    try:
        await store.consume([bucket], NOW)
        await store.client.script_flush()

        outcome = await store.consume([bucket], NOW)

        assert outcome.admitted
        assert outcome.states[0].used == 2
    finally:
        await store.close()
