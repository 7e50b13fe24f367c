"""Where a bucket is counted and when its key expires. Pure: time is a parameter.

Shared by every store so memory and Redis agree on keys, expiry and ``reset_at``.
"""

from __future__ import annotations

import math

from gateway.quota.keys import next_boundary, window_key
from gateway.quota.model import WINDOW_SECONDS, BucketSpec, Window, is_fixed, window_seconds

# A key outlives its window by this much so a call made just before the window closes
# still finds its counter when it is refunded.
EXPIRY_MARGIN_SECONDS = 60


def counted_window(spec: BucketSpec) -> Window:
    """The window a bucket is counted in.

    An unlimited bucket is only ever reported, never enforced, so a cheap daily counter
    suffices whatever window its policy names.
    """
    if spec.limit is None:
        return Window.UTC_DAY
    return spec.window


def counter_key(spec: BucketSpec, now: float) -> str:
    """The full store key that counts ``spec`` at ``now``."""
    return window_key(spec.key, counted_window(spec), now)


def rolling_cutoff(now: float) -> float:
    """Calls made at or before this instant no longer count in a rolling-24h window."""
    return now - WINDOW_SECONDS


def expires_at(window: Window, now: float) -> float:
    """The deadline of a key written at ``now``: its window can no longer matter after it.

    A fixed window's key expires with its window (plus the refund margin, at most the
    window's own length): a minute's counter is gone two minutes after it began at most.
    """
    if is_fixed(window):
        margin = min(EXPIRY_MARGIN_SECONDS, window_seconds(window))
        return next_boundary(window, now) + margin
    return now + WINDOW_SECONDS + EXPIRY_MARGIN_SECONDS


def ttl_seconds(window: Window, now: float) -> int:
    """``expires_at`` as a whole number of seconds from ``now`` (never less than one)."""
    return max(math.ceil(expires_at(window, now) - now), 1)


def reset_at(window: Window, now: float, oldest: float | None) -> float:
    """When the next call frees up.

    utc-day, utc-hour, utc-minute: the window's end (the next midnight, hour or minute,
    UTC). rolling-24h: 24 h after the oldest counted call, or 24 h from ``now`` when nothing
    is counted.
    """
    if is_fixed(window):
        return next_boundary(window, now)
    if oldest is None:
        return now + WINDOW_SECONDS
    return oldest + WINDOW_SECONDS
