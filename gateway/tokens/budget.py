"""How many introspection calls each app may make: a token bucket per app. Pure: the
caller passes ``now``.

Every token the cache lacks costs one ``introspectToken`` call per configured app asked,
and those calls count against the app's own limits at LinkedIn. Without a bound, a flood
of random tokens would spend them; with it, the flood gets 503s once the bucket is empty
while cached tokens keep working. Repeats of one dead token are answered by the negative
cache and cost nothing here.
"""

from __future__ import annotations

from gateway.settings.guards import IntrospectionLimit
from gateway.support.token_bucket import TokenBucket


class IntrospectionBudget:
    """``limit.burst`` calls at once per app, refilled at ``limit.per_second``; per process."""

    def __init__(self, limit: IntrospectionLimit) -> None:
        self._limit = limit
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, app: str, now: float) -> float:
        """Spend one call of ``app``'s budget: 0.0 when it may be made now, else the
        seconds until one may (nothing spent)."""
        limit = self._limit
        bucket = self._buckets.get(app)
        if bucket is None:
            bucket = self._buckets[app] = TokenBucket.full(limit.burst, now)
        return bucket.take(limit.burst, limit.per_second, now)
