"""Shadow mode (``apps.NAME.mode: shadow``): every check runs, is logged and counted, and
nothing is refused: the call is forwarded.

Quota in shadow mode counts every forwarded call, as LinkedIn does, so the page shows what
LinkedIn's counters see: a bucket may stand past its limit. A call that finds its bucket at
or over the limit (``used`` after it > limit) is the one enforcement would have refused, and
becomes a shadow refusal under the reason enforcement would have given.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from gateway.catalog.model import Catalog
from gateway.errors import Refusal
from gateway.policy.decide import Admit
from gateway.quota.buckets import quota_buckets
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome
from gateway.settings.model import AppConfig, AppMode
from gateway.support.logs import Fields
from gateway.support.metrics import SHADOW_REFUSALS, Metrics

log = logging.getLogger("gateway.usage")

SHADOW_DECISION = "shadow_refuse"
# Protocol errors LinkedIn refuses as well: forwarding them would show nothing new.
ALWAYS_REFUSED = frozenset({"version_missing", "version_malformed", "version_sunset"})
# Counts like a limited bucket (same window, same key) and never refuses.
SHADOW_COUNT_LIMIT = 10**15


class Outcome(Protocol):
    decision: str
    reason: str


def is_shadow(app: AppConfig | None) -> bool:
    return app is not None and app.mode is AppMode.SHADOW


def waive(metrics: Metrics, app: AppConfig, refusal: Refusal, outcome: Outcome | None) -> bool:
    """True (the call goes on) when ``app`` is in shadow mode: the refusal is then logged,
    counted and recorded as the request's outcome (the first one wins). False: enforce
    (also in shadow mode for the version errors, ``ALWAYS_REFUSED``)."""
    if not is_shadow(app) or refusal.reason in ALWAYS_REFUSED:
        return False
    metrics.inc(SHADOW_REFUSALS, app=app.name, reason=refusal.reason)
    log.info(
        Fields(
            event="shadow_refuse",
            app=app.name,
            reason=refusal.reason,
            status=refusal.status,
            forwarded=True,
        )
    )
    if outcome is not None and outcome.decision != SHADOW_DECISION:
        outcome.decision = SHADOW_DECISION
        outcome.reason = refusal.reason
    return True


def counting_specs(buckets: Sequence[BucketSpec]) -> list[BucketSpec]:
    """``buckets`` with limits no call reaches: the consume counts every call."""
    return [
        spec if spec.limit is None else replace(spec, limit=SHADOW_COUNT_LIMIT) for spec in buckets
    ]


def shadow_outcome(counted: QuotaOutcome, buckets: Sequence[BucketSpec]) -> QuotaOutcome:
    """The consume of ``counting_specs(buckets)`` read against the real limits: admitted,
    with ``exhausted`` naming the buckets that would have refused the call."""
    states = tuple(
        BucketState(spec, state.used, state.reset_at)
        for spec, state in zip(buckets, counted.states, strict=True)
    )
    over = tuple(
        state.spec
        for state in states
        if state.spec.limit is not None and state.used > state.spec.limit
    )
    return QuotaOutcome(
        admitted=True, states=states, exhausted=over, ticket=counted.ticket, local=counted.local
    )


def shadow_admit(app: AppConfig, member: str | None, catalog: Catalog) -> Admit:
    """What a shadow-mode call the decision refused is forwarded as: counted against the
    app's (and member's) buckets of all its products."""
    products = tuple(app.products)
    return Admit(None, products, quota_buckets(app, member, catalog, products))
