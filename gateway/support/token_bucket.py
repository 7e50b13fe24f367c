"""One token bucket, the shared arithmetic of the gateway's per-key rate limits (the
introspection budget per app, flow states per client address). Pure: the caller passes
``now``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``burst`` tokens at most, refilled at ``per_second``; starts full at ``at``."""

    tokens: float
    at: float

    @classmethod
    def full(cls, burst: int, now: float) -> TokenBucket:
        return cls(float(burst), now)

    def take(self, burst: int, per_second: float, now: float) -> float:
        """Spend one token: 0.0 when there was one, else the seconds until there is one
        (nothing spent)."""
        # A clock that steps back refills nothing rather than going negative.
        elapsed = max(now - self.at, 0.0)
        self.tokens = min(float(burst), self.tokens + elapsed * per_second)
        self.at = max(now, self.at)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / per_second
