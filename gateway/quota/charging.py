"""Charging calls to their quota buckets: the one caller of a store's ``consume``.

The one place where a consume's outcome and the store's failures become what happens next,
for every caller: the call about to be forwarded, the role look-ups made on its behalf,
and the member look-ups a token needed. Refusals are raised (``GatewayError``), as every
effectful step of the request path raises them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from gateway.errors import GatewayError, StoreError
from gateway.quota.buckets import quota_refusal, store_unavailable_refusal
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome
from gateway.quota.refusal_cache import RefusalCache
from gateway.quota.resp_client import QueueFull
from gateway.quota.store import QuotaStore
from gateway.settings.model import AppConfig, OnStoreError
from gateway.support.metrics import (
    QUOTA_CONSUMED,
    QUOTA_LOCAL_ADMITTED,
    QUOTA_REFUNDED,
    QUOTA_REMEMBERED_REFUSALS,
    STORE_DURATION,
    STORE_ERRORS,
    STORE_QUEUE_FULL,
    TOKEN_STORE_ERRORS,
    Metrics,
)
from gateway.usage.recorder import Usage
from gateway.usage.shadow import counting_specs, is_shadow, shadow_outcome

log = logging.getLogger("gateway")


class Made(Enum):
    """Whether the call being charged is still to be made or LinkedIn already answered it."""

    # Charged before it goes upstream: an empty bucket refuses it (429), and a store
    # failure follows ``on_store_error``.
    BEFORE = "before"
    # Already answered (a member look-up): it counts where there is room, and nothing can
    # refuse it any more; a store failure leaves it uncounted, logged and counted in
    # ``gateway_token_store_errors_total{operation="charge"}``.
    AFTER = "after"


@dataclass(frozen=True)
class Charging:
    """What charging needs: the store, what its failures do, metrics and the usage record."""

    store: QuotaStore
    on_store_error: OnStoreError
    metrics: Metrics
    usage: Usage
    apps: Mapping[str, AppConfig]
    # Off unless given: ``refusal_cache_seconds`` sets it for the request path (app.py).
    refusals: RefusalCache = field(default_factory=lambda: RefusalCache(0))

    async def charge(
        self,
        app: str,
        buckets: Sequence[BucketSpec],
        now: float,
        *,
        what: str,
        made: Made = Made.BEFORE,
    ) -> QuotaOutcome | None:
        """Count one call of ``app``.

        The outcome when admitted; raises the 429 when a bucket is empty and the 503 when
        the store fails (``on_store_error: closed``, and ``local`` once this replica's
        allowance is spent); None when the store failed and the call goes on uncounted
        (``open``, or a call already made). With ``local`` the store admits on its own
        while Redis is away (``QuotaOutcome.local``). A shadow-mode app is always admitted
        and counted; ``exhausted`` then names the buckets that would have refused the call.
        """
        shadow = is_shadow(self.apps.get(app))
        key = tuple(buckets)
        if made is Made.BEFORE and not shadow:
            remembered = self.refusals.refusal(key, now)
            if remembered is not None:
                self.metrics.inc(QUOTA_REMEMBERED_REFUSALS)
                raise GatewayError(remembered)
        started = time.perf_counter()
        try:
            specs = counting_specs(buckets) if shadow else buckets
            outcome = await self.store.consume(specs, now)
        except StoreError as exc:
            self._took("consume", "error", started)
            self._failed(exc, what, made)
            return None
        self._took("consume", "ok", started)
        if shadow:
            outcome = shadow_outcome(outcome, buckets)
        if outcome.local:
            self.metrics.inc(STORE_ERRORS, action="local")
            self.metrics.inc(QUOTA_LOCAL_ADMITTED, app=app)
            log.warning("quota store away on %s; admitted on this replica's local allowance", what)
            return outcome
        if not outcome.admitted:
            if made is Made.AFTER:
                return None
            self.refusals.remember(key, outcome, now)
            raise GatewayError(quota_refusal(outcome, now))
        self.metrics.inc(QUOTA_CONSUMED, app=app)
        self.usage.charged(app, outcome.states, now)
        return outcome

    def _failed(self, exc: StoreError, what: str, made: Made) -> None:
        """Raises the 503 unless the call goes on uncounted."""
        if made is Made.AFTER:
            self.metrics.inc(TOKEN_STORE_ERRORS, operation="charge")
            log.warning("%s not counted: %s", what, exc)
            return
        action = self.on_store_error
        self.metrics.inc(STORE_ERRORS, action=action.value)
        if isinstance(exc.__cause__, QueueFull):
            self.metrics.inc(STORE_QUEUE_FULL)
        log.warning("quota store failed on %s (%s); on_store_error=%s", what, exc, action.value)
        if action is not OnStoreError.OPEN:
            raise GatewayError(store_unavailable_refusal()) from None

    async def refund(
        self, outcome: QuotaOutcome | None, now: float, *, what: str
    ) -> tuple[BucketState, ...] | None:
        """Give back a charged call that never reached the upstream.

        The buckets' states after it, or None when there was nothing to give back or the
        store failed (the call then stays counted: the safe side).
        """
        if outcome is None or outcome.ticket is None:
            return None
        started = time.perf_counter()
        try:
            await self.store.refund(outcome.ticket, now)
            states = await self.store.peek([s.spec for s in outcome.states], now)
        except StoreError as exc:
            self._took("refund", "error", started)
            log.warning("refund of %s failed, it stays counted: %s", what, exc)
            return None
        self._took("refund", "ok", started)
        self.refusals.forget()
        self.metrics.inc(QUOTA_REFUNDED)
        return states

    def _took(self, operation: str, result: str, started: float) -> None:
        self.metrics.observe(
            STORE_DURATION, time.perf_counter() - started, operation=operation, result=result
        )
