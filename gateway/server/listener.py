"""Every socket the gateway serves (main, admin, sandbox), bounded the way production
proxies bound theirs.

aiohttp closes a connection idle for ``keepalive_timeout`` but lets a request head or a
request body take as long as the client likes, and accepts connections until the process
runs out of file descriptors. ``GuardedRequestHandler`` keeps one deadline per connection
and moves it as the connection passes through its phases:

================  ===================================  ====================================
phase             what the connection is doing         at the deadline
================  ===================================  ====================================
``FRESH``         connected, nothing sent yet          closed, ``header_timeout`` after
                                                       connect
``HEAD``          part of a request head has arrived   408 ``request_timeout`` and closed,
                                                       ``header_timeout`` after its first
                                                       byte, however the bytes trickle
``ACTIVE``        a request is being handled           when its body stalled for
                                                       ``body_idle_timeout``, or is still
                                                       coming ``body_timeout`` after its
                                                       head: the body's reader gets
                                                       ``RequestTimeout`` (408)
``IDLE``          between requests (keep-alive)        closed after ``keepalive_timeout``
================  ===================================  ====================================

``ConnectionGate`` caps the open connections of one listener. At the cap a new connection
takes the place of the connection idle the longest (``FRESH`` or ``IDLE``: no request in
flight), which is closed; with none idle the newcomer is answered 503
``connection_limit`` and closed. Requests in flight are never cut to make room.

Accept errors (EMFILE and friends) reach the loop's exception handler; asyncio's loop
reports one per connection it failed to accept, hundreds a second. ``AcceptErrorThrottle``
lets one line through per interval, with the count of those it held back.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import resource
import signal
import socket
import time
from collections.abc import Callable
from enum import Enum
from http import HTTPStatus
from typing import Any, cast

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from gateway.errors import Refusal, RequestTimeout
from gateway.settings.connections import ConnectionLimits

log = logging.getLogger("gateway.server.listener")

# Descriptors the process needs besides its client connections: stdio, the loop, the
# store's connection pool, the listening sockets, files it reads.
RESERVED_FDS = 64
FEWEST_CONNECTIONS = 8
# Stands in for an unlimited RLIMIT_NOFILE, so a cap is still a number.
UNLIMITED_FDS = 1 << 20
# accept() failures that mean "out of a resource", not "this one client went away".
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def refusal_bytes(refusal: Refusal) -> bytes:
    """A whole HTTP/1.1 response for ``refusal``, for a connection no handler answers."""
    body = refusal.body_bytes()
    headers = {**refusal.all_headers(), "Content-Length": str(len(body)), "Connection": "close"}
    lines = [f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


CONNECTION_LIMIT = refusal_bytes(
    Refusal(
        status=503,
        reason="connection_limit",
        code="SERVICE_UNAVAILABLE",
        message="the gateway holds as many connections as it allows; retry shortly",
        headers={"Retry-After": "1"},
    )
)


def header_timeout_bytes(seconds: float) -> bytes:
    return refusal_bytes(
        Refusal(
            status=408,
            reason="request_timeout",
            code="REQUEST_TIMEOUT",
            message=f"the request head did not arrive within {seconds:g} s",
        )
    )


class Phase(Enum):
    FRESH = "fresh"
    HEAD = "head"
    ACTIVE = "active"
    IDLE = "idle"


class ConnectionGate:
    """The open connections of one listener, at most ``limit``; the idle ones oldest first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[GuardedRequestHandler] = set()
        # Insertion-ordered: the first key has been idle the longest.
        self._idle: dict[GuardedRequestHandler, None] = {}
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._open)

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def admit(self, conn: GuardedRequestHandler) -> bool:
        if len(self._open) >= self.limit:
            if not self._idle:
                self.refused += 1
                return False
            oldest = next(iter(self._idle))
            self.release(oldest)
            oldest.drop()
            self.evicted += 1
        self._open.add(conn)
        return True

    def idle(self, conn: GuardedRequestHandler) -> None:
        self._idle.pop(conn, None)
        if conn in self._open:
            self._idle[conn] = None

    def busy(self, conn: GuardedRequestHandler) -> None:
        self._idle.pop(conn, None)

    def release(self, conn: GuardedRequestHandler) -> None:
        self._open.discard(conn)
        self._idle.pop(conn, None)


