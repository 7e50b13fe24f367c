"""The quota store shared by every gateway process: Redis, one Lua script per operation.

Each operation is one round trip (EVALSHA; on NOSCRIPT, EVAL once, which also caches the
script) touching only keys that share one ``{app}`` hash tag: one Cluster slot. A store
opened from a single-Redis URL sends its operations through ``RespClient``, a small
pipelined client (1.4x redis-py's requests/s end to end, docs/benchmarks.md); a store
handed a redis-py client (a Cluster or Sentinel client, fakeredis in tests) uses it.
Every Redis failure becomes ``StoreError`` here, at the edge.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from importlib.resources import files
from typing import NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlencode
from uuid import uuid4

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from gateway.errors import StoreError
from gateway.quota.keys import marker_key
from gateway.quota.local_fallback import LocalFallback
from gateway.quota.model import (
    BucketSpec,
    BucketState,
    QuotaOutcome,
    Ticket,
    Window,
)
from gateway.quota.resp import Arg, LuaScript, Reply, ReplyError, RespError, encode_command
from gateway.quota.resp_client import (
    DEFAULT_MAX_PENDING,
    QueueFull,
    RespClient,
    endpoint_from_url,
)
from gateway.quota.windows import counted_window, counter_key, reset_at, rolling_cutoff, ttl_seconds

DEFAULT_SOCKET_TIMEOUT = 0.5
DEFAULT_CONNECT_TIMEOUT = 1.0
# Seconds a consume script may start past the moment the gateway stops waiting for it,
# on Redis's clock: room for a Redis clock that runs ahead of the gateway host's.
DEFAULT_CLOCK_ALLOWANCE = 0.0
# Concurrent calls share this many connections per process and queue for a free one
# instead of opening one connection per request; the queue wait is bounded by the connect
# plus the socket timeout: the longest one call can take before it fails anyway.
DEFAULT_MAX_CONNECTIONS = 64
# Pipelined connections of the fast client. One carries over 10,000 consumes a second from
# one process, more than a gateway process forwards; two or four measured slower (more
# writes and reads for the same calls), and Redis runs scripts one at a time anyway.
FAST_CONNECTIONS = 1

_SCRIPTS = files("gateway.quota")
CONSUME_LUA = _SCRIPTS.joinpath("consume.lua").read_text(encoding="utf-8")
REFUND_LUA = _SCRIPTS.joinpath("refund.lua").read_text(encoding="utf-8")
RESTORE_LUA = _SCRIPTS.joinpath("restore.lua").read_text(encoding="utf-8")
PEEK_LUA = _SCRIPTS.joinpath("peek.lua").read_text(encoding="utf-8")
CONSUME = LuaScript(CONSUME_LUA)
REFUND = LuaScript(REFUND_LUA)
PEEK = LuaScript(PEEK_LUA)
RESTORE = LuaScript(RESTORE_LUA)
# While counts admitted alone wait to be added back, the store is tried this often.
RECOVERY_SECONDS = 0.25
# A flush marker outlives any retry of its flush.
FLUSH_MARKER_SECONDS = 2 * 86400
# A refund's marker outlives any retry of the refund (redis-py's retries come within
# seconds); refunds are rare, so these keys cost nothing that matters.
REFUND_MARKER_SECONDS = 60
PING = encode_command(["PING"])
# consume.lua's first reply item when the script started after its deadline.
LATE = -1

_APP_TAG = re.compile(r"\{([^}]*)\}")

T = TypeVar("T")
log = logging.getLogger("gateway")


class StoreURL(NamedTuple):
    """A store URL without the gateway's own parameters, and their values in seconds."""

    url: str
    socket_timeout: float
    connect_timeout: float
    clock_allowance: float = DEFAULT_CLOCK_ALLOWANCE
    max_pending: int = DEFAULT_MAX_PENDING


