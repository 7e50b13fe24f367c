"""Refusals over quota remembered by Charging: the store is not asked again while a refused
bucket cannot have freed a slot, and never when that would admit a call it should not."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gateway.errors import GatewayError
from gateway.quota.buckets import quota_refusal
from gateway.quota.charging import Charging
from gateway.quota.keys import bucket_key, next_utc_midnight
from gateway.quota.memory import MemoryStore
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Ticket, Window
from gateway.quota.refusal_cache import RefusalCache
from gateway.settings.model import OnStoreError
from gateway.support.metrics import QUOTA_REMEMBERED_REFUSALS, Metrics
from gateway.usage.recorder import Usage

# 2024-05-29 12:00:00 UTC.
NOW = 1_716_984_000.0
MIDNIGHT = next_utc_midnight(NOW)
APP = BucketSpec("app", bucket_key("acme", "app"), 100, Window.UTC_DAY)
MEMBER = BucketSpec("member", bucket_key("acme", "member", "m1"), 2, Window.UTC_DAY)
OTHER = BucketSpec("member", bucket_key("acme", "member", "m2"), 2, Window.UTC_DAY)
BUCKETS = (APP, MEMBER)


class CountingStore(MemoryStore):
    """The memory store, counting how often it is asked to consume."""

    def __init__(self) -> None:
        super().__init__()
        self.consumes = 0

    async def consume(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome:
        self.consumes += 1
        return await super().consume(buckets, now)


def refused(reset_at: float = MIDNIGHT) -> QuotaOutcome:
    states = (BucketState(APP, 5, MIDNIGHT), BucketState(MEMBER, 2, reset_at))
    return QuotaOutcome(admitted=False, states=states, exhausted=(MEMBER,), ticket=None)


def charging(store: CountingStore, seconds: float = 1.0) -> tuple[Charging, Metrics]:
    metrics = Metrics()
    made = Charging(store, OnStoreError.CLOSED, metrics, Usage(), {}, RefusalCache(seconds))
    return made, metrics


async def status_of(charge: Charging, buckets: tuple[BucketSpec, ...], now: float) -> int:
    try:
        await charge.charge("acme", buckets, now, what="a call")
    except GatewayError as exc:
        return exc.refusal.status
    return 200


def test_a_refusal_stands_for_seconds_at_most() -> None:
    cache = RefusalCache(1.0)
    cache.remember(BUCKETS, refused(), NOW)
    assert cache.refusal(BUCKETS, NOW + 0.999) == quota_refusal(refused(), NOW + 0.999)
    assert cache.refusal(BUCKETS, NOW + 1.0) is None
    assert len(cache) == 0


def test_a_refusal_never_outlives_the_reset_of_its_exhausted_bucket() -> None:
    cache = RefusalCache(60.0)
    cache.remember(BUCKETS, refused(reset_at=NOW + 0.25), NOW)
    assert cache.refusal(BUCKETS, NOW + 0.2) is not None
    assert cache.refusal(BUCKETS, NOW + 0.25) is None


def test_only_the_same_buckets_are_refused() -> None:
    cache = RefusalCache(1.0)
    cache.remember(BUCKETS, refused(), NOW)
    assert cache.refusal((APP, OTHER), NOW) is None
    assert cache.refusal((APP,), NOW) is None


@pytest.mark.parametrize(
    "outcome",
    [
        refused(reset_at=NOW),
        QuotaOutcome(admitted=True, states=refused().states, exhausted=(), ticket=Ticket(())),
    ],
    ids=["already-reset", "admitted"],
)
def test_nothing_is_remembered_that_could_admit_or_has_freed(outcome: QuotaOutcome) -> None:
    cache = RefusalCache(1.0)
    cache.remember(BUCKETS, outcome, NOW)
    assert len(cache) == 0


def test_zero_seconds_remembers_nothing() -> None:
    cache = RefusalCache(0)
    cache.remember(BUCKETS, refused(), NOW)
    assert cache.refusal(BUCKETS, NOW) is None


def test_the_memory_is_bounded_and_drops_expired_then_oldest_entries() -> None:
    cache = RefusalCache(1.0, max_entries=3)
    members = [
        BucketSpec("member", bucket_key("acme", "member", f"m{i}"), 2, Window.UTC_DAY)
        for i in range(5)
    ]
    cache.remember((APP, members[0]), refused(), NOW - 0.9)
    cache.remember((APP, members[1]), refused(), NOW)
    cache.remember((APP, members[2]), refused(), NOW)
    # The first has expired by NOW + 0.2: it goes, and no live entry has to.
    cache.remember((APP, members[3]), refused(), NOW + 0.2)
    assert len(cache) == 3
    assert cache.refusal((APP, members[1]), NOW + 0.2) is not None
    # Full of live entries: the oldest (members[1]) makes room.
    cache.remember((APP, members[4]), refused(), NOW + 0.3)
    assert len(cache) == 3
    assert cache.refusal((APP, members[1]), NOW + 0.3) is None
    assert cache.refusal((APP, members[4]), NOW + 0.3) is not None


async def test_a_refused_call_repeated_does_not_reach_the_store() -> None:
    store = CountingStore()
    charge, metrics = charging(store)
    assert [await status_of(charge, BUCKETS, NOW) for _ in range(3)] == [200, 200, 429]
    assert store.consumes == 3
    for _ in range(5):
        assert await status_of(charge, BUCKETS, NOW + 0.5) == 429
    assert store.consumes == 3
    assert metrics.value(QUOTA_REMEMBERED_REFUSALS) == 5
    # Past the memory's seconds the store is asked again (and refuses again).
    assert await status_of(charge, BUCKETS, NOW + 1.5) == 429
    assert store.consumes == 4


async def test_a_remembered_refusal_answers_as_the_store_would() -> None:
    store = CountingStore()
    charge, _ = charging(store)
    for _ in range(2):
        await charge.charge("acme", BUCKETS, NOW, what="a call")
    with pytest.raises(GatewayError) as first:
        await charge.charge("acme", BUCKETS, NOW, what="a call")
    with pytest.raises(GatewayError) as again:
        await charge.charge("acme", BUCKETS, NOW + 0.5, what="a call")
    assert store.consumes == 3
    assert again.value.refusal.body() == first.value.refusal.body()
    assert again.value.refusal.reason == first.value.refusal.reason == "member_quota_exhausted"
    retry = {k: v for k, v in again.value.refusal.headers.items() if k != "Retry-After"}
    assert retry == {k: v for k, v in first.value.refusal.headers.items() if k != "Retry-After"}
    # Retry-After counts down to the same reset.
    first_wait = int(first.value.refusal.headers["Retry-After"])
    assert int(again.value.refusal.headers["Retry-After"]) in (first_wait, first_wait - 1)


async def test_a_refund_forgets_every_remembered_refusal() -> None:
    store = CountingStore()
    charge, _ = charging(store)
    admitted = [await charge.charge("acme", BUCKETS, NOW, what="a call") for _ in range(2)]
    assert await status_of(charge, BUCKETS, NOW) == 429
    await charge.refund(admitted[0], NOW, what="a call")
    # The slot the refund freed is used at once, by the store's own decision.
    assert await status_of(charge, BUCKETS, NOW + 0.1) == 200
    assert store.consumes == 4


async def test_with_zero_seconds_every_call_reaches_the_store() -> None:
    store = CountingStore()
    charge, metrics = charging(store, seconds=0)
    statuses = [await status_of(charge, BUCKETS, NOW) for _ in range(6)]
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert store.consumes == 6
    assert metrics.value(QUOTA_REMEMBERED_REFUSALS) == 0


@pytest.mark.parametrize("later", [0.0, 0.3, 0.999, 1.0, 1.5, 59.25])
def test_the_remembered_429_is_the_one_quota_refusal_builds_at_that_moment(later: float) -> None:
    cache = RefusalCache(120.0)
    outcome = refused(reset_at=NOW + 90.5)
    cache.remember(BUCKETS, outcome, NOW)
    assert cache.refusal(BUCKETS, NOW) == quota_refusal(outcome, NOW)
    # Asked again later, the headers count the seconds left from then, not from the first.
    assert cache.refusal(BUCKETS, NOW + later) == quota_refusal(outcome, NOW + later)


def test_the_remembered_429_is_gone_with_its_refusal() -> None:
    cache = RefusalCache(1.0)
    cache.remember(BUCKETS, refused(), NOW)
    assert cache.refusal(BUCKETS, NOW + 0.5) is not None
    assert cache.refusal(BUCKETS, NOW + 1.0) is None
    cache.remember(BUCKETS, refused(), NOW)
    cache.forget()
    assert cache.refusal(BUCKETS, NOW) is None
