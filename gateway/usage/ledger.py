"""Where the day's usage facts live: the members an app's calls named, its refusals by
reason, the limits learned from LinkedIn's own 429s, and which near-limit events were told.

One contract, two stores: Redis (shared by every replica; one pipeline per flush) and this
process's memory (``memory://``). Every Redis key shares the app's ``{app}`` hash tag and
expires a minute after the UTC midnight that ends its day, like the quota counters.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import redis.asyncio
from redis.exceptions import RedisError

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key, utc_day
from gateway.quota.model import Window
from gateway.quota.redis_replies import reply_text
from gateway.quota.windows import expires_at, ttl_seconds

T = TypeVar("T")

MEMBERS = "usage-members"
REFUSALS = "usage-refusals"
LEARNED = "usage-learned"
# A page lists at most this many members of one app (the busiest first).
MEMBERS_SHOWN = 1000


@dataclass(frozen=True)
class LearnedMark:
    """LinkedIn answered 429 for ``counter`` (APPLICATION or APPLICATION_AND_MEMBER) on
    calls to ``resource`` (of ``member`` for the member counter) at ``learned_at``."""

    counter: str
    resource: str
    member: str | None
    learned_at: float

    def field(self) -> str:
        return json.dumps([self.counter, self.resource, self.member or ""])

    @classmethod
    def from_field(cls, raw: str, learned_at: float) -> LearnedMark | None:
        try:
            counter, resource, member = json.loads(raw)
        except (ValueError, TypeError):
            return None
        if not all(isinstance(part, str) for part in (counter, resource, member)):
            return None
        return cls(counter, resource, member or None, learned_at)


@dataclass
class DayBatch:
    """What one process noted for one app on one UTC day since its last flush."""

    members: set[str] = field(default_factory=set)
    refusals: dict[str, int] = field(default_factory=dict)
    learned: list[LearnedMark] = field(default_factory=list)

    def merge(self, other: DayBatch) -> None:
        self.members |= other.members
        for reason, count in other.refusals.items():
            self.refusals[reason] = self.refusals.get(reason, 0) + count
        self.learned.extend(other.learned)


# (app, UTC day) -> what was noted.
Batches = Mapping[tuple[str, int], DayBatch]


class UsageLedger(Protocol):
    """The day's usage facts of every app. ``now`` is always passed in; failures of the
    backing service raise ``StoreError``."""

    async def add(self, batches: Batches, now: float) -> None:
        """Record noted members, refusal counts and learned marks, each under its day."""

    async def members(self, app: str, now: float) -> tuple[tuple[str, ...], int]:
        """Up to ``MEMBERS_SHOWN`` members whose calls were counted today, and how many."""

    async def refusals(self, app: str, now: float) -> dict[str, int]:
        """Today's refusals of ``app`` by reason (shadow refusals as ``shadow:<reason>``)."""

    async def learned(self, apps: Sequence[str], now: float) -> dict[str, list[LearnedMark]]:
        """Today's learned marks of each of ``apps``."""

    async def first_alert(self, key: str, now: float) -> bool:
        """True exactly once per ``key`` per UTC day, across everyone sharing the store."""


def _key(app: str, what: str, day: int) -> str:
    return f"{bucket_key(app, what)}:d{day}"


