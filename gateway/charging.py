"""Charging a call to its quota buckets, for every caller on the request path.

The one place where a consume's outcome and the store's failures become what happens next:
the call's own charge, and the charges of the role look-ups made on its behalf.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gateway.errors import Refusal, StoreError
from gateway.policy_quota import quota_refusal, store_unavailable_refusal
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome
from gateway.quota.resp_client import QueueFull
from gateway.runtime import Runtime
from gateway.settings.model import OnStoreError
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
    try:
        if shadow:
            outcome = shadow_outcome(
                await runtime.store.consume(counting_specs(buckets), now), buckets
            )
        else:
            outcome = await runtime.store.consume(buckets, now)
    except StoreError as exc:
        action = runtime.settings.on_store_error
        runtime.metrics.inc("gateway_store_errors_total", action=action.value)
        if isinstance(exc.__cause__, QueueFull):
            runtime.metrics.inc("gateway_store_queue_full_total")
        log.warning("quota store failed on %s (%s); on_store_error=%s", what, exc, action.value)
        return None if action is OnStoreError.OPEN else store_unavailable_refusal()
    if outcome.local:
        # Admitted alone while the store is away (on_store_error: local).
        runtime.metrics.inc("gateway_store_errors_total", action="local")
        runtime.metrics.inc("gateway_quota_local_admitted_total", app=app)
        log.warning("quota store away on %s; admitted on this replica's local allowance", what)
        return outcome
    if not outcome.admitted:
        return quota_refusal(outcome, now)
    runtime.metrics.inc("gateway_quota_consumed_total", app=app)
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
    try:
        await runtime.store.refund(outcome.ticket, now)
        states = await runtime.store.peek([s.spec for s in outcome.states], now)
    except StoreError as exc:
        log.warning("refund of %s failed, it stays counted: %s", what, exc)
        return None
    runtime.metrics.inc("gateway_quota_refunded_total")
    return states
