"""A quota store for one process.

Atomic because asyncio runs one coroutine at a time and nothing here awaits between the
check and the count.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import uuid4

from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Ticket, Window, is_fixed
from gateway.quota.windows import (
    counted_window,
    counter_key,
    expires_at,
    reset_at,
    rolling_cutoff,
)

# Expired keys dropped per consume, at most: enough to outpace the keys one call creates
# (one per bucket) so memory follows the live keys, while each call stays O(1).
SWEEP_PER_CALL = 16


@dataclass
class _Counter:
    count: int
    deadline: float


@dataclass
class _Rolling:
    deadline: float
    # (made at, member) sorted by time: trimming pops from the front.
    calls: list[tuple[float, str]] = field(default_factory=list)


_Entry = _Counter | _Rolling


class MemoryStore:
    """Counts in a dict; every key carries a deadline computed from ``now``."""

    def __init__(self, sweep_per_call: int = SWEEP_PER_CALL) -> None:
        self._entries: dict[str, _Entry] = {}
        # (deadline, key), possibly stale after a rolling key's deadline moves on.
        self._deadlines: list[tuple[float, str]] = []
        self._sweep_per_call = sweep_per_call

    async def consume(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome:
        self._sweep(now)
        keys = [counter_key(spec, now) for spec in buckets]
        used = [self._used(key, now) for key in keys]
        exhausted = tuple(
            spec
            for spec, count in zip(buckets, used, strict=True)
            if spec.limit is not None and count >= spec.limit
        )
        if exhausted:
            states = tuple(
                self._state(spec, key, now) for spec, key in zip(buckets, keys, strict=True)
            )
            return QuotaOutcome(admitted=False, states=states, exhausted=exhausted, ticket=None)
        entries: list[tuple[str, str | None]] = []
        for spec, key in zip(buckets, keys, strict=True):
            entries.append((key, self._count(key, counted_window(spec), now)))
        states = tuple(self._state(spec, key, now) for spec, key in zip(buckets, keys, strict=True))
        return QuotaOutcome(
            admitted=True, states=states, exhausted=(), ticket=Ticket(tuple(entries))
        )

    async def refund(self, ticket: Ticket, now: float) -> None:
        for key, member in ticket.entries:
            entry = self._live(key, now)
            if isinstance(entry, _Counter) and member is None:
                entry.count = max(entry.count - 1, 0)
            elif isinstance(entry, _Rolling) and member is not None:
                entry.calls = [call for call in entry.calls if call[1] != member]
                if not entry.calls:
                    del self._entries[key]

    async def peek(self, buckets: Sequence[BucketSpec], now: float) -> tuple[BucketState, ...]:
        return tuple(self._state(spec, counter_key(spec, now), now) for spec in buckets)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
        self._deadlines.clear()

    def expiring_keys(self) -> dict[str, float]:
        """Every key held, with the deadline after which it is dropped: the memory store's
        side of the contract that every key expires with its window, which the contract
        tests check here as they check Redis's TTLs."""
        return {key: entry.deadline for key, entry in self._entries.items()}

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.deadline <= now:
            del self._entries[key]
            return None
        if isinstance(entry, _Rolling):
            cutoff = rolling_cutoff(now)
            # Calls made at or before the cutoff are 24 h old: they no longer count.
            first_counted = bisect.bisect_right(entry.calls, (cutoff, "\U0010ffff"))
            if first_counted:
                del entry.calls[:first_counted]
            if not entry.calls:
                del self._entries[key]
                return None
        return entry

    def _used(self, key: str, now: float) -> int:
        entry = self._live(key, now)
        if isinstance(entry, _Counter):
            return entry.count
        if isinstance(entry, _Rolling):
            return len(entry.calls)
        return 0

    def _count(self, key: str, window: Window, now: float) -> str | None:
        entry = self._live(key, now)
        deadline = expires_at(window, now)
        if is_fixed(window):
            if not isinstance(entry, _Counter):
                entry = _Counter(count=0, deadline=deadline)
                self._entries[key] = entry
                heapq.heappush(self._deadlines, (deadline, key))
            entry.count += 1
            return None
        if not isinstance(entry, _Rolling):
            entry = _Rolling(deadline=deadline)
            self._entries[key] = entry
            heapq.heappush(self._deadlines, (deadline, key))
        elif deadline > entry.deadline:
            entry.deadline = deadline
            heapq.heappush(self._deadlines, (deadline, key))
        member = uuid4().hex
        bisect.insort(entry.calls, (now, member))
        return member

    def _state(self, spec: BucketSpec, key: str, now: float) -> BucketState:
        window = counted_window(spec)
        entry = self._live(key, now)
        if isinstance(entry, _Rolling):
            return BucketState(spec, len(entry.calls), reset_at(window, now, entry.calls[0][0]))
        used = entry.count if isinstance(entry, _Counter) else 0
        return BucketState(spec, used, reset_at(window, now, None))

    def _sweep(self, now: float) -> None:
        for _ in range(self._sweep_per_call):
            if not self._deadlines or self._deadlines[0][0] > now:
                return
            _, key = heapq.heappop(self._deadlines)
            entry = self._entries.get(key)
            # A newer heap item exists when the key's deadline moved on since this one.
            if entry is not None and entry.deadline <= now:
                del self._entries[key]
