"""What the quota stores take and give back. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Window(StrEnum):
    # LinkedIn's own daily counters reset at midnight UTC (API guide, "Rate limits").
    UTC_DAY = "utc-day"
    # A sliding 24 h window: exact, every call expires 86400 s after it was made.
    ROLLING_24H = "rolling-24h"


WINDOW_SECONDS = 86400


@dataclass(frozen=True)
class BucketSpec:
    """One counter a call is charged to.

    ``name`` is the policy name shown to callers ("app", "member").
    ``key`` is the store key stem without the window part; see ``gateway.quota.keys``.
    ``limit`` None means unlimited: the call is counted, never refused.
    """

    name: str
    key: str
    limit: int | None
    window: Window


@dataclass(frozen=True)
class BucketState:
    """A bucket after a consume (or a peek).

    ``used`` counts calls in the current window including an admitted one;
    ``reset_at`` is the epoch second at which the next call frees up (utc-day: the next
    midnight; rolling-24h: the oldest counted call plus 24 h, or now + 24 h when empty).
    """

    spec: BucketSpec
    used: int
    reset_at: float

    @property
    def remaining(self) -> int | None:
        if self.spec.limit is None:
            return None
        return max(self.spec.limit - self.used, 0)


@dataclass(frozen=True)
class Ticket:
    """Enough to take back exactly what one admitted call consumed.

    ``entries`` holds (full store key, member) pairs: for utc-day counters the member is
    None and refunding decrements; for rolling windows it names the sorted-set member.
    """

    entries: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class QuotaOutcome:
    """The result of checking and consuming several buckets together, atomically.

    Admitted only if every bucket allowed the call; a refused call consumed nothing.
    ``exhausted`` names the buckets that refused (empty when admitted).
    """

    admitted: bool
    states: tuple[BucketState, ...]
    exhausted: tuple[BucketSpec, ...]
    ticket: Ticket | None
