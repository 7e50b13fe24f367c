"""The local allowance of ``on_store_error: local``: pure arithmetic over what the store
last said, with the time passed in."""

from __future__ import annotations

import pytest

from gateway.quota.keys import bucket_key
from gateway.quota.local_allowance import allowance, remaining_basis
from gateway.quota.local_fallback import LocalFallback
from gateway.quota.model import BucketSpec, BucketState, Window
from gateway.quota.windows import counter_key

DAY = 86400.0
NOON = 20_600 * DAY + DAY / 2
APP = BucketSpec("app", bucket_key("a", "app"), 100, Window.UTC_DAY)
MEMBER = BucketSpec("member", bucket_key("a", "member", "m"), None, Window.UTC_DAY)
ROLLING = BucketSpec("route:x", bucket_key("a", "route:x"), 10, Window.ROLLING_24H)


@pytest.mark.parametrize(
    ("remaining", "replicas", "used", "expected"),
    [
        (72, 3, 0, 24),
        (71, 3, 0, 23),
        (70, 3, 23, 0),
        (70, 3, 30, 0),
        (2, 3, 0, 0),
        (100, 1, 99, 1),
        (None, 3, 0, 0),
    ],
)
def test_each_replica_gets_its_share_of_what_remained(
    remaining: int | None, replicas: int, used: int, expected: int
) -> None:
    assert allowance(remaining, replicas, used) == expected


def test_the_shares_never_add_up_to_more_than_what_remained() -> None:
    for remaining in range(0, 200):
        for replicas in range(1, 8):
            assert replicas * allowance(remaining, replicas, 0) <= remaining


def test_the_basis_is_the_stores_last_word_for_the_current_window() -> None:
    seen = {counter_key(APP, NOON): 40}

    assert remaining_basis(APP, NOON, seen, {APP.key}) == 40
    # Midnight passed while the store was away: the new day starts full, as in the store.
    assert remaining_basis(APP, NOON + DAY, seen, {APP.key}) == 100
    # Never heard of: nothing to go on.
    assert remaining_basis(APP, NOON, {}, set()) is None
    assert remaining_basis(MEMBER, NOON, seen, {APP.key}) is None


def test_a_new_minute_starts_full_while_the_store_is_away() -> None:
    minute = BucketSpec("route:x", bucket_key("a", "route:x"), 600, Window.UTC_MINUTE)
    seen = {counter_key(minute, NOON): 5}

    assert remaining_basis(minute, NOON + 30, seen, {minute.key}) == 5
    assert remaining_basis(minute, NOON + 60, seen, {minute.key}) == 600


def test_a_rolling_window_keeps_its_last_word_across_midnight() -> None:
    seen = {counter_key(ROLLING, NOON): 4}

    assert remaining_basis(ROLLING, NOON + DAY / 2, seen, {ROLLING.key}) == 4


def test_a_replica_admits_its_share_then_refuses_and_keeps_the_counts() -> None:
    fallback = LocalFallback(replicas=3)
    fallback.observe([BucketState(APP, 28, NOON), BucketState(MEMBER, 5, NOON)], NOON)

    outcomes = [fallback.admit([APP, MEMBER], NOON + i) for i in range(30)]

    admitted = [o for o in outcomes if o is not None]
    assert len(admitted) == 24  # 72 // 3
    assert all(o.local and o.ticket is None for o in admitted)
    assert [s.remaining for s in admitted[-1].states] == [0, None]
    flushes = fallback.take_flushes()
    assert len(flushes) == 1  # one app: one script
    counts = {key: counter.count for key, counter in flushes[0].counters}
    assert counts == {counter_key(APP, NOON): 24, counter_key(MEMBER, NOON): 24}
    assert flushes[0].marker.startswith("lgw:{a}:flush:")


def test_a_retried_flush_keeps_its_marker_until_confirmed() -> None:
    fallback = LocalFallback(replicas=1)
    fallback.observe([BucketState(ROLLING, 0, NOON)], NOON)
    assert fallback.admit([ROLLING], NOON) is not None

    first = fallback.take_flushes()
    again = fallback.take_flushes()  # the first try failed: the same flush goes again
    assert [f.marker for f in again] == [f.marker for f in first]
    counter = first[0].counters[0][1]
    assert [score for score, _ in counter.members] == [NOON]
    fallback.flushed(first[0])

    assert not fallback.pending
    assert fallback.take_flushes() == []


def test_counts_not_yet_added_back_still_use_up_the_share() -> None:
    fallback = LocalFallback(replicas=2)
    fallback.observe([BucketState(APP, 90, NOON)], NOON)  # 10 remain: 5 each
    for _ in range(5):
        assert fallback.admit([APP], NOON) is not None
    # The store answers again, but the 5 are not in it yet: they still count here.
    fallback.observe([BucketState(APP, 91, NOON)], NOON)

    assert allowance(9, 2, 5) == 0
    assert fallback.admit([APP], NOON) is None


def test_replicas_must_be_positive() -> None:
    with pytest.raises(ValueError, match="replicas"):
        LocalFallback(0)
