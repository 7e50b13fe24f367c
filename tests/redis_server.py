"""A real Redis for tests.

``REDIS_URL`` from the environment when set (possibly shared: never flush it, use keys of
your own); otherwise a private ``redis-server`` from PATH on a free port, without
persistence, stopped at teardown. With neither, tests that need Redis are skipped.

Import it as ``tests.redis_server``; the ``redis_url`` fixture in ``tests/conftest.py``
wraps ``redis_url()`` for a whole session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fakeredis
import pytest
import redis.asyncio

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0


class RedisUnavailable(Exception):
    """No redis-server binary, or it did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def with_query(url: str, query: str) -> str:
    """``url`` with ``query`` ("a=1&b=2") appended to whatever query it already has."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


# For tests about counting, not latency: a loaded test machine must not fail them.
PATIENT = "socket_timeout=5&connect_timeout=5"


def unique_app(prefix: str = "test") -> str:
    """An app name no other test uses: its keys form a key space of their own."""
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass
class RedisServer:
    """A redis-server process this test run started and must stop."""

    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        shutil.rmtree(self.directory, ignore_errors=True)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis_server(
    port: int | None = None, *, timeout: float = START_TIMEOUT_SECONDS
) -> RedisServer:
    """Start ``redis-server`` on 127.0.0.1 (a free port unless given); return once it
    answers PING. Raises ``RedisUnavailable`` when it cannot.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable("redis-server is not on PATH")
    port = free_port() if port is None else port
    directory = Path(tempfile.mkdtemp(prefix="redis-test-"))
    # Fixed arguments, binary from PATH: this runs a test server, not user input.
    process = subprocess.Popen(
        [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = RedisServer(port=port, process=process, directory=directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RedisUnavailable(f"redis-server exited with {process.returncode} on {port}")
        if _answers_ping(port):
            return server
        # Polling a local process that is starting up; the deadline bounds the wait.
        time.sleep(0.02)
    server.stop()
    raise RedisUnavailable(f"redis-server did not answer PING on {port} within {timeout} s")


# The backends a shared-state test runs on: this process's memory, fakeredis, a real Redis.
BACKENDS = ["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)]


def backend_client(request: pytest.FixtureRequest) -> redis.asyncio.Redis:
    """A client on the Redis-like backend ``request.param`` names: a fakeredis server of its
    own, or the real Redis of the ``redis_url`` fixture."""
    if request.param == "fakeredis":
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    return redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))


@contextlib.contextmanager
def pausable_redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which the test may pause with SIGSTOP: resumed,
    then stopped, at the end. Skips the test when redis-server is missing."""
    try:
        server = start_redis_server()
    except RedisUnavailable as exc:
        pytest.skip(f"needs redis-server on PATH: {exc}")
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGCONT)
        server.stop()


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` if set, else the URL of a private server for the ``with`` block.

    Skips the calling test (or fixture) when neither is possible.
    """
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    try:
        server = start_redis_server()
    except RedisUnavailable as exc:
        pytest.skip(f"needs a real Redis: REDIS_URL is not set and {exc}")
    try:
        yield server.url
    finally:
        server.stop()
