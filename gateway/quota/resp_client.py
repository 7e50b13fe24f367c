"""A small pipelined Redis client for the quota store's hot path.

Requests are written back to back on a few shared connections and answered in order, so a
FIFO of futures per connection pairs each reply with its caller: no connection pool to wait
for, no connection per request. A request past its own timeout fails alone; its connection
then takes no new request and closes once its other callers are answered or timed out (see
``_Connection``). A reset or bytes that are not RESP close it at once and fail every
request still waiting on it. The next call reconnects. One Redis only: no Cluster
redirects (MOVED/ASK) and no Sentinel; those deployments use redis-py (``factory``).
Failures surface as ``OSError`` (``ConnectionError``, ``TimeoutError``, ``QueueFull``) or
``RespError``; the caller translates them.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl, unquote, urlsplit

from gateway.quota.resp import ProtocolError, Reply, ReplyError, ReplyParser, encode_command
from gateway.quota.schemes import SINGLE_REDIS_SCHEMES

DEFAULT_PORT = 6379
# Query parameters the client understands; any other makes ``endpoint_from_url`` decline
# the URL, so a redis-py option is never silently ignored. ``max_connections`` and
# ``timeout`` size redis-py's pool behind ``RedisStore.client`` and mean nothing here.
KNOWN_QUERY = frozenset(
    {
        "db",
        "password",
        "username",
        "max_connections",
        "timeout",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_check_hostname",
    }
)
_CERT_REQS = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}
# Commands that may wait on one connection: more than a stalled Redis gathers in the
# default 0.5 s reply timeout from a process sending 10,000 consumes a second.
DEFAULT_MAX_PENDING = 10_000
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Endpoint:
    """Where a Redis listens and how to log in: TCP (host, port, maybe TLS) or a socket."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    path: str | None = None
    tls: ssl.SSLContext | None = None
    username: str | None = None
    password: str | None = None
    db: int = 0

    def __repr__(self) -> str:
        where = self.path if self.path else f"{self.host}:{self.port}"
        return f"Endpoint({where}, db={self.db}, tls={self.tls is not None})"


