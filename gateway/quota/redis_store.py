"""The quota store shared by every gateway process: Redis, one Lua script per operation.

Each operation is one round trip (EVALSHA, reloaded on NOSCRIPT by redis-py) touching only
keys that share one ``{app}`` hash tag, so it also runs on Redis Cluster. Every Redis
failure becomes ``StoreError`` here, at the edge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Sequence
from importlib.resources import files
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from gateway.errors import StoreError
from gateway.quota.model import (
    BucketSpec,
    BucketState,
    QuotaOutcome,
    Ticket,
    Window,
)
from gateway.quota.windows import counted_window, counter_key, reset_at, rolling_cutoff, ttl_seconds

DEFAULT_SOCKET_TIMEOUT = 0.5
DEFAULT_CONNECT_TIMEOUT = 1.0
# Concurrent calls share this many connections per process and queue for a free one
# instead of opening one connection per request; the queue wait is bounded by the connect
# plus the socket timeout: the longest one call can take before it fails anyway.
DEFAULT_MAX_CONNECTIONS = 64

_SCRIPTS = files("gateway.quota")
CONSUME_LUA = _SCRIPTS.joinpath("consume.lua").read_text(encoding="utf-8")
REFUND_LUA = _SCRIPTS.joinpath("refund.lua").read_text(encoding="utf-8")
PEEK_LUA = _SCRIPTS.joinpath("peek.lua").read_text(encoding="utf-8")

_KIND = {Window.UTC_DAY: "d", Window.ROLLING_24H: "r"}
_APP_TAG = re.compile(r"\{([^}]*)\}")

T = TypeVar("T")


class RedisStore:
    """Counts in Redis. The store owns ``client`` and closes it in ``close``."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._consume = client.register_script(CONSUME_LUA)
        self._refund = client.register_script(REFUND_LUA)
        self._peek = client.register_script(PEEK_LUA)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """A store for ``redis://``, ``rediss://`` or ``unix://`` URLs; connects lazily.

        ``socket_timeout=`` and ``connect_timeout=`` (seconds) in the query override the
        short defaults so a dead Redis fails a request fast instead of hanging it;
        redis-py's own ``max_connections=`` and ``timeout=`` (the longest wait for a free
        pooled connection) are passed through.
        """
        plain_url, socket_timeout, connect_timeout = split_timeouts(url)
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            plain_url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            # One immediate retry on a broken connection only: it replaces a pooled
            # connection that a Redis restart closed. Timeouts are never retried.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            max_connections=DEFAULT_MAX_CONNECTIONS,
            timeout=connect_timeout + socket_timeout,
        )
        client = redis.asyncio.Redis.from_pool(pool)
        return cls(client)

    async def consume(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome:
        if not buckets:
            return QuotaOutcome(admitted=True, states=(), exhausted=(), ticket=Ticket(()))
        keys = [counter_key(spec, now) for spec in buckets]
        windows = [counted_window(spec) for spec in buckets]
        members = [uuid4().hex if w is Window.ROLLING_24H else "" for w in windows]
        args: list[str | int] = [
            repr(float(now)),
            repr(float(rolling_cutoff(now))),
            ttl_seconds(Window.UTC_DAY, now),
            ttl_seconds(Window.ROLLING_24H, now),
        ]
        for spec, window, member in zip(buckets, windows, members, strict=True):
            args += [-1 if spec.limit is None else spec.limit, _KIND[window], member]
        reply = await self._call("consume", keys, self._consume(keys=keys, args=args))
        admitted = _as_int(reply[0]) == 1
        states = _states(buckets, reply[1:], now)
        if not admitted:
            exhausted = tuple(
                state.spec
                for state in states
                if state.spec.limit is not None and state.used >= state.spec.limit
            )
            return QuotaOutcome(admitted=False, states=states, exhausted=exhausted, ticket=None)
        entries = tuple((key, member or None) for key, member in zip(keys, members, strict=True))
        return QuotaOutcome(admitted=True, states=states, exhausted=(), ticket=Ticket(entries))

    async def refund(self, ticket: Ticket, now: float) -> None:
        if not ticket.entries:
            return
        keys = [key for key, _ in ticket.entries]
        args = [member or "" for _, member in ticket.entries]
        await self._call("refund", keys, self._refund(keys=keys, args=args))

    async def peek(self, buckets: Sequence[BucketSpec], now: float) -> tuple[BucketState, ...]:
        if not buckets:
            return ()
        keys = [counter_key(spec, now) for spec in buckets]
        args = [repr(float(rolling_cutoff(now)))]
        args += [_KIND[counted_window(spec)] for spec in buckets]
        reply = await self._call("peek", keys, self._peek(keys=keys, args=args))
        return _states(buckets, reply, now)

    @property
    def client(self) -> redis.asyncio.Redis:
        return self._client

    async def ping(self) -> None:
        await self._call("ping", [], self._client.ping())

    async def close(self) -> None:
        await self._call("close", [], self._client.aclose())

    async def _call(self, operation: str, keys: Sequence[str], call: Awaitable[T]) -> T:
        try:
            return await call
        except (RedisError, OSError) as exc:
            # Name the app only: member ids and bucket names stay out of error messages.
            tag = _APP_TAG.search(keys[0]) if keys else None
            where = f" for app {tag.group(1)!r}" if tag else ""
            raise StoreError(
                f"quota store {operation} failed{where}: {type(exc).__name__}: {exc}"
            ) from exc


def split_timeouts(url: str) -> tuple[str, float, float]:
    """``url`` without the gateway's timeout parameters, and their values in seconds."""
    parts = urlsplit(url)
    socket_timeout = DEFAULT_SOCKET_TIMEOUT
    connect_timeout = DEFAULT_CONNECT_TIMEOUT
    kept: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "socket_timeout":
            socket_timeout = _seconds(name, value)
        elif name == "connect_timeout":
            connect_timeout = _seconds(name, value)
        else:
            kept.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(kept))), socket_timeout, connect_timeout


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"store URL parameter {name}={value!r}: expected seconds > 0")
    return seconds


def _states(
    buckets: Sequence[BucketSpec], pairs: Sequence[object], now: float
) -> tuple[BucketState, ...]:
    states = []
    for i, spec in enumerate(buckets):
        used = _as_int(pairs[2 * i])
        raw_oldest = _as_text(pairs[2 * i + 1])
        oldest = float(raw_oldest) if raw_oldest else None
        states.append(BucketState(spec, used, reset_at(counted_window(spec), now, oldest)))
    return tuple(states)


def _as_int(value: object) -> int:
    if isinstance(value, int):
        return value
    return int(_as_text(value))


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise StoreError(f"quota store: unexpected reply of type {type(value).__name__}")
