"""``on_store_error: local``: what this replica remembers of the store and counts alone.

No I/O: the store (``RedisStore``) feeds it what the store said, asks it to admit while
the store is away, and sends its pending counts back when the store returns.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.quota.local_allowance import allowance, remaining_basis
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Window
from gateway.quota.windows import counted_window, counter_key, expires_at, reset_at

_APP_TAG = re.compile(r"\{[^}]*\}")


@dataclass
class PendingCounter:
    """Calls admitted alone on one counter, not yet added to the store."""

    window: Window
    expires_at: float
    count: int = 0
    # Rolling windows: (epoch seconds, member id) of each call, as consume.lua adds them.
    members: list[tuple[float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Flush:
    """One app's pending counters, to be added in one script: ``marker`` names it so a
    retried flush adds nothing twice."""

    marker: str
    counters: tuple[tuple[str, PendingCounter], ...]


class LocalFallback:
    """Per counter: what the store last said remained, what was admitted alone since, and
    what is still to be added back. ``replicas`` is how many replicas share the apps."""

    def __init__(self, replicas: int) -> None:
        if replicas < 1:
            raise ValueError("replicas must be >= 1")
        self.replicas = replicas
        self._seen: dict[str, int] = {}
        self._stems: set[str] = set()
        self._used: Counter[str] = Counter()
        self._pending: dict[str, PendingCounter] = {}
        self._flushing: dict[str, Flush] = {}

    @property
    def pending(self) -> bool:
        """Counts are waiting to be added back to the store."""
        return bool(self._pending or self._flushing)

    def observe(self, states: Sequence[BucketState], now: float) -> None:
        """The store answered: remember what it said remains (this replica's own calls
        admitted alone are all in the store by now, or still pending and counted here)."""
        for state in states:
            remaining = state.remaining
            if remaining is None:
                continue
            key = counter_key(state.spec, now)
            self._seen[key] = remaining
            self._stems.add(state.spec.key)
            self._used[key] = self._pending_count(key)

    def admit(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome | None:
        """Admit one call alone if every limited bucket has allowance left, and count it;
        None when one has not (or this replica never heard of it)."""
        lefts: list[int | None] = []
        for spec in buckets:
            if spec.limit is None:
                lefts.append(None)
                continue
            key = counter_key(spec, now)
            basis = remaining_basis(spec, now, self._seen, self._stems)
            share = allowance(basis, self.replicas, self._used[key])
            if share <= 0:
                return None
            lefts.append(share - 1)
        states = []
        for spec, left in zip(buckets, lefts, strict=True):
            key = counter_key(spec, now)
            self._used[key] += 1
            window = counted_window(spec)
            pending = self._pending.get(key)
            if pending is None:
                pending = PendingCounter(window, expires_at(window, now))
                self._pending[key] = pending
            pending.count += 1
            pending.expires_at = max(pending.expires_at, expires_at(window, now))
            if window is Window.ROLLING_24H:
                pending.members.append((now, uuid.uuid4().hex))
            used = pending.count if spec.limit is None or left is None else spec.limit - left
            states.append(BucketState(spec, used, reset_at(window, now, None)))
        return QuotaOutcome(
            admitted=True, states=tuple(states), exhausted=(), ticket=None, local=True
        )

    def take_flushes(self) -> list[Flush]:
        """The pending counts, one ``Flush`` per app; each stays pending until
        ``flushed`` says the store took it, and a retry sends the same marker."""
        by_app: dict[str, list[tuple[str, PendingCounter]]] = {}
        for key, counter in self._pending.items():
            found = _APP_TAG.search(key)
            by_app.setdefault(found.group(0) if found else "{}", []).append((key, counter))
        self._pending = {}
        for tag, counters in by_app.items():
            marker = f"lgw:{tag}:flush:{uuid.uuid4().hex}"
            self._flushing[marker] = Flush(marker, tuple(counters))
        return list(self._flushing.values())

    def flushed(self, flush: Flush) -> None:
        """The store added ``flush`` (now or on an earlier try)."""
        self._flushing.pop(flush.marker, None)

    def _pending_count(self, key: str) -> int:
        counted = self._pending.get(key)
        total = counted.count if counted else 0
        for flush in self._flushing.values():
            total += sum(c.count for k, c in flush.counters if k == key)
        return total
