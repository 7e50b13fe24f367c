"""The background worker that delivers queued webhook notifications to each app.

It claims due items with a lease, POSTs each to the app's ``webhook.forward_to`` and
acknowledges it only after a 2xx; any other outcome makes it due again after an exponential
backoff (``BACKOFF_BASE_SECONDS`` doubling per attempt, at most ``BACKOFF_MAX_SECONDS``).
An item whose worker stops or dies mid-delivery is claimed again once its lease
(``LEASE_SECONDS``) runs out, by this process or another sharing the Redis queue. Delivery
is therefore at least once: a receiver that answers after the lease ran out, or whose 2xx is
lost, sees the notification again (the ``X-Gateway-Notification-Id`` header identifies it).

Started and stopped with the gateway application (``webhook_delivery_context``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp

from gateway.errors import StoreError
from gateway.settings.model import AppConfig
from gateway.support.client_session import outbound_session, skip_body
from gateway.support.metrics import WEBHOOK_DELIVERIES, Metrics
from gateway.webhooks.queue import ClaimedNotification, WebhookQueue

log = logging.getLogger("gateway.webhooks")

LEASE_SECONDS = 60.0
POLL_SECONDS = 0.25
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
DELIVERY_TIMEOUT_SECONDS = 10.0
CLAIM_BATCH = 10


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed delivery: 1, 2, 4, ... at most 300."""
    exponent = min(max(attempts - 1, 0), 30)
    return float(min(BACKOFF_BASE_SECONDS * 2**exponent, BACKOFF_MAX_SECONDS))


class DeliveryWorker:
    """Delivers every configured app's queue; one per process."""

    def __init__(
        self,
        queue: WebhookQueue,
        apps: Mapping[str, AppConfig],
        clock: Callable[[], float],
        metrics: Metrics,
        wakeup: asyncio.Event,
        *,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        backoff: Callable[[int], float] = backoff_seconds,
    ) -> None:
        self._queue = queue
        self._targets = {
            name: app.webhook.forward_to for name, app in apps.items() if app.webhook is not None
        }
        self._clock = clock
        self._metrics = metrics
        self._wakeup = wakeup
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._backoff = backoff
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._targets:
            return
        self._session = outbound_session(
            timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_SECONDS)
        )
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Stop at once: deliveries in flight stay leased and are delivered again later."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            # Cleared before looking, so a push queued while we deliver wakes the next turn.
            self._wakeup.clear()
            try:
                worked = await self.run_once()
            except StoreError as exc:
                log.warning("webhook delivery paused: %s", exc)
                worked = 0
            if worked:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)

    async def run_once(self) -> int:
        """Claim and deliver what is due for every app; returns how many were attempted."""
        attempted = 0
        for app, target in self._targets.items():
            due = await self._queue.claim(app, self._clock(), self._lease, CLAIM_BATCH)
            attempted += len(due)
            results = await asyncio.gather(
                *(self._deliver(app, target, item) for item in due), return_exceptions=True
            )
            for result in results:
                # An item whose ack or retry did not reach the store stays leased: it is
                # delivered again when the lease runs out.
                if isinstance(result, StoreError):
                    log.warning("webhook delivery for app %s: %s", app, result)
                elif isinstance(result, BaseException):
                    raise result
        return attempted

    async def _deliver(self, app: str, target: str, item: ClaimedNotification) -> None:
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "X-Gateway-Notification-Id": item.id,
            "X-Gateway-Delivery-Attempt": str(item.attempts),
        }
        try:
            async with self._session.post(
                target, data=item.payload, headers=headers, allow_redirects=False
            ) as response:
                await skip_body(response)
                status: int | None = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = None
            failure = type(exc).__name__
        else:
            failure = f"status {status}"
        if status is not None and 200 <= status < 300:
            await self._queue.ack(app, item.id)
            self._metrics.inc(WEBHOOK_DELIVERIES, app=app, outcome="delivered")
            return
        wait = self._backoff(item.attempts)
        await self._queue.retry(app, item.id, self._clock() + wait)
        self._metrics.inc(WEBHOOK_DELIVERIES, app=app, outcome="retry")
        log.warning(
            "webhook delivery for app %s failed (%s, attempt %d); retrying in %.0f s",
            app,
            failure,
            item.attempts,
            wait,
        )


async def webhook_delivery(
    queue: WebhookQueue,
    apps: Mapping[str, AppConfig],
    clock: Callable[[], float],
    metrics: Metrics,
    wakeup: asyncio.Event,
) -> AsyncIterator[None]:
    """The delivery worker, running for as long as the gateway application runs."""
    worker = DeliveryWorker(queue, apps, clock, metrics, wakeup)
    await worker.start()
    try:
        yield
    finally:
        await worker.stop()
