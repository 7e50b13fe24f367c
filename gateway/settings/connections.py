"""The config of how long and how many clients may hold the gateway's listeners.

Keys (the ``connections:`` section of gateway.yaml; every one optional)::

    connections:
      header_timeout: 10          # s for a whole request head (from its first byte)
      body_idle_timeout: 30       # s without a byte of a body the gateway waits for -> 408
      body_timeout: 120           # s for a whole request body, however the bytes trickle -> 408
      keepalive_timeout: 75       # s an idle keep-alive connection is kept
      max: auto                   # open connections on the main listener; auto: from the fd limit
      admin_max: 64               # open connections on the admin listener
      accept_error_log_seconds: 10  # at most one accept() error line per this many seconds
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gateway.settings.sections import read_section

Fail = Callable[[str, str], None]

SECTION = "connections"
AUTO = "auto"
CONNECTION_DEFAULTS: dict[str, object] = {SECTION: None}


@dataclass(frozen=True)
class ConnectionLimits:
    """What one listener allows a client. ``max_connections`` None: derived from the
    process's file-descriptor limit when the listener starts (gateway.server.listener)."""

    header_timeout: float = 10.0
    body_idle_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    max_connections: int | None = None
    admin_max_connections: int = 64
    accept_error_log_seconds: float = 10.0
    body_timeout: float = 120.0


_SECONDS = (
    "header_timeout",
    "body_idle_timeout",
    "body_timeout",
    "keepalive_timeout",
    "accept_error_log_seconds",
)
_COUNTS = ("max", "admin_max")
KEYS = frozenset(_SECONDS + _COUNTS)


def parse_connections(value: object, fail: Fail) -> ConnectionLimits:
    """The ``connections:`` section (None when absent); problems go to ``fail(path, msg)``."""
    defaults = ConnectionLimits()
    section = read_section(
        value, SECTION, KEYS, f"must be a mapping of {', '.join(sorted(KEYS))}", fail
    )
    if section is None:
        return defaults

    def seconds(key: str, default: float) -> float:
        item = section.get(key, default)
        if _is_number(item) and math.isfinite(item) and item > 0:
            return float(item)
        fail(f"{SECTION}.{key}", "must be a positive number of seconds")
        return default

    def count(key: str, default: int | None) -> int | None:
        item = section.get(key, AUTO if default is None else default)
        if item == AUTO and default is None:
            return None
        if isinstance(item, int) and not isinstance(item, bool) and item >= 1:
            return item
        also = " or auto" if default is None else ""
        fail(f"{SECTION}.{key}", f"must be a whole number of connections, 1 or more{also}")
        return default

    return ConnectionLimits(
        header_timeout=seconds("header_timeout", defaults.header_timeout),
        body_idle_timeout=seconds("body_idle_timeout", defaults.body_idle_timeout),
        keepalive_timeout=seconds("keepalive_timeout", defaults.keepalive_timeout),
        max_connections=count("max", defaults.max_connections),
        admin_max_connections=count("admin_max", defaults.admin_max_connections)
        or defaults.admin_max_connections,
        accept_error_log_seconds=seconds(
            "accept_error_log_seconds", defaults.accept_error_log_seconds
        ),
        body_timeout=seconds("body_timeout", defaults.body_timeout),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
