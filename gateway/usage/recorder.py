"""What the request path tells the usage page, kept cheap: in-process notes flushed to the
shared ledger once a second (and before a page is drawn), never a store round trip per call.

* Members: the first call of a member of an app on a UTC day is noted (a set look-up after
  that), so the page can list the member buckets in use today.
* Refusals: counted per app, day and reason (shadow refusals as ``shadow:<reason>``).
* Learned limits: LinkedIn's quota 429 marks a resource exhausted here at once, and in the
  ledger for every other replica, which picks the mark up at its next flush.
* Near-limit events: handed to ``Alerts``.

A flush that fails keeps its notes for the next one; the page then shows this replica's
notes late, and the request path never notices.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from gateway.errors import StoreError
from gateway.quota.keys import utc_day
from gateway.quota.model import BucketState
from gateway.settings.usage_alerts import UsageAlerts
from gateway.support.client_session import outbound_session
from gateway.support.logs import Fields
from gateway.support.metrics import LEARNED_LIMITS, Metrics
from gateway.support.periodic_flush import flushing
from gateway.usage.alerts import Alerts, Post, session_post
from gateway.usage.learned import LearnedLimits
from gateway.usage.ledger import DayBatch, LearnedMark, MemoryUsageLedger, UsageLedger

log = logging.getLogger("gateway.usage")

FLUSH_SECONDS = 1.0
# Members remembered as already noted today, per process; past it the memory starts over
# (a member noted twice costs one idempotent SADD).
SEEN_MEMBERS = 100_000
SHADOW_PREFIX = "shadow:"
REFUSED_DECISIONS = frozenset({"refuse"})
SHADOW_DECISION = "shadow_refuse"


class Usage:
    """The usage facts of one gateway process, and its way to the shared ledger."""

    def __init__(
        self,
        ledger: UsageLedger | None = None,
        metrics: Metrics | None = None,
        alerts: UsageAlerts | None = None,
        apps: Sequence[str] = (),
    ) -> None:
        self.ledger: UsageLedger = ledger if ledger is not None else MemoryUsageLedger()
        self.metrics = metrics if metrics is not None else Metrics()
        settings = alerts if alerts is not None else UsageAlerts()
        self.alerts = Alerts(self.ledger, self.metrics, settings.thresholds, settings.webhook)
        self.learned = LearnedLimits()
        self._apps = tuple(apps)
        self._pending: dict[tuple[str, int], DayBatch] = {}
        self._seen_day = -1
        self._seen: set[tuple[str, str]] = set()
        self._flushing = asyncio.Lock()
        self._failing = False

    def note_member(self, app: str, member: str, now: float) -> None:
        day = utc_day(now)
        if day != self._seen_day or len(self._seen) >= SEEN_MEMBERS:
            self._seen_day = day
            self._seen.clear()
        if (app, member) in self._seen:
            return
        self._seen.add((app, member))
        self._batch(app, day).members.add(member)

    def note_outcome(self, app: str, decision: str, reason: str, now: float) -> None:
        """Count a refusal (or a shadow one) of ``app`` under its reason."""
        if decision in REFUSED_DECISIONS:
            name = reason
        elif decision == SHADOW_DECISION:
            name = SHADOW_PREFIX + reason
        else:
            return
        refusals = self._batch(app, utc_day(now)).refusals
        refusals[name] = refusals.get(name, 0) + 1

    def learn(self, app: str, counter: str, resource: str, member: str | None, now: float) -> None:
        """LinkedIn answered its quota 429: stop this resource's calls until 00:00 UTC."""
        mark = LearnedMark(counter, resource, member, now)
        if self.learned.add(app, mark, now):
            self._batch(app, utc_day(now)).learned.append(mark)
            self.metrics.inc(LEARNED_LIMITS, app=app, counter=counter)
            log.warning(
                Fields(
                    event="learned_limit",
                    app=app,
                    counter=counter,
                    resource=resource,
                    member=member or "-",
                    until="00:00Z",
                )
            )

    def charged(self, app: str, states: Sequence[BucketState], now: float) -> None:
        self.alerts.raise_events(app, states, now)

    async def flush(self, now: float) -> None:
        """Send the notes to the ledger and take in the marks other replicas learned."""
        async with self._flushing:
            pending, self._pending = self._pending, {}
            try:
                if pending:
                    await self.ledger.add(pending, now)
                marks = await self.ledger.learned(self._apps, now) if self._apps else {}
            except StoreError as exc:
                for key, batch in pending.items():
                    self._batch(*key).merge(batch)
                if not self._failing:
                    log.warning("usage notes kept in this process for now: %s", exc)
                self._failing = True
                return
            if self._failing:
                log.info("usage notes reach the store again")
            self._failing = False
            for app, app_marks in marks.items():
                for mark in app_marks:
                    self.learned.add(app, mark, now)

    def _batch(self, app: str, day: int) -> DayBatch:
        key = (app, day)
        batch = self._pending.get(key)
        if batch is None:
            batch = self._pending[key] = DayBatch()
        return batch


async def run_usage(
    usage: Usage, clock: Callable[[], float], post: Post, *, every: float = FLUSH_SECONDS
) -> AsyncIterator[None]:
    """Flush every ``every`` seconds and tell alerts while the gateway runs; a last flush
    at the end. An async generator for ``cleanup_ctx``-style use."""
    alerts = asyncio.create_task(usage.alerts.run(post))
    async with flushing(usage.flush, clock, every, stop_with=(alerts,)):
        yield


async def usage_tasks(usage: Usage, clock: Callable[[], float]) -> AsyncIterator[None]:
    """``run_usage`` with a client session of its own for the alert webhook."""
    async with outbound_session() as session:
        async for _ in run_usage(usage, clock, session_post(session)):
            yield
