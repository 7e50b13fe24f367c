"""Clients that never finish: every listener bounds how long a request head, a request body
and an idle connection may take, and how many connections are open; an upstream that
streams forever ends at upstream_timeout whatever the caller does.

Raw sockets throughout: an HTTP client would finish its requests and read its responses.
Timeouts are configured short so each attack is cut within a few seconds; every wait is
bounded well past the configured limit, so these tests check that a limit holds, not how
fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.http.admin import build_admin_app
from gateway.server.listener import GuardedSite, connection_caps, start_guarded_site
from gateway.settings.connections import ConnectionLimits
from gateway.settings.loader import load_settings
from tests.functional.cli_process import LISTENING, START_SECONDS, STOP_SECONDS, clean_env
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.serve_process import stderr_lines

ServerFactory = Callable[..., Awaitable[TestServer]]
HOST = "127.0.0.1"
ACLS = "/rest/organizationAcls?q=roleAssignee"
# Far past every limit configured below: a wait that reaches it means the limit did not hold.
BOUND = 15.0


@dataclass
class Gateway:
    port: int
    site: GuardedSite


@asynccontextmanager
async def gateway(
    tmp_path: Path, upstream: str, connections: dict[str, Any], *, upstream_timeout: float = 3
) -> AsyncIterator[Gateway]:
    """The gateway on a real socket of its own, served the way ``serve`` serves it."""
    text = gateway_yaml(
        upstream, upstream_timeout=upstream_timeout, extra=f"connections: {json.dumps(connections)}"
    )
    settings = load_settings(write_config(tmp_path, text), environ={})
    runner = web.AppRunner(build_gateway_app(settings), access_log=None)
    await runner.setup()
    sock = socket.create_server((HOST, 0))
    cap, _ = connection_caps(settings.connections, embedded_sandbox=False)
    site = await start_guarded_site(runner, sock, settings.connections, cap)
    try:
        yield Gateway(sock.getsockname()[1], site)
    finally:
        await runner.cleanup()


Limited = Callable[[dict[str, Any]], contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def limited(tmp_path: Path, sandbox: TestServer) -> Limited:
    """The gateway in front of the sandbox, under the given ``connections`` limits."""
    return lambda limits: gateway(tmp_path, str(sandbox.make_url("")), limits)


def get(path: str = ACLS, token: str = member_token(0)) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n"
        "LinkedIn-Version: 202505\r\n\r\n"
    ).encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND)
    status, headers = parse_head(head)
    length = int(headers["content-length"])
    return status, headers, await asyncio.wait_for(reader.readexactly(length), BOUND)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ", 2)[1]), headers


def parse_refusal(data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no complete response in {data[:200]!r}"
    status, headers = parse_head(head)
    return status, headers, json.loads(body[: int(headers["content-length"])])


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the peer sends until it closes (or resets) the connection."""
    chunks = []
    try:
        while chunk := await reader.read(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(HOST, port), BOUND)


async def eventually(check: Callable[[], bool]) -> None:
    """Wait (bounded) for the gateway to have taken in what the test sent."""

    async def poll() -> None:
        # The state is the server's, seen from outside: there is nothing to await but time.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), BOUND)


def assert_refusal(data: bytes, status: int, reason: str, *, says_close: bool = True) -> None:
    """``data`` (all a connection got before it closed) is one LinkedIn-shaped refusal."""
    got, headers, body = parse_refusal(data)
    assert (got, headers["x-gateway-reason"]) == (status, reason), data[:300]
    if says_close:  # answered by the listener itself, not by a handler
        assert headers["connection"] == "close"
    assert body["status"] == status and set(body) >= {"status", "code", "message"}


async def test_a_head_sent_one_line_a_second_is_cut_at_the_header_deadline(
    limited: Limited,
) -> None:
    lines = [f"GET {ACLS} HTTP/1.1\r\n".encode()] + [
        f"X-Line-{i}: {i}\r\n".encode() for i in range(12)
    ]
    async with limited({"header_timeout": 2}) as gw:
        reader, writer = await connect(gw.port)
        answer = asyncio.create_task(until_closed(reader))
        sent = 0
        for line in lines:
            if answer.done():
                break
            try:
                writer.write(line)
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            # The attack's pace: one header line a second, each well inside any idle limit.
            await asyncio.wait({answer}, timeout=1.0)
        data = await asyncio.wait_for(answer, BOUND)
        writer.close()

    assert sent < len(lines), "the whole trickle went in: nothing cut the head"
    assert_refusal(data, 408, "request_timeout")