class MemoryUsageLedger:
    """The ledger of one process: dictionaries keyed by (app, day), older days dropped."""

    def __init__(self) -> None:
        self._days: dict[tuple[str, int], DayBatch] = {}
        self._alerts: dict[str, int] = {}

    async def add(self, batches: Batches, now: float) -> None:
        today = utc_day(now)
        for (app, day), batch in batches.items():
            if day == today:
                self._days.setdefault((app, day), DayBatch()).merge(batch)
        self._forget_before(today)

    async def members(self, app: str, now: float) -> tuple[tuple[str, ...], int]:
        batch = self._days.get((app, utc_day(now)))
        members = sorted(batch.members) if batch else []
        return tuple(members[:MEMBERS_SHOWN]), len(members)

    async def refusals(self, app: str, now: float) -> dict[str, int]:
        batch = self._days.get((app, utc_day(now)))
        return dict(batch.refusals) if batch else {}

    async def learned(self, apps: Sequence[str], now: float) -> dict[str, list[LearnedMark]]:
        today = utc_day(now)
        return {
            app: list(self._days[(app, today)].learned) if (app, today) in self._days else []
            for app in apps
        }

    async def first_alert(self, key: str, now: float) -> bool:
        today = utc_day(now)
        self._alerts = {k: day for k, day in self._alerts.items() if day == today}
        if key in self._alerts:
            return False
        self._alerts[key] = today
        return True

    def _forget_before(self, today: int) -> None:
        for key in [key for key in self._days if key[1] < today]:
            del self._days[key]


class RedisUsageLedger:
    """The ledger shared by every replica on one Redis (redis-py, off the request path)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client

    async def add(self, batches: Batches, now: float) -> None:
        pipe = self._client.pipeline(transaction=False)
        queued = False
        for (app, day), batch in batches.items():
            ttl = _ttl(day, now)
            if batch.members:
                key = _key(app, MEMBERS, day)
                pipe.sadd(key, *sorted(batch.members))
                pipe.expire(key, ttl)
                queued = True
            if batch.refusals:
                key = _key(app, REFUSALS, day)
                for reason, count in batch.refusals.items():
                    pipe.hincrby(key, reason, count)
                pipe.expire(key, ttl)
                queued = True
            if batch.learned:
                key = _key(app, LEARNED, day)
                pipe.hset(key, mapping={m.field(): repr(m.learned_at) for m in batch.learned})
                pipe.expire(key, ttl)
                queued = True
        if queued:
            await self._run("record usage", pipe.execute())

    async def members(self, app: str, now: float) -> tuple[tuple[str, ...], int]:
        key = _key(app, MEMBERS, utc_day(now))
        total = int(await self._run("count members", self._client.scard(key)))
        if total <= MEMBERS_SHOWN:
            raw: object = await self._run("read members", self._client.smembers(key))
        else:
            raw = await self._run("read members", self._client.srandmember(key, MEMBERS_SHOWN))
        members = raw if isinstance(raw, set | list) else ()
        return tuple(sorted(reply_text(m) for m in members)), total

    async def refusals(self, app: str, now: float) -> dict[str, int]:
        key = _key(app, REFUSALS, utc_day(now))
        raw = await self._run("read refusals", self._client.hgetall(key))
        return {reply_text(k): int(v) for k, v in raw.items()}

    async def learned(self, apps: Sequence[str], now: float) -> dict[str, list[LearnedMark]]:
        day = utc_day(now)
        pipe = self._client.pipeline(transaction=False)
        for app in apps:
            pipe.hgetall(_key(app, LEARNED, day))
        replies = await self._run("read learned limits", pipe.execute()) if apps else []
        out: dict[str, list[LearnedMark]] = {}
        for app, raw in zip(apps, replies, strict=True):
            marks = (LearnedMark.from_field(reply_text(k), float(v)) for k, v in raw.items())
            out[app] = [mark for mark in marks if mark is not None]
        return out

    async def first_alert(self, key: str, now: float) -> bool:
        ttl = ttl_seconds(Window.UTC_DAY, now)
        return bool(await self._run("mark alert", self._client.set(key, "1", nx=True, ex=ttl)))

    async def _run(self, what: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except (RedisError, OSError) as exc:
            raise StoreError(f"usage ledger: {what} failed: {type(exc).__name__}") from exc


def _ttl(day: int, now: float) -> int:
    """Seconds the keys of ``day`` live from ``now``: until a minute past the midnight
    that ends the day (at least one second, for a day that just ended)."""
    return max(int(expires_at(Window.UTC_DAY, day * 86400.0) - now), 1)
