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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.settings.sections import BucketLimit, read_bucket_limit

Fail = Callable[[str, str], None]

PUBLIC_DEFAULTS: dict[str, Any] = {
    "webhook_max_body_bytes": 64 * 1024,
    "oauth_max_body_bytes": 4 * 1024,
    "public_body_reads": 32,
    "oauth_state_limit": None,
    "oauth_state_entries": 10_000,
}


@dataclass(frozen=True)
class StateLimit(BucketLimit):
    """A token bucket per client address: ``burst`` states at once, refilled at
    ``per_second``."""

    per_second: float = 1.0
    burst: int = 20


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
        oauth_state_limit=read_bucket_limit(
            raw.get("oauth_state_limit"), "oauth_state_limit", "states", StateLimit(), fail
        ),
        oauth_state_entries=_count(raw, "oauth_state_entries", fail),
    )


def _count(raw: Mapping[str, Any], key: str, fail: Fail) -> int:
    value = raw.get(key, PUBLIC_DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        fail(key, "must be a whole number, 1 or more")
        return int(PUBLIC_DEFAULTS[key])
    return value
