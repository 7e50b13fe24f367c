"""Charging a call to its quota buckets, for every caller on the request path.

The one place where a consume's outcome and the store's failures become what happens next:
the call's own charge, and the charges of the role look-ups made on its behalf.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from gateway.errors import Refusal, StoreError
from gateway.quota.buckets import quota_refusal, store_unavailable_refusal
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome
from gateway.quota.resp_client import QueueFull
from gateway.runtime import Runtime
from gateway.settings.model import OnStoreError
from gateway.support import metrics
from gateway.usage.shadow import counting_specs, is_shadow, shadow_outcome

log = logging.getLogger("gateway")


async def charge(
    runtime: Runtime, app: str, buckets: Sequence[BucketSpec], now: float, *, what: str
) -> QuotaOutcome | Refusal | None:
    """Count one call of ``app``.

    The outcome when admitted; the 429 when a bucket is empty; when the store fails, the
    503 (``on_store_error: closed``, and ``local`` once this replica's allowance is spent)
    or None: admitted uncounted (``open``). With ``local`` the store admits on its own
    while Redis is away (``QuotaOutcome.local``) and the call is counted there. A
    shadow-mode app is always admitted and counted; ``exhausted`` then names the buckets
    that would have refused the call (``gateway.usage.shadow``).
    """
    shadow = is_shadow(runtime.settings.apps.get(app))
    started = time.perf_counter()
    try:
        if shadow:
            outcome = shadow_outcome(
                await runtime.store.consume(counting_specs(buckets), now), buckets
            )
        else:
            outcome = await runtime.store.consume(buckets, now)
    except StoreError as exc:
        _store_took(runtime, "consume", "error", started)
        action = runtime.settings.on_store_error
        runtime.metrics.inc(metrics.STORE_ERRORS, action=action.value)
        if isinstance(exc.__cause__, QueueFull):
            runtime.metrics.inc(metrics.STORE_QUEUE_FULL)
        log.warning("quota store failed on %s (%s); on_store_error=%s", what, exc, action.value)
        return None if action is OnStoreError.OPEN else store_unavailable_refusal()
    _store_took(runtime, "consume", "ok", started)
    if outcome.local:
        # Admitted alone while the store is away (on_store_error: local).
        runtime.metrics.inc(metrics.STORE_ERRORS, action="local")
        runtime.metrics.inc(metrics.QUOTA_LOCAL_ADMITTED, app=app)
        log.warning("quota store away on %s; admitted on this replica's local allowance", what)
        return outcome
    if not outcome.admitted:
        return quota_refusal(outcome, now)
    runtime.metrics.inc(metrics.QUOTA_CONSUMED, app=app)
    runtime.usage.charged(app, outcome.states, now)
    return outcome


async def refund(
    runtime: Runtime, outcome: QuotaOutcome | None, now: float, *, what: str
) -> tuple[BucketState, ...] | None:
    """Give back a charged call that never reached the upstream.

    The buckets' states after it, or None when there was nothing to give back or the store
    failed (the call then stays counted: the safe side).
    """
    if outcome is None or outcome.ticket is None:
        return None
    started = time.perf_counter()
    try:
        await runtime.store.refund(outcome.ticket, now)
        states = await runtime.store.peek([s.spec for s in outcome.states], now)
    except StoreError as exc:
        _store_took(runtime, "refund", "error", started)
        log.warning("refund of %s failed, it stays counted: %s", what, exc)
        return None
    _store_took(runtime, "refund", "ok", started)
    runtime.metrics.inc(metrics.QUOTA_REFUNDED)
    return states


def _store_took(runtime: Runtime, operation: str, result: str, started: float) -> None:
    runtime.metrics.observe(
        metrics.STORE_DURATION, time.perf_counter() - started, operation=operation, result=result
    )
