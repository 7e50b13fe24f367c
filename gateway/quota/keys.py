"""Store key names. Pure.

Every key of one app shares the hash tag ``{app}`` so a multi-bucket consume touches one
Redis Cluster slot (Redis Cluster spec, "Hash tags").
"""

from __future__ import annotations

import functools
import math
from urllib.parse import quote

from gateway.quota.model import WINDOW_SECONDS, Window, window_seconds

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


def marker_key(key: str, kind: str, marker: str) -> str:
    """A key in the hash slot of ``key`` (one of an app's keys): ``lgw:{app}:<kind>:<marker>``.
    Scripts mark a run with it so that a retried command is not counted twice."""
    return f"{key[: key.index('}') + 1]}:{kind}:{marker}"


def utc_day(now: float) -> int:
    """Days since the epoch, in UTC."""
    return math.floor(now / WINDOW_SECONDS)


# The letter of each fixed window in its keys: ``:d20426`` counts UTC day 20426 since the
# epoch, ``:h490224`` an hour, ``:m29413440`` a minute.
_LETTER = {Window.UTC_DAY: "d", Window.UTC_HOUR: "h", Window.UTC_MINUTE: "m"}


def window_index(window: Window, now: float) -> int:
    """Which fixed window (minutes, hours or days since the epoch, UTC) holds ``now``."""
    return math.floor(now / window_seconds(window))


def window_key(stem: str, window: Window, now: float) -> str:
    """The full key counting ``stem`` in the window that contains ``now``."""
    letter = _LETTER.get(window)
    if letter is None:
        return f"{stem}:r"
    return f"{stem}:{letter}{window_index(window, now)}"


def next_boundary(window: Window, now: float) -> float:
    """When the fixed window holding ``now`` ends: the next UTC minute, hour or midnight."""
    return float((window_index(window, now) + 1) * window_seconds(window))


def next_utc_midnight(now: float) -> float:
    return float((utc_day(now) + 1) * WINDOW_SECONDS)
