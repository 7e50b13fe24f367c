"""The quota store named by a URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from gateway.quota.memory import MemoryStore
from gateway.quota.redis_store import RedisStore
from gateway.quota.store import QuotaStore

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def open_store(url: str) -> QuotaStore:
    """``memory://`` for one process, ``redis://``/``rediss://``/``unix://`` for shared
    counting. Nothing connects here: the first operation (or ``ping``) does.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryStore()
    if scheme in REDIS_SCHEMES:
        return RedisStore.from_url(url)
    raise ValueError(
        f"unknown store scheme {scheme!r} in {_without_password(url)!r}: "
        "use memory:// or redis://host:port/db"
    )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