async def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline(
    limited: Limited,
) -> None:
    async with limited({"header_timeout": 1}) as gw:
        reader, writer = await connect(gw.port)
        data = await asyncio.wait_for(until_closed(reader), BOUND)
        writer.close()

    assert data == b""


async def test_an_idle_keep_alive_connection_is_closed_after_keepalive_timeout(
    limited: Limited,
) -> None:
    limits = {"keepalive_timeout": 1, "header_timeout": 30}
    async with limited(limits) as gw:
        reader, writer = await connect(gw.port)
        for _ in range(2):  # the connection is reused while it is not idle too long
            writer.write(get())
            status, _, body = await read_response(reader)
            assert status == 200, body
        data = await asyncio.wait_for(until_closed(reader), BOUND)
        writer.close()

    assert data == b""


async def test_a_stalled_form_body_gets_408_and_the_connection_closes(limited: Limited) -> None:
    limits = {"body_idle_timeout": 1, "header_timeout": 30}
    async with limited(limits) as gw:
        reader, writer = await connect(gw.port)
        writer.write(
            b"POST /oauth/refresh HTTP/1.1\r\nHost: gw\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
            b"app=social&refresh_token="
        )
        data = await asyncio.wait_for(until_closed(reader), BOUND)
        writer.close()

    assert_refusal(data, 408, "request_timeout", says_close=False)


async def test_a_body_trickling_within_its_idle_timeout_still_ends_at_its_whole_deadline(
    limited: Limited,
) -> None:
    # One byte every 0.2 s never trips the idle deadline; 200 bytes would take 40 s.
    limits = {"body_idle_timeout": 1, "body_timeout": 1.5, "header_timeout": 30}
    async with limited(limits) as gw:
        reader, writer = await connect(gw.port)
        writer.write(
            b"POST /oauth/refresh HTTP/1.1\r\nHost: gw\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
        )

        async def trickle() -> None:
            with contextlib.suppress(ConnectionError):
                for _ in range(200):
                    writer.write(b"a")
                    await writer.drain()
                    await asyncio.sleep(0.2)

        started = time.monotonic()
        trickling = asyncio.create_task(trickle())
        try:
            data = await asyncio.wait_for(until_closed(reader), BOUND)
        finally:
            trickling.cancel()
            writer.close()
        took = time.monotonic() - started

    assert_refusal(data, 408, "request_timeout", says_close=False)
    assert b"did not arrive whole within 1.5 s" in data
    assert took < 10


async def test_a_body_stalling_on_its_way_upstream_gets_408_and_costs_no_quota(
    limited: Limited,
) -> None:
    limits = {"body_idle_timeout": 1, "header_timeout": 30}
    token = member_token(1)
    async with limited(limits) as gw:
        reader, writer = await connect(gw.port)
        writer.write(
            f"POST /rest/posts HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n"
            "LinkedIn-Version: 202505\r\nContent-Type: application/json\r\n"
            'Content-Length: 300\r\n\r\n{"author": "urn:li:organization:1", '.encode()
        )
        data = await asyncio.wait_for(until_closed(reader), BOUND)
        writer.close()
        status, headers, body = parse_refusal(data)
        assert (status, headers["x-gateway-reason"]) == (408, "request_timeout"), data[:300]
        assert body["code"] == "REQUEST_TIMEOUT"

        reader, writer = await connect(gw.port)
        writer.write(get(token=token))
        status, headers, _ = await read_response(reader)
        writer.close()
    # The member's 10 calls a day: the stalled call was refunded, this one is the first.
    assert status == 200 and headers["x-ratelimit-remaining"] == "9"


