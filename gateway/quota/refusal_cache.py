"""Refusals remembered for a moment, so that a caller who keeps calling past its quota is
answered without a store round trip.

A call refused over quota changes nothing in the store, and an empty bucket stays empty
until it frees a slot at its ``reset_at`` (a fixed window's end, a rolling window's oldest
call ageing out). The same call a moment later is refused the same way, so it is answered
from memory: the round trip is a large share of a refusal's cost, and a client that ignores
``Retry-After`` would otherwise put its whole rate on Redis. envoyproxy/ratelimit keeps the
same local cache of over-limit keys.

Only a refund frees a slot before ``reset_at``. A replica forgets every refusal it remembers
when it refunds a call; a refund on another replica is seen at most ``seconds`` later, the one
case in which a call is refused that the store would admit. Nothing is ever admitted from
memory. ``seconds`` 0 turns the memory off.
"""

from __future__ import annotations

from gateway.quota.model import BucketSpec, QuotaOutcome

# Bounds the memory a flood of distinct refused callers can take; the oldest entry goes first.
MAX_ENTRIES = 10_000

Buckets = tuple[BucketSpec, ...]


class RefusalCache:
    """The last refusal of each set of buckets, until a slot could free or ``seconds`` pass."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self._max_entries = max_entries
        self._refusals: dict[Buckets, tuple[float, QuotaOutcome]] = {}

    def refused(self, buckets: Buckets, now: float) -> QuotaOutcome | None:
        """The refused outcome still standing for exactly these buckets, or None."""
        entry = self._refusals.get(buckets)
        if entry is None:
            return None
        until, outcome = entry
        if now < until:
            return outcome
        del self._refusals[buckets]
        return None

    def remember(self, buckets: Buckets, outcome: QuotaOutcome, now: float) -> None:
        """Keep a refused ``outcome`` until its first exhausted bucket could free a slot."""
        if self.seconds <= 0 or outcome.admitted:
            return
        frees = min(
            (state.reset_at for state in outcome.states if state.spec in outcome.exhausted),
            default=now,
        )
        until = min(now + self.seconds, frees)
        if until <= now:
            return
        if buckets not in self._refusals and len(self._refusals) >= self._max_entries:
            self._make_room(now)
        self._refusals[buckets] = (until, outcome)

    def forget(self) -> None:
        """A slot was given back: no remembered refusal may stand any longer."""
        self._refusals.clear()

    def __len__(self) -> int:
        return len(self._refusals)

    def _make_room(self, now: float) -> None:
        self._refusals = {key: entry for key, entry in self._refusals.items() if entry[0] > now}
        while len(self._refusals) >= self._max_entries:
            del self._refusals[next(iter(self._refusals))]