def endpoint_from_url(url: str) -> Endpoint | None:
    """The endpoint of a ``redis://``, ``rediss://`` or ``unix://`` URL (timeouts already
    taken out), or None when the URL asks for something this client does not do.

    ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` the same over TLS
    (``ssl_cert_reqs=none|optional|required``, ``ssl_ca_certs=``, ``ssl_check_hostname=``),
    ``unix://[[user]:password@]/path?db=N``, as redis-py reads them. Raises ``ValueError``
    on a malformed db, port or TLS option.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme not in SINGLE_REDIS_SCHEMES or not set(query) <= KNOWN_QUERY:
        return None
    if scheme != "rediss" and any(name.startswith("ssl_") for name in query):
        return None
    username = _unquoted(parts.username) or query.get("username") or None
    password = _unquoted(parts.password) or query.get("password") or None
    db_text = query.get("db")
    if scheme == "unix":
        if not parts.path:
            raise ValueError("unix:// store URL without a socket path")
        return Endpoint(
            path=unquote(parts.path),
            username=username,
            password=password,
            db=_db(db_text or "0"),
        )
    path_db = parts.path.strip("/")
    host = parts.hostname or "127.0.0.1"
    return Endpoint(
        host=host,
        port=parts.port or DEFAULT_PORT,
        tls=_tls_context(query) if scheme == "rediss" else None,
        username=username,
        password=password,
        db=_db(db_text or path_db or "0"),
    )


def _unquoted(text: str | None) -> str | None:
    return unquote(text) if text else None


def _db(text: str) -> int:
    try:
        db = int(text)
    except ValueError:
        db = -1
    if db < 0:
        raise ValueError(f"store URL database {text!r}: expected a number >= 0")
    return db


def _tls_context(query: dict[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=query.get("ssl_ca_certs") or None)
    reqs = query.get("ssl_cert_reqs", "required").lower()
    if reqs not in _CERT_REQS:
        raise ValueError(f"store URL ssl_cert_reqs={reqs!r}: expected none, optional or required")
    check = query.get("ssl_check_hostname", "").lower()
    if check and check not in _TRUE | _FALSE:
        raise ValueError(f"store URL ssl_check_hostname={check!r}: expected true or false")
    # Hostname checking needs a verified certificate, so it goes first.
    context.check_hostname = reqs == "required" and check not in _FALSE
    context.verify_mode = _CERT_REQS[reqs]
    return context


class QueueFull(ConnectionError):
    """The client already has ``max_pending`` commands waiting for Redis: this one is
    refused at once instead of growing the queue without bound."""


class _Connection(asyncio.Protocol):
    """One socket to Redis and the commands waiting on it, oldest first.

    Replies come in send order, so each waiting entry keeps its place in the queue until
    its reply comes, even after its caller stopped waiting: a late reply is read and
    dropped, never handed to the next caller. A caller whose deadline passes fails alone.
    The connection then retires: it takes no new command (a fresh one does), answers the
    callers still within their deadlines, and closes once none is left. Nothing is sent
    twice: a command that timed out may have run, and only the caller can decide that.
    """

    def __init__(self, timeout: float, on_done: Callable[[_Connection], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._on_done = on_done
        self._parser = ReplyParser()
        self._waiting: deque[tuple[asyncio.Future[Reply], float]] = deque()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._out: list[bytes] = []
        self.alive = False
        self.retired = False

    @property
    def accepting(self) -> bool:
        """Open and not retired: new commands may go here."""
        return self.alive and not self.retired

    @property
    def pending(self) -> int:
        """Commands sent or queued whose reply has not come yet (expired ones included:
        they still hold their place in the reply order)."""
        return len(self._waiting)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always an asyncio.Transport subclass: uvloop's
        # TCPTransport implements the same methods without inheriting from it.
        self._transport = cast(asyncio.Transport, transport)
        self.alive = True

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        """Queue one command; the future gets its reply (an error reply as a value)."""
        if not self.alive:
            raise ConnectionError("the connection to Redis is closed")
        future: asyncio.Future[Reply] = self._loop.create_future()
        deadline = self._loop.time() + self._timeout
        self._waiting.append((future, deadline))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._check_deadlines)
        # Commands queued while the loop runs its ready callbacks leave in one write at
        # the next iteration: a send on loopback costs more CPU than building a command,
        # and under load many requests reach their consume in the same iteration.
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(command)
        return future

    def send_all(self, commands: list[bytes]) -> list[asyncio.Future[Reply]]:
        """Queue several commands; one future per command, in order."""
        return [self.send(command) for command in commands]

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self.alive and self._transport is not None and out:
            self._transport.write(b"".join(out))

    def _check_deadlines(self) -> None:
        # One timer per connection, not one per request: every command gets the same
        # timeout, so deadlines grow with send order and the expired ones lead the queue.
        self._timer = None
        now = self._loop.time()
        expired = 0
        next_deadline: float | None = None
        for future, deadline in self._waiting:
            if future.done():
                continue
            if deadline > now:
                next_deadline = deadline
                break
            expired += 1
            future.set_exception(TimeoutError(f"no reply from Redis within {self._timeout:g} s"))
        if expired:
            self.retired = True
        if next_deadline is not None:
            self._timer = self._loop.call_at(next_deadline, self._check_deadlines)
        else:
            self._close_if_idle()

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        parser.feed(data)
        try:
            replies = parser.replies()
        except ProtocolError as exc:
            self.abort(exc)
            return
        waiting = self._waiting
        for reply in replies:
            if not waiting:
                self.abort(ProtocolError("a reply nobody asked for"))
                return
            future = waiting.popleft()[0]
            if not future.done():  # timed out or cancelled: its reply is dropped here
                future.set_result(reply)
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        """A retired connection closes once no caller waits on it any more."""
        if self.retired and self.alive and all(f.done() for f, _ in self._waiting):
            self.abort(ConnectionError("the connection to Redis was retired"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.abort(ConnectionError(f"the connection to Redis was lost: {exc or 'closed'}"))

    def abort(self, exc: Exception) -> None:
        """Close the socket and fail every waiting request with ``exc``."""
        was_alive = self.alive
        self.alive = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._out = []
        if self._transport is not None:
            self._transport.abort()
        waiting, self._waiting = self._waiting, deque()
        for future, _ in waiting:
            if not future.done():
                future.set_exception(exc)
        if was_alive:
            self._on_done(self)


class RespClient:
    """Sends commands to one Redis over ``connections`` pipelined connections.

    Connects lazily and again after any failure; safe for many coroutines at once.
    ``socket_timeout`` bounds each reply, ``connect_timeout`` the connect and login;
    ``max_pending`` bounds the commands waiting on one connection: past it a call fails
    at once with ``QueueFull``.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        socket_timeout: float,
        connect_timeout: float,
        connections: int = 1,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if connections < 1:
            raise ValueError("connections must be >= 1")
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.endpoint = endpoint
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self.max_pending = max_pending
        self.queue_full = 0
        self._slots: list[_Connection | None] = [None] * connections
        self._connecting: list[asyncio.Task[_Connection] | None] = [None] * connections
        # Every open connection, retired ones included, so ``close`` reaches them all.
        self._open: set[_Connection] = set()
        self._next = 0
        self._closed = False

    @property
    def pending(self) -> int:
        """Commands waiting for a reply on every open connection, retired ones included:
        the pool's backlog, kept for an operator's shell and the tests that fill the queue."""
        return sum(connection.pending for connection in self._open)

    async def call(self, command: bytes) -> Reply:
        """Send one encoded command (``resp.encode_command``) and return its reply.

        Raises ``ReplyError`` for an error reply, ``OSError`` when Redis cannot be reached
        or does not answer in time (``QueueFull`` when too many commands wait already),
        ``ProtocolError`` on garbage.
        """
        return await self.call_built(lambda: command)

    async def call_built(self, build: Callable[[], bytes]) -> Reply:
        """Like ``call``, with the command built by ``build`` once a connection is ready,
        in the same step that queues it: a command dated by the clock (a deadline) is dated
        when its reply timeout starts, not before a connect that may take a while.
        """
        slot = self._next
        self._next = (slot + 1) % len(self._slots)
        connection = self._slots[slot]
        if connection is None or not connection.accepting:
            connection = await self._connect_slot(slot)
        if connection.pending >= self.max_pending:
            self.queue_full += 1
            raise QueueFull(f"{connection.pending} commands already wait for Redis (max_pending)")
        reply = await connection.send(build())
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def _connect_slot(self, slot: int) -> _Connection:
        if self._closed:
            raise ConnectionError("the Redis client is closed")
        task = self._connecting[slot]
        if task is None:
            # Callers that find the slot down together share one connect attempt.
            task = asyncio.get_running_loop().create_task(self._connect())
            self._connecting[slot] = task
            task.add_done_callback(lambda done: self._connected(slot, done))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and not (current and current.cancelling()):
                # ``close`` cancelled the connect, not our caller.
                raise ConnectionError("the Redis client is closed") from None
            raise

    def _connected(self, slot: int, task: asyncio.Task[_Connection]) -> None:
        self._connecting[slot] = None
        if task.cancelled() or task.exception() is not None:
            return  # the waiters got the error; the next call tries again
        connection = task.result()
        if self._closed:
            connection.abort(ConnectionError("the Redis client is closed"))
        elif connection.alive:
            self._open.add(connection)
            self._slots[slot] = connection

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        endpoint = self.endpoint
        connection = _Connection(self.socket_timeout, self._open.discard)
        deadline = asyncio.timeout(self.connect_timeout)
        try:
            async with deadline:
                if endpoint.path is not None:
                    await loop.create_unix_connection(lambda: connection, endpoint.path)
                else:
                    await loop.create_connection(
                        lambda: connection,
                        endpoint.host,
                        endpoint.port,
                        ssl=endpoint.tls,
                        server_hostname=endpoint.host if endpoint.tls else None,
                    )
                await self._log_in(connection)
        except BaseException as exc:
            connection.abort(ConnectionError("connect failed"))
            if isinstance(exc, TimeoutError) and deadline.expired():
                raise TimeoutError(
                    f"no connection to Redis within {self.connect_timeout:g} s"
                ) from None
            raise
        return connection

    async def _log_in(self, connection: _Connection) -> None:
        endpoint = self.endpoint
        setup: list[bytes] = []
        if endpoint.password is not None:
            credentials = [endpoint.username] if endpoint.username else []
            setup.append(encode_command(["AUTH", *credentials, endpoint.password]))
        if endpoint.db:
            setup.append(encode_command(["SELECT", endpoint.db]))
        if not setup:
            return
        # Queued together, so sent in one write: one round trip for both.
        for reply in await asyncio.gather(*connection.send_all(setup)):
            if isinstance(reply, ReplyError):
                raise reply

    async def close(self) -> None:
        """Close every connection; requests still waiting fail. Later calls fail too."""
        self._closed = True
        connecting = [task for task in self._connecting if task is not None]
        for task in connecting:
            task.cancel()
        await asyncio.gather(*connecting, return_exceptions=True)
        for connection in list(self._open):
            connection.abort(ConnectionError("the Redis client is closed"))
        self._slots = [None] * len(self._slots)
        # Let the transports run their close callbacks before the loop may end.
        await asyncio.sleep(0)
