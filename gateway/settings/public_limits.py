"""The config of the endpoints anyone may call without a token: ``/webhooks/*`` and
``/oauth/*``. They must not buffer megabytes nor let one address fill the state store.

Keys (top level of gateway.yaml)::

    webhook_max_body_bytes: 65536      # a push body; larger: 413 body_too_large
    oauth_max_body_bytes: 4096         # a /oauth/* body (the refresh form); larger: 413
    public_body_reads: 32              # concurrent body reads on those routes, per process
    oauth_state_limit: {per_second: 1, burst: 20}   # /oauth/authorize per client address
    oauth_state_entries: 10000         # pending flows kept on memory:// (apart from tokens)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Fail = Callable[[str, str], None]

PUBLIC_DEFAULTS: dict[str, Any] = {
    "webhook_max_body_bytes": 64 * 1024,
    "oauth_max_body_bytes": 4 * 1024,
    "public_body_reads": 32,
    "oauth_state_limit": None,
    "oauth_state_entries": 10_000,
}
STATE_LIMIT_KEYS = frozenset({"per_second", "burst"})
DEFAULT_STATES_PER_SECOND = 1.0
DEFAULT_STATE_BURST = 20


@dataclass(frozen=True)
class StateLimit:
    """A token bucket per client address: ``burst`` states at once, refilled at
    ``per_second``."""

    per_second: float = DEFAULT_STATES_PER_SECOND
    burst: int = DEFAULT_STATE_BURST


@dataclass(frozen=True)
class PublicLimits:
    webhook_max_body_bytes: int = PUBLIC_DEFAULTS["webhook_max_body_bytes"]
    oauth_max_body_bytes: int = PUBLIC_DEFAULTS["oauth_max_body_bytes"]
    public_body_reads: int = PUBLIC_DEFAULTS["public_body_reads"]
    oauth_state_limit: StateLimit = field(default_factory=StateLimit)
    oauth_state_entries: int = PUBLIC_DEFAULTS["oauth_state_entries"]


def parse_public_limits(raw: Mapping[str, Any], fail: Fail) -> PublicLimits:
    """Read the keys above from ``raw`` (the merged top level); problems go to ``fail``."""
    return PublicLimits(
        webhook_max_body_bytes=_count(raw, "webhook_max_body_bytes", fail),
        oauth_max_body_bytes=_count(raw, "oauth_max_body_bytes", fail),
        public_body_reads=_count(raw, "public_body_reads", fail),
        oauth_state_limit=_state_limit(raw.get("oauth_state_limit"), fail),
        oauth_state_entries=_count(raw, "oauth_state_entries", fail),
    )


def _count(raw: Mapping[str, Any], key: str, fail: Fail) -> int:
    value = raw.get(key, PUBLIC_DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        fail(key, "must be a whole number, 1 or more")
        return int(PUBLIC_DEFAULTS[key])
    return value


def _state_limit(value: object, fail: Fail) -> StateLimit:
    if value is None:
        return StateLimit()
    if not isinstance(value, dict):
        fail("oauth_state_limit", "must be a mapping with per_second and/or burst")
        return StateLimit()
    for key in value:
        if key not in STATE_LIMIT_KEYS:
            fail(
                f"oauth_state_limit.{key}",
                f"unknown key (allowed: {', '.join(sorted(STATE_LIMIT_KEYS))})",
            )
    rate = value.get("per_second", DEFAULT_STATES_PER_SECOND)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or rate <= 0
    ):
        fail("oauth_state_limit.per_second", "must be a positive number of states per second")
        rate = DEFAULT_STATES_PER_SECOND
    burst = value.get("burst", DEFAULT_STATE_BURST)
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        fail("oauth_state_limit.burst", "must be a whole number of states, 1 or more")
        burst = DEFAULT_STATE_BURST
    return StateLimit(float(rate), burst)
