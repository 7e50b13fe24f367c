"""The quota part of the decision: which buckets a call is charged to, and the refusals. Pure.

LinkedIn keeps two daily counters, per application and per member per application
(API guide, "Rate limits"); the Community Management Development tier caps them at 100 and
10 calls per 24 h (seed, "How to Upgrade your Access Tier"). The gateway keeps the same two.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from gateway.catalog.grants import granted_tier
from gateway.catalog.model import Catalog, QuotaRule
from gateway.errors import Refusal
from gateway.quota.headers import rate_limit_headers, retry_after
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, QuotaOutcome, Window, window_seconds
from gateway.quota.route_limits import MEMBER_BUCKET, is_member_bucket
from gateway.settings.model import AppConfig

APP_BUCKET = "app"


def _min_limit(limits: Iterable[int | None]) -> int | None:
    present = [limit for limit in limits if limit is not None]
    return min(present) if present else None


def _window(rules: list[QuotaRule]) -> Window:
    # With several limited tiers on different windows, the rolling one is the stricter:
    # it never admits more than the limit in any 24 h span, while utc-day admits twice the
    # limit around midnight.
    if any(rule.window is Window.ROLLING_24H for rule in rules):
        return Window.ROLLING_24H
    return Window.UTC_DAY


def quota_buckets(
    app: AppConfig, member: str | None, catalog: Catalog, products: Iterable[str]
) -> tuple[BucketSpec, ...]:
    """The buckets a call counted against ``products`` is charged to.

    Always an "app" bucket, and a "member" bucket when the member is known. Limits are the
    smallest among the products' tiers that have a quota, then ``app.quotas`` replaces each
    number (and the window) it sets, whatever the tier. Without either, both buckets are
    unlimited, yet still counted: Standard-tier calls show up in usage too.
    """
    rules = [
        tier.quota
        for product in products
        if (tier := granted_tier(app, catalog, product)) is not None and tier.quota is not None
    ]
    app_limit: int | None = None
    member_limit: int | None = None
    window = Window.UTC_DAY
    if rules:
        app_limit = _min_limit(rule.app_per_window for rule in rules)
        member_limit = _min_limit(rule.member_per_window for rule in rules)
        window = _window(rules)
    # An app's own quotas apply whatever its tier: a team that copies its Standard-tier
    # limits from LinkedIn's Analytics tab expects them enforced.
    override = app.quotas
    if override is not None:
        if override.app_per_window is not None:
            app_limit = override.app_per_window
        if override.member_per_window is not None:
            member_limit = override.member_per_window
        if override.window is not None:
            window = override.window
    buckets = [BucketSpec(APP_BUCKET, bucket_key(app.name, APP_BUCKET), app_limit, window)]
    if member is not None:
        buckets.append(
            BucketSpec(
                MEMBER_BUCKET, bucket_key(app.name, MEMBER_BUCKET, member), member_limit, window
            )
        )
    return tuple(buckets)


def quota_refusal(outcome: QuotaOutcome, now: float) -> Refusal:
    """The 429 for a consume that was refused, worded like LinkedIn's own throttle.

    LinkedIn names the counter that ran out: APPLICATION, or APPLICATION_AND_MEMBER
    (observed 429 bodies, serviceErrorCode 101). When both ran out the app one is named:
    waiting for the member's counter alone would not help.
    """
    app_out = any(not is_member_bucket(spec.name) for spec in outcome.exhausted)
    headers = rate_limit_headers(outcome.states, now)
    headers["Retry-After"] = str(retry_after(outcome.states, outcome.exhausted, now))
    # LinkedIn's message names the window too: DAY, or a route's MINUTE / HOUR limit.
    span = max((window_seconds(spec.window) for spec in outcome.exhausted), default=86400)
    reason, message = _throttle_words(app_out, span)
    return Refusal(
        status=429,
        reason=reason,
        code="TOO_MANY_REQUESTS",
        message=message,
        service_error_code=101,
        headers=headers,
    )


@lru_cache(maxsize=16)
def _throttle_words(app_out: bool, span: int) -> tuple[str, str]:
    """The reason code and LinkedIn's message for a 429: a handful of texts, built once."""
    counter, reason = (
        ("APPLICATION", "app_quota_exhausted")
        if app_out
        else ("APPLICATION_AND_MEMBER", "member_quota_exhausted")
    )
    period = {60: "MINUTE", 3600: "HOUR"}.get(span, "DAY")
    return reason, (
        f"Resource level throttle {counter} {period} limit for calls to this resource is reached."
    )


def store_unavailable_refusal() -> Refusal:
    """The 503 sent when the quota store cannot be reached and the gateway fails closed."""
    return Refusal(
        status=503,
        reason="quota_store_unavailable",
        code="SERVICE_UNAVAILABLE",
        message="Quota cannot be checked right now; the call was not forwarded. Retry shortly.",
        service_error_code=None,
        # RFC 9110 §10.2.3: a short delay, the store is usually back within a second.
        headers={"Retry-After": "1"},
    )
