"""Evictions told to every replica: a token LinkedIn called revoked or expired leaves the
in-process layer of every gateway sharing the Redis store at once, not only the shared store.

One Redis pub/sub channel carries ``<instance>:<sha256>`` messages (digests only, never a
token); each process ignores its own. A lost subscription is re-made after a second;
meanwhile ``oauth.local_cache_seconds`` still bounds how long a replica can lag.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import redis.asyncio
from redis.exceptions import RedisError

from gateway.errors import StoreError
from gateway.quota.redis_replies import reply_text

log = logging.getLogger("gateway.tokens")

CHANNEL = "lgw:tok:evicted"
RESUBSCRIBE_SECONDS = 1.0


class RedisEvictions:
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self.instance = secrets.token_hex(8)

    async def publish(self, digest: str) -> None:
        try:
            await self._client.publish(CHANNEL, f"{self.instance}:{digest}")
        except (RedisError, OSError) as exc:
            raise StoreError(f"token eviction broadcast failed: {type(exc).__name__}") from exc

    async def listen(self, forget: Callable[[str], None]) -> None:
        """Call ``forget(digest)`` for every other replica's eviction, until cancelled."""
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(message.get("data"), forget)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("token eviction subscription lost: %s", type(exc).__name__)
            finally:
                await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    def _deliver(self, data: object, forget: Callable[[str], None]) -> None:
        text = reply_text(data)
        instance, _, digest = text.partition(":")
        if instance != self.instance and len(digest) == 64:
            forget(digest)
