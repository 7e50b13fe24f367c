"""Store key names. Pure.

Every key of one app shares the hash tag ``{app}`` so a multi-bucket consume touches one
Redis Cluster slot (Redis Cluster spec, "Hash tags").
"""

from __future__ import annotations

import functools
import math
from urllib.parse import quote

from gateway.quota.model import WINDOW_SECONDS, Window

PREFIX = "lgw"


@functools.lru_cache(maxsize=65536)
def _safe(part: str) -> str:
    # Braces would move the hash tag; colons separate key parts; spaces break redis-cli use.
    return quote(part, safe="-_.@")


def bucket_key(app: str, bucket: str, member: str | None = None) -> str:
    """The key stem of a bucket, without its window part."""
    stem = f"{PREFIX}:{{{_safe(app)}}}:{_safe(bucket)}"
    if member is not None:
        stem += ":" + _safe(member)
    return stem


def utc_day(now: float) -> int:
    """Days since the epoch, in UTC."""
    return math.floor(now / WINDOW_SECONDS)


def window_key(stem: str, window: Window, now: float) -> str:
    """The full key counting ``stem`` in the window that contains ``now``."""
    if window is Window.UTC_DAY:
        return f"{stem}:d{utc_day(now)}"
    return f"{stem}:r"


def next_utc_midnight(now: float) -> float:
    return float((utc_day(now) + 1) * WINDOW_SECONDS)
