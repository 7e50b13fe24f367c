"""Calls no catalog route matched: logged once per normalized path per UTC day, counted in
``gateway_unmatched_calls_total{family}``, and tallied per day in a ledger that
``linkedin-gateway catalog --unmatched`` and the admin ``/unmatched`` read.

The request path only touches memory: notes are flushed to the ledger once a second (Redis
on a Redis store, so every replica adds to one tally; this process otherwise). Both sides
are bounded: at most ``MAX_PATHS`` distinct paths a day, the rest counted as ``(other)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar

import redis.asyncio
from redis.exceptions import RedisError

from gateway.catalog.model import Catalog
from gateway.catalog.unmatched_paths import catalog_families, normalize, path_family
from gateway.errors import StoreError
from gateway.quota.keys import PREFIX, utc_day
from gateway.quota.model import WINDOW_SECONDS
from gateway.quota.redis_replies import reply_text
from gateway.support.metrics import UNMATCHED_CALLS, Metrics
from gateway.support.periodic_flush import flushing

log = logging.getLogger("gateway")

METRIC = UNMATCHED_CALLS
MAX_PATHS = 1000
OVERFLOW = "(other)"
FLUSH_SECONDS = 1.0
# A day's tally is kept a week, for operators who look after a weekend.
KEEP_DAYS = 7

T = TypeVar("T")
Tally = Mapping[str, int]


def day_key(day: int) -> str:
    """The Redis hash of one UTC day's tally: normalized path -> calls."""
    return f"{PREFIX}:unmatched:d{day}"


class UnmatchedLedger(Protocol):
    async def add(self, day: int, counts: Tally, now: float) -> None: ...

    async def day(self, day: int) -> dict[str, int]: ...


class MemoryUnmatchedLedger:
    """The tally of this process (memory:// stores), the last ``KEEP_DAYS`` days."""

    def __init__(self) -> None:
        self._days: dict[int, Counter[str]] = {}

    async def add(self, day: int, counts: Tally, now: float) -> None:
        tally = self._days.setdefault(day, Counter())
        for path, n in counts.items():
            tally[_capped(tally, path)] += n
        for old in [d for d in self._days if d <= day - KEEP_DAYS]:
            del self._days[old]

    async def day(self, day: int) -> dict[str, int]:
        return dict(self._days.get(day, {}))


def _capped(tally: Mapping[str, int], path: str) -> str:
    return path if path in tally or len(tally) < MAX_PATHS else OVERFLOW


# One path's calls into a day's hash, at most MAX_PATHS fields (then into '(other)'); the
# hash expires KEEP_DAYS after its day began.
_ADD = """
local field = ARGV[1]
local known = redis.call('HEXISTS', KEYS[1], field) == 1
if not known and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  field = ARGV[4]
end
redis.call('HINCRBY', KEYS[1], field, ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0
"""


class RedisUnmatchedLedger:
    """The tally every replica adds to, in Redis."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._add = client.register_script(_ADD)

    async def add(self, day: int, counts: Tally, now: float) -> None:
        ttl = max(int((day + KEEP_DAYS) * WINDOW_SECONDS - now), 1)
        for path, n in counts.items():
            args: list[str | int] = [path, n, MAX_PATHS, OVERFLOW, ttl]
            await self._run(self._add(keys=[day_key(day)], args=args))

    async def day(self, day: int) -> dict[str, int]:
        raw = await self._run(self._client.hgetall(day_key(day)))
        return {reply_text(k): int(v) for k, v in raw.items()}

    async def _run(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except (RedisError, OSError) as exc:
            raise StoreError(f"unmatched-call tally failed: {type(exc).__name__}: {exc}") from exc


class UnmatchedCalls:
    """The unmatched calls of one gateway process, and its way to the shared tally."""

    def __init__(
        self,
        catalog: Catalog | None = None,
        ledger: UnmatchedLedger | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.ledger: UnmatchedLedger = ledger if ledger is not None else MemoryUnmatchedLedger()
        self.metrics = metrics if metrics is not None else Metrics()
        self._families = catalog_families(catalog) if catalog is not None else frozenset()
        self._day = -1
        # Paths logged today (bounded like the tally: past it, one more line says so).
        self._logged: set[str] = set()
        self._pending: dict[int, Counter[str]] = {}
        self._flushing = asyncio.Lock()

    def note(self, method: str, api: str, segments: Sequence[str], now: float) -> None:
        """Count one call no route matched; the first of its path today is logged."""
        family = path_family(api, segments, self._families)
        self.metrics.inc(METRIC, family=family)
        day = utc_day(now)
        if day != self._day:
            self._day = day
            self._logged.clear()
        path = normalize(api, segments)
        pending = self._pending.setdefault(day, Counter())
        pending[_capped(pending, path)] += 1
        if path in self._logged:
            return
        if len(self._logged) >= MAX_PATHS:
            if len(self._logged) == MAX_PATHS:
                self._logged.add(OVERFLOW)
                log.warning(
                    "more than %d paths outside the catalog today; no more logged", MAX_PATHS
                )
            return
        self._logged.add(path)
        log.warning(
            "call outside the catalog: %s %s (family %s; logged once a day per path)",
            method,
            path,
            family,
        )

    async def flush(self, now: float) -> None:
        """Send the notes to the tally; on a store failure keep them for the next flush."""
        async with self._flushing:
            pending, self._pending = self._pending, {}
            for day, counts in pending.items():
                try:
                    await self.ledger.add(day, counts, now)
                except StoreError as exc:
                    kept = self._pending.setdefault(day, Counter())
                    for path, n in counts.items():
                        kept[_capped(kept, path)] += n
                    log.warning("unmatched-call notes kept in this process for now: %s", exc)

    async def today(self, now: float) -> dict[str, int]:
        """Today's tally (UTC), this process's notes flushed first."""
        await self.flush(now)
        return await self.ledger.day(utc_day(now))


async def run_flush(
    calls: UnmatchedCalls, clock: Callable[[], float], *, every: float = FLUSH_SECONDS
) -> AsyncIterator[None]:
    """Flush every ``every`` seconds while the gateway runs, and once at the end."""
    async with flushing(calls.flush, clock, every):
        yield
