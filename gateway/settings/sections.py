"""What every optional mapping of gateway.yaml is read with: the mapping itself (absent,
not a mapping, keys it does not know) and the token-bucket pair ``{per_second, burst}``
that more than one limit is written as. Problems go to ``fail(path, message)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

Fail = Callable[[str, str], None]

BUCKET_KEYS = frozenset({"per_second", "burst"})


@dataclass(frozen=True)
class BucketLimit:
    """A token bucket: ``burst`` at once, refilled at ``per_second``. Each limit subclasses
    it with its own defaults."""

    per_second: float
    burst: int


L = TypeVar("L", bound=BucketLimit)


def read_section(
    value: object, path: str, allowed: frozenset[str], not_mapping: str, fail: Fail
) -> dict[Any, Any] | None:
    """``value`` when it is a mapping, after reporting each key not in ``allowed``; None
    when it is absent, or not a mapping (reported as ``not_mapping``): the caller's
    defaults then hold."""
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(path, not_mapping)
        return None
    for key in value:
        if key not in allowed:
            fail(f"{path}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return value


def read_bucket_limit(value: object, path: str, unit: str, default: L, fail: Fail) -> L:
    """``{per_second, burst}`` at ``path``, ``unit`` naming what the bucket counts (calls,
    states); a missing or bad number keeps ``default``'s."""
    section = read_section(
        value, path, BUCKET_KEYS, "must be a mapping with per_second and/or burst", fail
    )
    if section is None:
        return default
    rate = section.get("per_second", default.per_second)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or rate <= 0
    ):
        fail(f"{path}.per_second", f"must be a positive number of {unit} per second")
        rate = default.per_second
    burst = section.get("burst", default.burst)
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        fail(f"{path}.burst", f"must be a whole number of {unit}, 1 or more")
        burst = default.burst
    return replace(default, per_second=float(rate), burst=burst)
