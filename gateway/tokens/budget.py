"""How many introspection calls each app may make: a token bucket per app. Pure: the
caller passes ``now``.

Every token the cache lacks costs one ``introspectToken`` call per configured app asked,
and those calls count against the app's own limits at LinkedIn. Without a bound, a flood
of random tokens would spend them; with it, the flood gets 503s once the bucket is empty
while cached tokens keep working. Repeats of one dead token are answered by the negative
cache and cost nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings.guards import IntrospectionLimit


@dataclass
class _Bucket:
    tokens: float
    at: float


class IntrospectionBudget:
    """``limit.burst`` calls at once per app, refilled at ``limit.per_second``; per process."""

    def __init__(self, limit: IntrospectionLimit) -> None:
        self._limit = limit
        self._buckets: dict[str, _Bucket] = {}

    def take(self, app: str, now: float) -> float:
        """Spend one call of ``app``'s budget: 0.0 when it may be made now, else the
        seconds until one may (nothing spent)."""
        limit = self._limit
        bucket = self._buckets.get(app)
        if bucket is None:
            bucket = self._buckets[app] = _Bucket(float(limit.burst), now)
        # A clock that steps back refills nothing rather than going negative.
        elapsed = max(now - bucket.at, 0.0)
        bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
        bucket.at = max(now, bucket.at)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / limit.per_second