class GuardedRequestHandler(RequestHandler):
    """aiohttp's HTTP/1.1 protocol with the deadlines of the module docstring.

    It owns the keep-alive deadline too: aiohttp's own one would close a connection in the
    middle of a request head that started late in the keep-alive interval.
    """

    __slots__ = (
        "_body",
        "_body_ends",
        "_deadline",
        "_deadline_handle",
        "_gate",
        "_limits",
        "_phase",
    )

    def __init__(
        self,
        manager: Server,
        *,
        loop: asyncio.AbstractEventLoop,
        gate: ConnectionGate,
        limits: ConnectionLimits,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, loop=loop, keepalive_timeout=limits.keepalive_timeout, **kwargs)
        self._gate = gate
        self._limits = limits
        self._phase: Phase | None = None
        # The body of the newest request parsed on this connection.
        self._body: StreamReader | None = None
        # When the newest request's body must have arrived whole: a body trickling in one
        # byte per idle interval must not hold a connection (and a buffer) for ever.
        self._body_ends = math.inf
        self._deadline = math.inf
        self._deadline_handle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._gate.admit(self):
            refused = cast(asyncio.Transport, transport)
            refused.write(CONNECTION_LIMIT)
            refused.close()
            return
        super().connection_made(transport)
        self._enter(Phase.FRESH, self._limits.header_timeout)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._phase is None:
            return  # refused at the gate: aiohttp never saw it
        self._gate.release(self)
        if self._deadline_handle is not None:
            self._deadline_handle.cancel()
            self._deadline_handle = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        body_pending = self._body is not None and not self._body.is_eof()
        if self._phase is Phase.FRESH:
            # The head's clock started at connect.
            self._phase = Phase.HEAD
            self._gate.busy(self)
        elif self._phase is Phase.IDLE and not body_pending:
            self._enter(Phase.HEAD, self._limits.header_timeout)
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            self._body = self._messages[-1][1] if self._messages else None
            self._body_ends = self._loop.time() + self._limits.body_timeout
            self._enter(Phase.ACTIVE, self._body_wait())
        elif self._phase is Phase.ACTIVE or body_pending:
            self._set_deadline(self._body_wait())

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        finished = await super().finish_response(request, resp, start_time)
        if not self._messages and self.transport is not None:
            self._enter(Phase.IDLE, self._limits.keepalive_timeout)
        return finished

    def _process_keepalive(self) -> None:
        """aiohttp's keep-alive timer: the IDLE deadline does its work here."""
        self._keepalive_handle = None

    def drop(self, farewell: bytes = b"") -> None:
        """Close now; ``farewell`` is written first unless the client left unread bytes
        behind, in which case the connection is reset (close would wait on the client)."""
        transport = self.transport
        if transport is None:
            return
        if transport.get_write_buffer_size():
            transport.abort()
        elif farewell:
            transport.write(farewell)
        self.force_close()

    def _enter(self, phase: Phase, seconds: float) -> None:
        self._phase = phase
        if phase in (Phase.FRESH, Phase.IDLE):
            self._gate.idle(self)
        else:
            self._gate.busy(self)
        self._set_deadline(seconds)

    def _set_deadline(self, seconds: float) -> None:
        # One timer per connection, re-armed only when the deadline moves earlier: a body
        # arriving in many chunks costs a clock read per chunk, not a timer.
        self._deadline = self._loop.time() + seconds
        handle = self._deadline_handle
        if handle is not None:
            if handle.when() <= self._deadline:
                return
            handle.cancel()
        self._deadline_handle = self._loop.call_at(self._deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._deadline_handle = None
        if self.transport is None:
            return
        if self._loop.time() < self._deadline:
            self._deadline_handle = self._loop.call_at(self._deadline, self._on_deadline)
            return
        if self._phase is Phase.HEAD:
            self.drop(header_timeout_bytes(self._limits.header_timeout))
        elif self._phase is Phase.ACTIVE:
            self._expire_body()
        else:
            self.drop()

    def _body_wait(self) -> float:
        """Seconds until the body's next deadline: its idle one or its whole one."""
        whole = self._body_ends - self._loop.time()
        return max(0.0, min(self._limits.body_idle_timeout, whole))

    def _expire_body(self) -> None:
        body = self._body
        # A paused transport means the gateway, not the client, is behind.
        if body is not None and not body.is_eof() and not self._reading_paused:
            if self._loop.time() >= self._body_ends:
                why = (
                    f"the request body did not arrive whole within {self._limits.body_timeout:g} s"
                )
            else:
                why = (
                    f"no byte of the request body arrived for {self._limits.body_idle_timeout:g} s"
                )
            body.set_exception(RequestTimeout(why))
        self._set_deadline(self._limits.body_idle_timeout)


class AcceptErrorThrottle:
    """A loop exception handler: accept() failures are logged at most once per
    ``interval`` seconds, with how many there were; everything else goes on to the handler
    that was there before."""

    def __init__(
        self,
        interval: float,
        previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._previous = previous
        self._clock = clock
        self._last: float | None = None
        self._held = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not is_accept_error(context):
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        self._held += 1
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        exc = context.get("exception")
        reason = os_error_text(exc) if isinstance(exc, OSError) else type(exc).__name__
        log.error(
            "accept() failed %d time(s) in the last %g s: %s; new connections wait in the "
            "backlog until descriptors free up (raise ulimit -n or lower connections.max)",
            self._held,
            self.interval,
            reason,
        )
        self._held = 0


def is_accept_error(context: dict[str, Any]) -> bool:
    exc = context.get("exception")
    message = str(context.get("message", ""))
    if "accept" in message.lower():
        return True
    return isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS and "socket" in context


def os_error_text(exc: OSError) -> str:
    if exc.errno is None:
        return type(exc).__name__
    return f"{errno.errorcode.get(exc.errno, exc.errno)} ({exc.strerror or ''})"


def install_accept_error_throttle(loop: asyncio.AbstractEventLoop, interval: float) -> None:
    """Put an ``AcceptErrorThrottle`` in front of the loop's exception handler, once."""
    current = loop.get_exception_handler()
    if isinstance(current, AcceptErrorThrottle):
        return
    loop.set_exception_handler(AcceptErrorThrottle(interval, current))


def open_file_limit() -> int:
    """The process's descriptor limit, first raised to the hard limit (as Go's runtime
    does): the soft default of 1024 is a compatibility relic, not a budget."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft and (hard == resource.RLIM_INFINITY or hard > soft):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            log.debug("could not raise the open file limit to %s", hard)
    return UNLIMITED_FDS if soft == resource.RLIM_INFINITY else soft


def default_max_connections(open_files: int, fds_per_connection: int, reserved: int) -> int:
    """Connections that fit in ``open_files`` descriptors when each costs
    ``fds_per_connection`` (the client's, the upstream's, the built-in sandbox's) and
    ``reserved`` more are kept for everything else."""
    spare = open_files - RESERVED_FDS - reserved
    return max(FEWEST_CONNECTIONS, spare // fds_per_connection)


def connection_caps(limits: ConnectionLimits, *, embedded_sandbox: bool) -> tuple[int, int]:
    """The caps of the main and the admin listener; ``max: auto`` from the fd limit."""
    main = limits.max_connections
    if main is None:
        per_connection = 3 if embedded_sandbox else 2
        main = default_max_connections(
            open_file_limit(), per_connection, limits.admin_max_connections
        )
    return main, limits.admin_max_connections


class GuardedSite(web.SockSite):
    """A listening socket whose connections are ``GuardedRequestHandler``s behind one gate."""

    __slots__ = ("gate", "limits")

    def __init__(
        self, runner: web.BaseRunner, sock: socket.socket, limits: ConnectionLimits, cap: int
    ) -> None:
        super().__init__(runner, sock, backlog=1024)
        self.limits = limits
        self.gate = ConnectionGate(cap)

    async def start(self) -> None:
        # BaseSite.start registers the site with its runner; SockSite's own start would
        # serve with aiohttp's plain protocol.
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None, "runner.setup() was not awaited"
        install_accept_error_throttle(loop, self.limits.accept_error_log_seconds)

        # The runner's handler settings (access log, parser limits) stay in force; the
        # keep-alive deadline is the limits' own.
        handler_kwargs = {**getattr(server, "_kwargs", {})}
        handler_kwargs.pop("keepalive_timeout", None)

        def protocol() -> GuardedRequestHandler:
            return GuardedRequestHandler(
                server, loop=loop, gate=self.gate, limits=self.limits, **handler_kwargs
            )

        self._server = await loop.create_server(protocol, sock=self._sock, backlog=self._backlog)


async def start_guarded_site(
    runner: web.BaseRunner, sock: socket.socket, limits: ConnectionLimits, cap: int
) -> GuardedSite:
    """Serve ``runner`` (set up) on ``sock`` with ``limits`` and at most ``cap`` connections."""
    site = GuardedSite(runner, sock, limits, cap)
    await site.start()
    log.info(
        "%s: at most %d connections; head %g s, body idle %g s, keep-alive %g s",
        site.name,
        cap,
        limits.header_timeout,
        limits.body_idle_timeout,
        limits.keepalive_timeout,
    )
    return site


async def serve_until_signalled(
    app: web.Application, sock: socket.socket, limits: ConnectionLimits, cap: int
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM, then drain (the sandbox's loop)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await start_guarded_site(runner, sock, limits, cap)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
