"""The store URL schemes, named once: which store a ``store:`` URL opens. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit

MEMORY_SCHEME = "memory"
# One Redis: TCP, TLS, or a Unix socket.
SINGLE_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
CLUSTER_SCHEME = "redis+cluster"
SENTINEL_SCHEME = "redis+sentinel"
SHARED_SCHEMES = SINGLE_REDIS_SCHEMES | {CLUSTER_SCHEME, SENTINEL_SCHEME}


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()


def is_shared(url: str) -> bool:
    """Whether the store is Redis, so every replica counts (and keeps ledgers) in one place."""
    return scheme_of(url) in SHARED_SCHEMES
