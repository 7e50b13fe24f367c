"""quota_refusal() and store_unavailable_refusal(): the 429 and the fail-closed 503."""

from __future__ import annotations

import pytest

from gateway.quota.buckets import quota_refusal, store_unavailable_refusal
from gateway.quota.keys import bucket_key, next_utc_midnight
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Window

# 2024-05-29 23:59:59 UTC: one second before LinkedIn's counters reset.
NOW = 1_717_027_199.0
MIDNIGHT = next_utc_midnight(NOW)

APP = BucketSpec("app", bucket_key("acme", "app"), 100, Window.UTC_DAY)
MEMBER = BucketSpec("member", bucket_key("acme", "member", "m1"), 10, Window.UTC_DAY)


def _outcome(app_used: int, member_used: int, exhausted: tuple[BucketSpec, ...]) -> QuotaOutcome:
    states = (BucketState(APP, app_used, MIDNIGHT), BucketState(MEMBER, member_used, MIDNIGHT))
    return QuotaOutcome(admitted=False, states=states, exhausted=exhausted, ticket=None)


@pytest.mark.parametrize(
    ("outcome", "reason", "counter"),
    [
        (_outcome(100, 4, (APP,)), "app_quota_exhausted", "APPLICATION"),
        (_outcome(40, 10, (MEMBER,)), "member_quota_exhausted", "APPLICATION_AND_MEMBER"),
        (_outcome(100, 10, (APP, MEMBER)), "app_quota_exhausted", "APPLICATION"),
    ],
    ids=["app", "member", "both"],
)
def test_quota_refusal(outcome: QuotaOutcome, reason: str, counter: str) -> None:
    refusal = quota_refusal(outcome, NOW)
    assert refusal.body() == {
        "status": 429,
        "serviceErrorCode": 101,
        "code": "TOO_MANY_REQUESTS",
        "message": f"Resource level throttle {counter} DAY limit for calls to this resource "
        "is reached.",
    }
    assert refusal.reason == reason
    assert refusal.headers["Retry-After"] == "1"
    assert refusal.headers["RateLimit-Policy"] == '"app";q=100;w=86400, "member";q=10;w=86400'
    assert refusal.headers["X-RateLimit-Remaining"] == "0"
    assert refusal.headers["X-RateLimit-Reset"] == str(int(MIDNIGHT))


def test_store_unavailable_refusal() -> None:
    refusal = store_unavailable_refusal()
    assert refusal.body() == {
        "status": 503,
        "code": "SERVICE_UNAVAILABLE",
        "message": refusal.message,
    }
    assert refusal.reason == "quota_store_unavailable"
    assert "quota" in refusal.message.lower()
    assert refusal.headers == {"Retry-After": "1"}
