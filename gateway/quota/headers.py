"""Rate-limit response headers, computed from bucket states. Pure: ``now`` is a parameter.

Two families are sent side by side:

- ``RateLimit-Policy`` / ``RateLimit`` from draft-ietf-httpapi-ratelimit-headers, whose
  values are RFC 8941 structured-field lists: ``"app";q=100;w=86400`` and ``"app";r=97;t=5400``.
- The de-facto ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``
  (epoch seconds), describing the single most constrained bucket.

LinkedIn itself sends no rate-limit headers (API guide, "Rate limits"); these describe the
gateway's own counters, which mirror LinkedIn's daily ones. ``w`` is each bucket's window
in seconds: 86400 for a day, 3600 for an hour, 60 for a minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from gateway.quota.model import BucketSpec, BucketState, window_seconds


@lru_cache(maxsize=1024)
def sf_string(value: str) -> str:
    """``value`` as an RFC 8941 sf-string (§3.3.3): quoted, with ``"`` and ``\\`` escaped.

    Raises ValueError for characters an sf-string cannot hold (outside printable ASCII).
    """
    if any(not 0x20 <= ord(ch) <= 0x7E for ch in value):
        raise ValueError("a structured-field string holds printable ASCII only")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seconds_until(moment: float, now: float) -> int:
    """Whole seconds from ``now`` until ``moment``, rounded up, never negative."""
    return max(math.ceil(moment - now), 0)


def _limited(states: Sequence[BucketState]) -> list[tuple[BucketState, int, int]]:
    out: list[tuple[BucketState, int, int]] = []
    for state in states:
        limit, remaining = state.spec.limit, state.remaining
        if limit is not None and remaining is not None:
            out.append((state, limit, remaining))
    return out


@lru_cache(maxsize=4096)
def _policy(specs: tuple[BucketSpec, ...]) -> str:
    # The policy list depends on the buckets alone, which repeat call after call: built once.
    return ", ".join(
        f"{sf_string(spec.name)};q={spec.limit};w={window_seconds(spec.window)}" for spec in specs
    )


def rate_limit_headers(states: Sequence[BucketState], now: float) -> dict[str, str]:
    """The rate-limit headers for ``states``; empty when no bucket has a limit.

    Unlimited buckets (Standard tier) are counted but not advertised. Limited buckets keep
    the given order in the structured-field lists. The X-RateLimit-* trio names the bucket
    with the fewest calls left; on a tie, the one that resets later, since that is the one
    a client has to wait for.
    """
    limited = _limited(states)
    if not limited:
        return {}
    current = []
    tightest, limit, remaining = limited[0]
    for item in limited:
        state, _, item_remaining = item
        current.append(
            f"{sf_string(state.spec.name)};r={item_remaining};"
            f"t={seconds_until(state.reset_at, now)}"
        )
        if item_remaining < remaining or (
            item_remaining == remaining and state.reset_at > tightest.reset_at
        ):
            tightest, limit, remaining = item
    return {
        "RateLimit-Policy": _policy(tuple(state.spec for state, _, _ in limited)),
        "RateLimit": ", ".join(current),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil(tightest.reset_at)),
    }


def retry_after(states: Sequence[BucketState], exhausted: Sequence[BucketSpec], now: float) -> int:
    """Seconds (rounded up, at least 1) until every exhausted bucket frees a call.

    RFC 9110 §10.2.3 ``Retry-After`` as delay-seconds. For a utc-day bucket that is the next
    UTC midnight: retrying earlier only burns calls (API guide, "Rate limits"); for a
    per-minute or per-hour route limit, the end of that minute or hour.
    """
    wait = 1
    for state in states:
        if state.spec in exhausted:
            wait = max(wait, seconds_until(state.reset_at, now))
    return wait
