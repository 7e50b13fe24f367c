"""Where redis-py meets the gateway: its failures become StoreError here, once.

The features that keep shared state (token cache, ad-account ledger, role cache, webhook
queue) use the quota store's Redis client when the store is Redis, and state of their own
process otherwise; they all await redis-py through ``redis_call``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError

from gateway.errors import StoreError

T = TypeVar("T")


async def redis_call(what: str, call: Awaitable[T]) -> T:
    """Await a redis-py call; any failure becomes a StoreError naming ``what`` (never data)."""
    try:
        return await call
    except (RedisError, OSError) as exc:
        raise StoreError(f"{what} failed: {type(exc).__name__}") from None
