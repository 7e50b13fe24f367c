"""Where ``linkedin-gateway catalog --unmatched`` reads the tally: the Redis store every
replica adds to, or the admin listener of a gateway on a memory:// store."""

from __future__ import annotations

import json
import urllib.request

import redis.asyncio
from redis.exceptions import RedisError

from gateway.catalog.unmatched import RedisUnmatchedLedger
from gateway.catalog.unmatched_context import unmatched_report
from gateway.errors import StoreError
from gateway.quota.redis_store import split_timeouts
from gateway.settings.model import HostPort

TIMEOUT_SECONDS = 5.0


async def read_from_store(url: str, day: int) -> dict[str, object]:
    """The day's tally straight from Redis (the store URL's own parameters stripped)."""
    client = redis.asyncio.Redis.from_url(
        split_timeouts(url).url,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
    try:
        tally = await RedisUnmatchedLedger(client).day(day)
    except (StoreError, RedisError) as exc:
        raise OSError(str(exc)) from exc
    finally:
        await client.aclose()
    return unmatched_report(day, tally)


def fetch_from_admin(listen: HostPort, token: str | None) -> dict[str, object]:
    """``GET /unmatched`` of the running gateway's admin listener."""
    host = f"[{listen.host}]" if ":" in listen.host else listen.host
    request = urllib.request.Request(f"http://{host}:{listen.port}/unmatched")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
        loaded = json.loads(answer.read())
    if not isinstance(loaded, dict):
        raise OSError("the admin listener's /unmatched answer is not a JSON object")
    return loaded
