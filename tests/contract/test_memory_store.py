"""What only the memory store must show: deadlines from ``now`` and bounded growth."""

from __future__ import annotations

import pytest

from gateway.quota.keys import bucket_key, window_key
from gateway.quota.memory import MemoryStore
from gateway.quota.model import WINDOW_SECONDS, BucketSpec, Ticket, Window
from gateway.quota.windows import EXPIRY_MARGIN_SECONDS

MIDNIGHT = 19_700.0 * WINDOW_SECONDS
NOW = MIDNIGHT + 3600.25


def bucket(name: str, limit: int | None, window: Window, member: str | None = None) -> BucketSpec:
    return BucketSpec(name, bucket_key("app1", name, member), limit, window)


@pytest.mark.parametrize(
    ("window", "written_at", "deadline"),
    [
        (Window.UTC_DAY, NOW, MIDNIGHT + WINDOW_SECONDS + EXPIRY_MARGIN_SECONDS),
        (Window.UTC_DAY, MIDNIGHT - 1, MIDNIGHT + EXPIRY_MARGIN_SECONDS),
        (Window.ROLLING_24H, NOW, NOW + WINDOW_SECONDS + EXPIRY_MARGIN_SECONDS),
    ],
)
async def test_every_key_gets_a_deadline_from_now(
    window: Window, written_at: float, deadline: float
) -> None:
    store = MemoryStore()
    spec = bucket("app", 5, window)

    await store.consume([spec], written_at)

    assert store.expiring_keys() == {window_key(spec.key, window, written_at): deadline}


async def test_a_rolling_write_moves_the_deadline_on() -> None:
    store = MemoryStore()
    spec = bucket("app", 5, Window.ROLLING_24H)
    await store.consume([spec], NOW)

    await store.consume([spec], NOW + 100)

    assert list(store.expiring_keys().values()) == [
        NOW + 100 + WINDOW_SECONDS + EXPIRY_MARGIN_SECONDS
    ]


async def test_expired_keys_are_swept_so_memory_stays_bounded() -> None:
    store = MemoryStore(sweep_per_call=16)
    members = [bucket("member", None, Window.UTC_DAY, f"m{i}") for i in range(500)]
    for member in members:
        await store.consume([member], NOW)
    assert len(store.expiring_keys()) == 500
    two_days_later = NOW + 2 * WINDOW_SECONDS
    hot = bucket("app", None, Window.UTC_DAY)

    for i in range(40):
        await store.consume([hot], two_days_later + i)

    assert store.expiring_keys() == {
        window_key(hot.key, Window.UTC_DAY, two_days_later): MIDNIGHT
        + 3 * WINDOW_SECONDS
        + EXPIRY_MARGIN_SECONDS
    }


async def test_an_expired_key_is_dropped_when_read() -> None:
    store = MemoryStore(sweep_per_call=0)
    spec = bucket("app", 5, Window.ROLLING_24H)
    await store.consume([spec], NOW)

    (state,) = await store.peek([spec], NOW + WINDOW_SECONDS)

    assert state.used == 0
    assert store.expiring_keys() == {}


async def test_a_refund_after_expiry_does_not_bring_the_key_back() -> None:
    store = MemoryStore()
    spec = bucket("app", 5, Window.UTC_DAY)
    ticket = (await store.consume([spec], MIDNIGHT - 1)).ticket
    assert isinstance(ticket, Ticket)

    await store.refund(ticket, MIDNIGHT + EXPIRY_MARGIN_SECONDS)

    assert store.expiring_keys() == {}
