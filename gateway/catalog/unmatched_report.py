"""Where ``linkedin-gateway catalog --unmatched`` reads the tally: the Redis store every
replica adds to, or the admin listener of a gateway on a memory:// store."""

from __future__ import annotations

import contextlib
import json
import urllib.request

from redis.exceptions import RedisError

from gateway.backends import Backends
from gateway.catalog.unmatched_context import unmatched_report
from gateway.errors import StoreError
from gateway.settings.model import HostPort

TIMEOUT_SECONDS = 5.0


async def read_from_store(url: str, day: int) -> dict[str, object]:
    """The day's tally straight from the shared store (one Redis, a Cluster or Sentinels),
    opened as ``serve`` opens it."""
    backends = Backends.open(url)
    try:
        tally = await backends.unmatched_ledger().day(day)
    except (StoreError, RedisError) as exc:
        raise OSError(str(exc)) from exc
    finally:
        with contextlib.suppress(StoreError):
            await backends.close()
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