class RedisStore:
    """Counts in Redis. The store owns ``client`` (and ``resp``) and closes them in ``close``.

    ``resp``, when given, carries consume, refund, peek and ping; ``client`` then serves
    everything else (other features' keys) and is only connected when first used.

    Each consume carries a deadline on Redis's clock: ``wall_clock()`` when the command
    leaves plus ``reply_timeout`` (the longest the store waits for a reply; by default the
    client's socket timeout, None: no deadline) plus ``clock_allowance``. A script that
    Redis starts later counts nothing, so a consume the gateway gave up on is never charged
    once a stalled Redis runs it. This assumes the two clocks agree within the reply
    timeout plus the allowance; a Redis clock further ahead refuses every consume, and the
    error says so. The wall clock dates deadlines only: windows still use the ``now``
    callers pass.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        resp: RespClient | None = None,
        reply_timeout: float | None = None,
        clock_allowance: float = DEFAULT_CLOCK_ALLOWANCE,
        wall_clock: Callable[[], float] = time.time,
        also_close: Sequence[redis.asyncio.Redis] = (),
        fallback: LocalFallback | None = None,
    ) -> None:
        self._client = client
        self._also_close = tuple(also_close)
        self._resp = resp
        if reply_timeout is None:
            configured = client.connection_pool.connection_kwargs.get("socket_timeout")
            reply_timeout = float(configured) if isinstance(configured, int | float) else None
        self._deadline_span = None if reply_timeout is None else reply_timeout + clock_allowance
        self._wall_clock = wall_clock
        self._scripts: dict[LuaScript, AsyncScript] = {
            script: client.register_script(script.text)
            for script in (CONSUME, REFUND, PEEK, RESTORE)
        }
        self._fallback = fallback
        self._recovery: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """A store for ``redis://``, ``rediss://`` or ``unix://`` URLs; connects lazily.

        ``socket_timeout=`` and ``connect_timeout=`` (seconds) in the query override the
        short defaults so a dead Redis fails a request fast instead of hanging it;
        redis-py's own ``max_connections=`` and ``timeout=`` (the longest wait for a free
        pooled connection) size the pool behind ``client``. A URL with a query parameter
        ``RespClient`` does not know (see ``resp_client.KNOWN_QUERY``) gets a store that
        sends everything through redis-py.
        """
        plain_url, socket_timeout, connect_timeout, clock_allowance, max_pending = split_timeouts(
            url
        )
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
        endpoint = endpoint_from_url(plain_url)
        resp = (
            None
            if endpoint is None
            else RespClient(
                endpoint,
                socket_timeout=socket_timeout,
                connect_timeout=connect_timeout,
                connections=FAST_CONNECTIONS,
                max_pending=max_pending,
            )
        )
        return cls(client, resp=resp, reply_timeout=socket_timeout, clock_allowance=clock_allowance)

    @property
    def fallback(self) -> LocalFallback | None:
        """What this replica counts alone while the store is away (``on_store_error:
        local``), or None."""
        return self._fallback

    @fallback.setter
    def fallback(self, fallback: LocalFallback | None) -> None:
        self._fallback = fallback

    async def consume(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome:
        fallback = self._fallback
        if fallback is None:
            return await self._consume(buckets, now)
        try:
            if fallback.pending:
                # Counts admitted alone go back first, so this consume sees them; while
                # another call is adding them back, this one stays on the local allowance
                # rather than queue behind it or count without them.
                if self._flushing.locked():
                    raise StoreError("quota store: counts admitted alone are being added back")
                async with self._flushing:
                    await self.flush_local(now)
            outcome = await self._consume(buckets, now)
        except StoreError as exc:
            local = fallback.admit(buckets, now)
            if local is None:
                raise StoreError(f"{exc}; this replica's local allowance is spent") from exc
            self._start_recovery()
            return local
        fallback.observe(outcome.states, now)
        return outcome

    async def flush_local(self, now: float) -> None:
        """Add the calls admitted alone back to the store, one script per app; each is
        sent with the same marker until the store confirms it, so none counts twice."""
        fallback = self._fallback
        if fallback is None:
            return
        for flush in fallback.take_flushes():
            keys = [flush.marker]
            args: list[Arg] = [FLUSH_MARKER_SECONDS]
            for key, counter in flush.counters:
                keys.append(key)
                ttl = max(math.ceil(counter.expires_at - now), 1)
                if counter.window is Window.ROLLING_24H:
                    args += ["r", ttl, len(counter.members)]
                    for score, member in counter.members:
                        args += [repr(score), member]
                else:
                    args += ["d", ttl, counter.count]
            await self._call("restore", keys, self._run(RESTORE, keys, args))
            fallback.flushed(flush)

    def _start_recovery(self) -> None:
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Until the counts admitted alone are back in the store: try every
        ``RECOVERY_SECONDS``, so a replica that gets no call still adds them back soon."""
        fallback = self._fallback
        while fallback is not None and fallback.pending:
            await asyncio.sleep(RECOVERY_SECONDS)
            if self._flushing.locked():
                continue
            try:
                async with self._flushing:
                    await self.flush_local(self._wall_clock())
            except StoreError:
                continue

    async def _consume(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome:
        if not buckets:
            return QuotaOutcome(admitted=True, states=(), exhausted=(), ticket=Ticket(()))
        keys = [counter_key(spec, now) for spec in buckets]
        windows = [counted_window(spec) for spec in buckets]
        members = [uuid4().hex if w is Window.ROLLING_24H else "" for w in windows]
        # redis-py retries a command whose connection broke, though Redis may have run it:
        # the retry carries the same once key and gets the first run's reply (consume.lua).
        # The pipelined client never retries a command.
        once = (
            [marker_key(keys[0], "once", uuid4().hex)]
            if self._resp is None and self._deadline_span is not None
            else []
        )
        args: list[Arg] = [
            repr(float(now)),
            repr(float(rolling_cutoff(now))),
            ttl_seconds(Window.ROLLING_24H, now),
        ]
        for spec, window, member in zip(buckets, windows, members, strict=True):
            # A fixed window's counter carries its own TTL: it expires with its window.
            last: Arg = member if window is Window.ROLLING_24H else ttl_seconds(window, now)
            args += [-1 if spec.limit is None else spec.limit, _kind(window), last]
        reply = _as_list(
            await self._call("consume", keys, self._run(CONSUME, keys + once, args, dated=True))
        )
        if _as_int(reply[0]) == LATE:
            raise self._late(keys, _as_text(reply[1]))
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
        args: list[Arg] = [member or "" for _, member in ticket.entries]
        # A retried refund must not take back a second call (refund.lua).
        marker = marker_key(keys[0], "refund", uuid4().hex)
        await self._call(
            "refund", keys, self._run(REFUND, [marker, *keys], [REFUND_MARKER_SECONDS, *args])
        )

    async def peek(self, buckets: Sequence[BucketSpec], now: float) -> tuple[BucketState, ...]:
        if not buckets:
            return ()
        keys = [counter_key(spec, now) for spec in buckets]
        args: list[Arg] = [repr(float(rolling_cutoff(now)))]
        args += [_kind(counted_window(spec)) for spec in buckets]
        reply = _as_list(await self._call("peek", keys, self._run(PEEK, keys, args)))
        return _states(buckets, reply, now)

    @property
    def client(self) -> redis.asyncio.Redis:
        """redis-py on the same Redis, for work off the request path."""
        return self._client

    @property
    def resp(self) -> RespClient | None:
        """The pipelined client of the hot path; None when ``client`` does everything."""
        return self._resp

    async def ping(self) -> None:
        if self._resp is None:
            await self._call("ping", [], self._client.ping())
        else:
            await self._call("ping", [], self._resp.call(PING))

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        if self._fallback is not None and self._fallback.pending:
            try:
                await self.flush_local(self._wall_clock())
            except StoreError as exc:
                log.error("calls admitted while the store was away stay out of its totals: %s", exc)
        if self._resp is not None:
            await self._call("close", [], self._resp.close())
        await self._call("close", [], self._client.aclose())
        for other in self._also_close:
            await self._call("close", [], other.aclose())

    async def _run(
        self, script: LuaScript, keys: list[str], args: list[Arg], *, dated: bool = False
    ) -> object:
        """Run ``script``; ``dated`` appends its deadline as the last argument, dated as
        late as this client allows: when the command is queued on a ready connection."""
        resp = self._resp
        if resp is None:
            if dated:
                args = [*args, self.script_deadline()]
            return await self._scripts[script](keys=keys, args=args)
        try:
            return await resp.call_built(lambda: script.evalsha(keys, self._dated(args, dated)))
        except ReplyError as exc:
            # A restarted or flushed Redis forgets its scripts; EVAL runs and re-caches it.
            if exc.code != "NOSCRIPT":
                raise
        return await resp.call_built(lambda: script.eval(keys, self._dated(args, dated)))

    def _dated(self, args: list[Arg], dated: bool) -> list[Arg]:
        return [*args, self.script_deadline()] if dated else args

    def script_deadline(self) -> str:
        """The deadline a script sent now carries, as its last argument: epoch seconds on
        Redis's clock ('' for none). Other features' scripts sharing this client (the
        ad-account ledger's claims) are dated with it too."""
        span = self._deadline_span
        return "" if span is None else repr(self._wall_clock() + span)

    def _late(self, keys: Sequence[str], redis_time: str) -> StoreError:
        """A consume that Redis refused as late, yet whose reply reached us: a Redis clock
        ahead of ours, or (redis-py) a command that waited for a pooled connection past
        its deadline. A reply that comes after the gateway gave up finds nobody waiting."""
        tag = _APP_TAG.search(keys[0]) if keys else None
        where = f" for app {tag.group(1)!r}" if tag else ""
        ahead = float(redis_time) - self._wall_clock()
        why = (
            f"Redis's clock is {ahead:.3f} s ahead of this host's, more than the store's "
            "socket_timeout plus clock_allowance"
            if ahead > 0
            else "the command reached Redis after its deadline"
        )
        return StoreError(f"quota store consume refused as late{where}: {why}; nothing was counted")

    async def _call(self, operation: str, keys: Sequence[str], call: Awaitable[T]) -> T:
        try:
            return await call
        except QueueFull as exc:
            raise StoreError(f"quota store {operation} refused: {exc}") from exc
        except (RedisError, RespError, OSError) as exc:
            # Name the app only: member ids and bucket names stay out of error messages.
            tag = _APP_TAG.search(keys[0]) if keys else None
            where = f" for app {tag.group(1)!r}" if tag else ""
            raise StoreError(
                f"quota store {operation} failed{where}: {type(exc).__name__}: {exc}"
            ) from exc


def _kind(window: Window) -> str:
    # consume.lua's window kinds: one counter per fixed window ('d'), or a rolling set ('r').
    return "r" if window is Window.ROLLING_24H else "d"


def split_timeouts(url: str) -> StoreURL:
    """``url`` without the gateway's parameters (``socket_timeout``, ``connect_timeout``,
    ``clock_allowance`` in seconds, ``max_pending`` a count), and their values."""
    # Cut the query out of the text instead of round-tripping through urlunsplit, which
    # turns ``unix:///run/redis.sock`` (empty authority) into ``unix:/run/redis.sock``, a
    # URL redis-py no longer accepts.
    base, _, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    socket_timeout = DEFAULT_SOCKET_TIMEOUT
    connect_timeout = DEFAULT_CONNECT_TIMEOUT
    clock_allowance = DEFAULT_CLOCK_ALLOWANCE
    max_pending = DEFAULT_MAX_PENDING
    kept: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "socket_timeout":
            socket_timeout = _seconds(name, value)
        elif name == "connect_timeout":
            connect_timeout = _seconds(name, value)
        elif name == "clock_allowance":
            clock_allowance = _seconds(name, value, zero=True)
        elif name == "max_pending":
            max_pending = _count(name, value)
        else:
            kept.append((name, value))
    kept_query = urlencode(kept)
    plain = f"{base}{'?' if kept_query else ''}{kept_query}{hash_mark}{fragment}"
    return StoreURL(plain, socket_timeout, connect_timeout, clock_allowance, max_pending)


def _count(name: str, value: str) -> int:
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise ValueError(f"store URL parameter {name}={value!r}: expected a whole number >= 1")
    return int(value)


def _seconds(name: str, value: str, *, zero: bool = False) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and (seconds > 0 or (zero and seconds == 0))):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"store URL parameter {name}={value!r}: expected seconds {bound}")
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


def _as_list(value: object) -> list[Reply]:
    if isinstance(value, list):
        return value
    raise StoreError(f"quota store: unexpected reply of type {type(value).__name__}")


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
