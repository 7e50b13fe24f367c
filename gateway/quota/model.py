"""What the quota stores take and give back. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Window(StrEnum):
    # LinkedIn's own daily counters reset at midnight UTC (API guide, "Rate limits").
    UTC_DAY = "utc-day"
    # A sliding 24 h window: exact, every call expires 86400 s after it was made.
    ROLLING_24H = "rolling-24h"
    # Fixed windows on the UTC clock, for per-route limits LinkedIn publishes per minute or
    # per hour as well as per day (the Conversions API: 600 requests per minute).
    UTC_HOUR = "utc-hour"
    UTC_MINUTE = "utc-minute"


WINDOW_SECONDS = 86400
# The windows a tier's or an app's own quota may name: LinkedIn's counters are daily.
DAILY_WINDOWS = frozenset({Window.UTC_DAY, Window.ROLLING_24H})
_SECONDS = {Window.UTC_MINUTE: 60, Window.UTC_HOUR: 3600}


def window_seconds(window: Window) -> int:
    """The length of ``window`` in seconds: 60, 3600, or 86400 for both daily windows."""
    return _SECONDS.get(window, WINDOW_SECONDS)


def is_fixed(window: Window) -> bool:
    """True for windows counted in one counter that resets at a UTC boundary."""
    return window is not Window.ROLLING_24H


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
    ``reset_at`` is the epoch second at which the next call frees up (utc-day, utc-hour,
    utc-minute: the window's end on the UTC clock; rolling-24h: the oldest counted call plus
    24 h, or now + 24 h when empty).
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

    ``entries`` holds (full store key, member) pairs: for fixed-window counters the member
    is None and refunding decrements; for rolling windows it names the sorted-set member.
    """

    entries: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class QuotaOutcome:
    """The result of checking and consuming several buckets together, atomically.

    Admitted only if every bucket allowed the call; a refused call consumed nothing.
    ``exhausted`` names the buckets that refused (empty when admitted). ``local``: admitted
    by this replica alone while the store was away (``on_store_error: local``); its
    ``states`` then show this replica's allowance, and there is no ticket to refund.
    """

    admitted: bool
    states: tuple[BucketState, ...]
    exhausted: tuple[BucketSpec, ...]
    ticket: Ticket | None
    local: bool = False
