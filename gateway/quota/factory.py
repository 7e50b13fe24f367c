"""The quota store named by a URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio.connection import parse_url

from gateway.quota.memory import MemoryStore
from gateway.quota.redis_store import RedisStore, split_timeouts
from gateway.quota.resp_client import endpoint_from_url
from gateway.quota.store import QuotaStore

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def open_store(url: str) -> QuotaStore:
    """``memory://`` for one process, ``redis://``/``rediss://``/``unix://`` for shared
    counting. Nothing connects here: the first operation (or ``ping``) does.
    """
    check_store_url(url)
    if urlsplit(url).scheme.lower() == "memory":
        return MemoryStore()
    return RedisStore.from_url(url)


def check_store_url(url: str) -> None:
    """Raises ``ValueError`` for any URL ``open_store`` (or the first connection) would
    refuse, parsing it exactly as they do and connecting nowhere; the message never
    carries the URL's password. ``check-config`` and the loader use it.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return
    if scheme not in REDIS_SCHEMES:
        raise ValueError(
            f"unknown store scheme {scheme!r} in {_without_password(url)!r}: "
            "use memory:// or redis://host:port/db"
        )
    try:
        plain_url = split_timeouts(url).url
        parse_url(plain_url)
        endpoint_from_url(plain_url)
    except ValueError as exc:
        raise ValueError(f"store URL {_without_password(url)!r}: {exc}") from None


def shown_store_url(url: str) -> str:
    """``url`` fit for a log line or a message: its password, in the user part or as a
    ``password=`` query parameter, replaced by ``***``."""
    shown = _without_password(url)
    base, sep, query = shown.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key.lower() == "password" for key, _ in pairs):
        return shown
    masked = [(key, "***" if key.lower() == "password" else value) for key, value in pairs]
    return f"{base}{sep}{urlencode(masked, safe='*/')}"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
