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

The 429 itself is remembered too: it depends on the moment only through the whole seconds
left until each bucket resets, so it is rebuilt only when one of those changes.
"""

from __future__ import annotations

from gateway.errors import Refusal
from gateway.quota.buckets import quota_refusal
from gateway.quota.headers import seconds_until
from gateway.quota.model import BucketSpec, QuotaOutcome

# Bounds the memory a flood of distinct refused callers can take; the oldest entry goes first.
MAX_ENTRIES = 10_000

Buckets = tuple[BucketSpec, ...]


class RefusalCache:
    """The last refusal of each set of buckets, until a slot could free or ``seconds`` pass."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self._max_entries = max_entries
        self._refusals: dict[Buckets, _Entry] = {}

    def refusal(self, buckets: Buckets, now: float) -> Refusal | None:
        """The 429 of the refusal still standing for exactly these buckets, or None: the
        same as ``quota_refusal`` of it at ``now``."""
        entry = self._refusals.get(buckets)
        if entry is None:
            return None
        if now < entry.until:
            return entry.refusal(now)
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
        self._refusals[buckets] = _Entry(until, outcome)

    def forget(self) -> None:
        """A slot was given back: no remembered refusal may stand any longer."""
        self._refusals.clear()

    def __len__(self) -> int:
        return len(self._refusals)

    def _make_room(self, now: float) -> None:
        self._refusals = {key: entry for key, entry in self._refusals.items() if entry.until > now}
        while len(self._refusals) >= self._max_entries:
            del self._refusals[next(iter(self._refusals))]


class _Entry:
    """One remembered refusal, and its 429 for the seconds-to-reset it was last built at."""

    __slots__ = ("_built", "_seconds", "outcome", "until")

    def __init__(self, until: float, outcome: QuotaOutcome) -> None:
        self.until = until
        self.outcome = outcome
        self._seconds: tuple[int, ...] = ()
        self._built: Refusal | None = None

    def refusal(self, now: float) -> Refusal:
        seconds = tuple(seconds_until(state.reset_at, now) for state in self.outcome.states)
        if self._built is None or seconds != self._seconds:
            self._built = quota_refusal(self.outcome, now)
            self._seconds = seconds
        return self._built
