"""Near-limit events: a bucket crossing 75 %, 90 % and 100 % of its limit (configurable).

The quota counters are exact, so exactly one admitted call takes a bucket from below a
threshold to at or above it; that call raises the event. The event is then told once per
bucket, threshold and UTC day across every replica sharing the store (a ``SET NX`` key:
a refund and a re-crossing, or a rolling window sliding back under, do not tell it again):
a structured ``gateway.usage`` log line, ``gateway_usage_alerts_total``, and, with
``usage_alerts.webhook``, a JSON POST retried with backoff.

Nothing here runs on the request path but ``crossings`` and a ``put_nowait`` into a bounded
queue; a background task does the rest, and a full queue drops the event (counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

import aiohttp

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key, utc_day
from gateway.quota.model import BucketState
from gateway.quota.route_limits import is_member_bucket
from gateway.support.client_session import skip_body
from gateway.support.logs import Fields
from gateway.support.metrics import USAGE_ALERT_POSTS, USAGE_ALERTS, Metrics
from gateway.usage.ledger import UsageLedger

log = logging.getLogger("gateway.usage")

QUEUE_SIZE = 1000
POST_ATTEMPTS = 5
POST_TIMEOUT_SECONDS = 5.0
BACKOFF_BASE_SECONDS = 0.5
ALERT_KEY = "usage-alert"


@dataclass(frozen=True)
class AlertEvent:
    app: str
    bucket: str
    member: str | None
    threshold: int
    used: int
    limit: int
    reset_at: float
    at: float
    # The store key that makes the event once per bucket, threshold and day.
    key: str

    def payload(self) -> dict[str, object]:
        return {
            "event": "usage_threshold_crossed",
            "app": self.app,
            "bucket": self.bucket,
            "member": self.member,
            "threshold_percent": self.threshold,
            "used": self.used,
            "limit": self.limit,
            "remaining": max(self.limit - self.used, 0),
            "reset_at": _iso(self.reset_at),
            "at": _iso(self.at),
        }


def member_of(state: BucketState) -> str | None:
    """The member a per-member bucket counts (the last part of its key), else None."""
    if not is_member_bucket(state.spec.name):
        return None
    return unquote(state.spec.key.rsplit(":", 1)[1])


def alert_key(app: str, state: BucketState, threshold: int, now: float) -> str:
    """The once-a-day mark of one bucket's threshold, under the app's hash tag; the bucket
    is named by a digest of its key, so no member id is spelled out in it."""
    digest = hashlib.sha256(state.spec.key.encode()).hexdigest()[:32]
    return f"{bucket_key(app, ALERT_KEY)}:{digest}:{threshold}:d{utc_day(now)}"


def crossed(thresholds: Sequence[int], limit: int, used: int) -> list[int]:
    """The thresholds the call that brought a bucket to ``used`` crossed. Pure.

    A threshold ``t`` is crossed when ``used - 1`` calls were below ``t`` % of ``limit``
    and ``used`` are not: ``100 * (used - 1) < t * limit <= 100 * used``.
    """
    if limit <= 0 or used <= 0:
        return []
    return [t for t in thresholds if 100 * (used - 1) < t * limit <= 100 * used]


def crossings(
    app: str, states: Sequence[BucketState], thresholds: Sequence[int], now: float
) -> list[AlertEvent]:
    """The events an admitted call raises, given its buckets' states after it. Pure."""
    events: list[AlertEvent] = []
    for state in states:
        limit = state.spec.limit
        if limit is None:
            continue
        for threshold in crossed(thresholds, limit, state.used):
            events.append(
                AlertEvent(
                    app=app,
                    bucket=state.spec.name,
                    member=member_of(state),
                    threshold=threshold,
                    used=state.used,
                    limit=limit,
                    reset_at=state.reset_at,
                    at=now,
                    key=alert_key(app, state, threshold, now),
                )
            )
    return events


Post = Callable[[str, dict[str, object]], Awaitable[int]]


class Alerts:
    """The bounded queue of raised events and the task that tells them."""

    def __init__(
        self,
        ledger: UsageLedger,
        metrics: Metrics,
        thresholds: Sequence[int],
        webhook: str | None,
        *,
        queue_size: int = QUEUE_SIZE,
        backoff_base: float = BACKOFF_BASE_SECONDS,
    ) -> None:
        self.thresholds = tuple(thresholds)
        self._ledger = ledger
        self._metrics = metrics
        self._webhook = webhook
        self.backoff_base = backoff_base
        self._queue: asyncio.Queue[AlertEvent] = asyncio.Queue(queue_size)

    def raise_events(self, app: str, states: Sequence[BucketState], now: float) -> None:
        """Queue the events of an admitted call; never waits, never fails the call."""
        for event in crossings(app, states, self.thresholds, now):
            try:
                self._queue.put_nowait(event)
            except asyncio.QueueFull:
                self._metrics.inc(USAGE_ALERT_POSTS, outcome="dropped")
                log.warning("usage alert queue full: dropped %s %s", event.app, event.bucket)

    async def run(self, post: Post) -> None:
        """Tell queued events until cancelled."""
        while True:
            event = await self._queue.get()
            try:
                await self._tell(event, post)
            finally:
                self._queue.task_done()
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # The store client swallowed the cancel (redis-py may, while it tears a
                # connection down): without this the task waits on the queue forever and
                # serve never finishes draining.
                raise asyncio.CancelledError

    async def drain(self) -> None:
        """Wait until every queued event was told (tests, shutdown)."""
        await self._queue.join()

    async def _tell(self, event: AlertEvent, post: Post) -> None:
        try:
            first = await self._ledger.first_alert(event.key, event.at)
        except StoreError as exc:
            # Telling twice beats not telling: a replica may repeat it, the event is not lost.
            log.warning("usage alert dedup unavailable (%s); telling it anyway", exc)
            first = True
        if not first:
            return
        self._metrics.inc(
            USAGE_ALERTS, app=event.app, bucket=event.bucket, threshold=str(event.threshold)
        )
        payload = event.payload()
        log.warning(Fields(payload))
        if self._webhook is not None:
            await self._post(self._webhook, payload, post)

    async def _post(self, url: str, payload: dict[str, object], post: Post) -> None:
        for attempt in range(1, POST_ATTEMPTS + 1):
            status: int | None = None
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                status = await post(url, payload)
            if status is not None and 200 <= status < 300:
                self._metrics.inc(USAGE_ALERT_POSTS, outcome="delivered")
                return
            if attempt < POST_ATTEMPTS:
                self._metrics.inc(USAGE_ALERT_POSTS, outcome="retry")
                await asyncio.sleep(self.backoff_base * 2 ** (attempt - 1))
        self._metrics.inc(USAGE_ALERT_POSTS, outcome="failed")
        log.warning("usage alert POST to the webhook failed %d times; given up", POST_ATTEMPTS)


def session_post(session: aiohttp.ClientSession) -> Post:
    """POST JSON with ``session``; the status, or an exception for a failed exchange."""

    async def post(url: str, payload: dict[str, object]) -> int:
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_SECONDS)
        async with session.post(
            url, json=payload, timeout=timeout, allow_redirects=False
        ) as response:
            await skip_body(response)
            return response.status

    return post


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")