async def test_the_connection_cap_refuses_extra_connections_and_real_calls_still_pass(
    limited: Limited,
) -> None:
    limits = {"max": 4, "header_timeout": 30, "keepalive_timeout": 30}
    async with limited(limits) as gw:
        gate = gw.site.gate
        # Four connections in the middle of a request head: each holds a slot.
        hogs = [await connect(gw.port) for _ in range(4)]
        for _, writer in hogs:
            writer.write(f"GET {ACLS} HTTP/1.1\r\n".encode())
        await eventually(lambda: len(gate) == 4 and gate.idle_count == 0)

        reader, writer = await connect(gw.port)
        refused = await asyncio.wait_for(until_closed(reader), BOUND)
        writer.close()
        assert_refusal(refused, 503, "connection_limit")
        assert gate.refused == 1

        # One hog finishes its request: it gets its answer and turns idle.
        first_reader, first_writer = hogs[0]
        first_writer.write(get()[len(f"GET {ACLS} HTTP/1.1\r\n") :])
        status, _, body = await read_response(first_reader)
        assert status == 200, body
        await eventually(lambda: gate.idle_count == 1)

        # A real call takes the idle connection's place.
        reader, writer = await connect(gw.port)
        writer.write(get(token=member_token(2)))
        status, _, body = await read_response(reader)
        assert status == 200, body
        writer.close()
        assert await asyncio.wait_for(until_closed(first_reader), BOUND) == b""
        assert gate.evicted == 1
        for _, hog in hogs:
            hog.close()


async def test_idle_connections_cannot_keep_real_calls_out(limited: Limited) -> None:
    limits = {"max": 4, "header_timeout": 30}
    async with limited(limits) as gw:
        idle = [await connect(gw.port) for _ in range(4)]
        await eventually(lambda: gw.site.gate.idle_count == 4)
        callers = []
        for i in range(3):
            reader, writer = await connect(gw.port)
            writer.write(get(token=member_token(i)))
            status, _, body = await read_response(reader)
            assert status == 200, body
            callers.append(writer)  # kept open: each call needs a slot of its own
        # The connections idle the longest made room, oldest first.
        closed = [await asyncio.wait_for(until_closed(r), BOUND) for r, _ in idle[:3]]
        assert closed == [b""] * 3
        assert gw.site.gate.evicted == 3
        for writer in [*callers, *(w for _, w in idle)]:
            writer.close()


class EndlessUpstream:
    """An upstream whose chunked response never ends; ``gone`` is set when the gateway
    lets go of the connection."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        return f"http://{HOST}:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunk = b"x" * 16384
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            while True:
                writer.write(framed)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.gone.set()
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_an_endless_upstream_response_ends_at_upstream_timeout_for_a_stalled_reader(
    tmp_path: Path,
) -> None:
    upstream = EndlessUpstream()
    base = await upstream.start()
    try:
        async with gateway(
            tmp_path, base, {"header_timeout": 30, "body_idle_timeout": 30}, upstream_timeout=2
        ) as gw:
            sock = socket.socket()
            # A small window: the caller takes the response as slowly as it can.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await asyncio.wait_for(
                asyncio.get_running_loop().sock_connect(sock, (HOST, gw.port)), BOUND
            )
            reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
            writer.write(get())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND)
            assert parse_head(head)[0] == 200
            # The caller reads nothing more; the gateway must still let go of the upstream.
            await asyncio.wait_for(upstream.gone.wait(), BOUND)
            rest = await asyncio.wait_for(until_closed(reader), BOUND)
            writer.close()
    finally:
        await upstream.close()

    assert not rest.endswith(b"0\r\n\r\n"), "a response cut at the deadline must not look whole"


async def test_the_admin_listener_is_bounded_too(tmp_path: Path, sandbox: TestServer) -> None:
    text = gateway_yaml(str(sandbox.make_url("")), extra='connections: {"header_timeout": 1}')
    settings = load_settings(write_config(tmp_path, text), environ={})
    gateway_app = build_gateway_app(settings)
    main = web.AppRunner(gateway_app, access_log=None)
    await main.setup()
    admin = web.AppRunner(build_admin_app(gateway_app), access_log=None)
    await admin.setup()
    sock = socket.create_server((HOST, 0))
    _, admin_cap = connection_caps(settings.connections, embedded_sandbox=False)
    try:
        await start_guarded_site(admin, sock, settings.connections, admin_cap)
        reader, writer = await connect(sock.getsockname()[1])
        writer.write(b"GET /metrics HTTP/1.1\r\n")
        data = await asyncio.wait_for(until_closed(reader), BOUND)
        writer.close()
    finally:
        await admin.cleanup()
        await main.cleanup()

    assert_refusal(data, 408, "request_timeout")


def serve_process(
    tmp_path: Path, connections: dict[str, Any], *, open_files: int | None = None
) -> tuple[subprocess.Popen[str], int, int, queue.Queue[str | None]]:
    """``linkedin-gateway serve`` as a process of its own (optionally with a lower
    RLIMIT_NOFILE); its main and admin ports and its stderr, line by line."""
    admin = socket.create_server((HOST, 0))
    admin_port = admin.getsockname()[1]
    admin.close()
    text = gateway_yaml("sandbox", extra=f"connections: {json.dumps(connections)}").replace(
        "admin_listen: null", f"admin_listen: {HOST}:{admin_port}"
    )
    path = write_config(tmp_path, text)
    limit = f"resource.setrlimit(resource.RLIMIT_NOFILE, ({open_files}, {open_files}))"
    code = (
        "import resource, sys\n"
        + (limit + "\n" if open_files else "")
        + "from gateway.cli import main\n"
        + f"sys.exit(main(['serve', '--config', {path!r}]))\n"
    )
    env = clean_env(GATEWAY_EVENT_LOOP="asyncio")
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines, _ = stderr_lines(proc)
    while True:
        line = lines.get(timeout=START_SECONDS)
        assert line is not None, "serve exited before listening"
        found = LISTENING.search(line)
        if found:
            return proc, int(found["port"]), admin_port, lines


def stop(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> list[str]:
    """SIGTERM, wait, and every stderr line the process wrote."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=STOP_SECONDS)
    out = []
    while (line := lines.get(timeout=STOP_SECONDS)) is not None:
        out.append(line)
    assert proc.stderr is not None
    proc.stderr.close()
    return out


