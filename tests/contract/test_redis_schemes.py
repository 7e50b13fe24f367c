"""The store on every URL form its fast client speaks: a password, a Unix socket, TLS.

Each test starts a private ``redis-server`` with the options it needs (skipped without
one; the TLS test also needs ``openssl`` and a server built with TLS).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from tests.redis_server import PATIENT, free_port, unique_app, with_query

pytestmark = pytest.mark.redis

NOW = 1_702_083_600.25
START_SECONDS = 10.0
PASSWORD = "pw-7f3a"  # a throw-away test server's password


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="redis-scheme-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_server(workdir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Servers started by ``run_server``; stopped at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run_server(started: list[subprocess.Popen[bytes]], workdir: Path, *options: str) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server on PATH")
    base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    process = subprocess.Popen(
        [binary, *base, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    started.append(process)


async def ready_store(url: str, started: list[subprocess.Popen[bytes]]) -> RedisStore:
    """The store for ``url`` once its server answers PING through it."""
    store = RedisStore.from_url(with_query(url, PATIENT))
    assert store.resp is not None, "the fast client should speak this URL"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while True:
        try:
            await store.ping()
            return store
        except StoreError:
            if started[-1].poll() is not None:
                await store.close()
                pytest.skip(f"redis-server exited with {started[-1].returncode}")
            if loop.time() > deadline:
                await store.close()
                raise
            # Polling a local server that is starting; the deadline bounds the wait.
            await asyncio.sleep(0.05)


async def counts_exactly(store: RedisStore) -> None:
    app = unique_app("scheme")
    bucket = BucketSpec("app", bucket_key(app, "app"), 3, Window.ROLLING_24H)
    outcomes = await asyncio.gather(*(store.consume([bucket], NOW) for _ in range(10)))
    assert sum(o.admitted for o in outcomes) == 3
    assert [s.used for s in await store.peek([bucket], NOW)] == [3]


async def test_a_password_and_a_database_over_a_unix_socket(
    workdir: Path, start_server: list[subprocess.Popen[bytes]]
) -> None:
    socket = workdir / "redis.sock"
    run_server(
        start_server, workdir, "--port", "0", "--unixsocket", str(socket),
        "--requirepass", PASSWORD,
    )  # fmt: skip
    store = await ready_store(f"unix://:{PASSWORD}@{socket}?db=3", start_server)
    try:
        await counts_exactly(store)
        info = await store.client.client_info()
        assert info["db"] == 3
    finally:
        await store.close()


async def test_a_wrong_password_is_a_store_error_that_hides_it(
    workdir: Path, start_server: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    run_server(start_server, workdir, "--port", str(port), "--requirepass", PASSWORD)
    good = await ready_store(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", start_server)
    await good.close()
    store = RedisStore.from_url(f"redis://:not-{PASSWORD}@127.0.0.1:{port}/0")
    try:
        with pytest.raises(StoreError, match="WRONGPASS") as caught:
            await store.ping()
    finally:
        await store.close()

    assert PASSWORD not in str(caught.value)


@pytest.fixture
def tls_cert(workdir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs openssl to make a certificate")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_tls_with_the_servers_own_ca(
    workdir: Path, start_server: list[subprocess.Popen[bytes]], tls_cert: tuple[Path, Path]
) -> None:
    cert, key = tls_cert
    port = free_port()
    run_server(
        start_server, workdir, "--port", "0", "--tls-port", str(port),
        "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
    )  # fmt: skip
    store = await ready_store(f"rediss://localhost:{port}/0?ssl_ca_certs={cert}", start_server)
    try:
        await counts_exactly(store)
    finally:
        await store.close()

    # Another CA's view: the certificate is not trusted, so nothing is sent.
    untrusted = RedisStore.from_url(f"rediss://localhost:{port}/0")
    try:
        with pytest.raises(StoreError, match="SSL"):
            await untrusted.ping()
    finally:
        await untrusted.close()