async def test_serve_bounds_both_of_its_listeners(tmp_path: Path) -> None:
    proc, port, admin_port, lines = serve_process(tmp_path, {"header_timeout": 1})
    try:
        for listener in (port, admin_port):
            reader, writer = await connect(listener)
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            data = await asyncio.wait_for(until_closed(reader), BOUND)
            writer.close()
            assert_refusal(data, 408, "request_timeout")
    finally:
        stop(proc, lines)


async def test_accept_errors_are_logged_once_per_interval(tmp_path: Path) -> None:
    """asyncio's loop reports every accept() that fails for want of descriptors: with 64 of
    them and a cap set above that, a burst of connections made hundreds of lines a second.
    (uvloop's libuv sheds such connections itself and reports nothing.)"""
    proc, port, _, lines = serve_process(
        tmp_path, {"max": 5000, "accept_error_log_seconds": 3600}, open_files=64
    )
    seen: list[str] = []
    try:
        flood = [socket.create_connection((HOST, port), timeout=BOUND) for _ in range(150)]
        while not any("accept()" in line for line in seen):
            line = await asyncio.to_thread(lines.get, timeout=BOUND)
            assert line is not None, "serve exited"
            seen.append(line)
        for sock in flood:
            sock.close()
        # Descriptors free again: a real call gets through.
        reader, writer = await connect(port)
        writer.write(get())
        status, _, body = await read_response(reader)
        writer.close()
        assert status == 200, body
    finally:
        seen += stop(proc, lines)

    accept_lines = [line for line in seen if "accept()" in line]
    assert len(accept_lines) == 1, "".join(accept_lines[:5])
    assert "EMFILE" in accept_lines[0]


@pytest.mark.slow
async def test_the_sandbox_command_bounds_its_listener_with_the_defaults() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "sandbox",
        "--port",
        "0",
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), START_SECONDS)
        # "LinkedIn sandbox listening on http://127.0.0.1:PORT (APIs at ...)"
        port = int(first.decode().split(" (", 1)[0].rsplit(":", 1)[1])
        reader, writer = await connect(port)
        writer.write(b"GET /rest/me HTTP/1.1\r\n")
        data = await asyncio.wait_for(
            until_closed(reader), ConnectionLimits().header_timeout + BOUND
        )
        writer.close()
        assert_refusal(data, 408, "request_timeout")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), STOP_SECONDS) == 0
