"""The pipelined client: its URLs, its wire, its failures, and a real Redis."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import pytest

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import CONSUME, RedisStore
from gateway.quota.resp import LuaScript, ProtocolError, Reply, ReplyError, encode_command
from gateway.quota.resp_client import Endpoint, RespClient, endpoint_from_url
from tests.fake_tcp import listening
from tests.redis_server import free_port, unique_app

ECHO_INCR = LuaScript(
    "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return {ARGV[1], n}"
)
FAST = 0.3


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:6380/2", Endpoint(host="h", port=6380, db=2)),
        ("redis://h", Endpoint(host="h")),
        ("REDIS://h/", Endpoint(host="h")),
        ("redis://:p%40ss@h/0", Endpoint(host="h", password="p@ss")),
        ("redis://u:pw@h/1", Endpoint(host="h", username="u", password="pw", db=1)),
        ("redis://h/0?db=3&max_connections=8&timeout=2", Endpoint(host="h", db=3)),
        ("redis://[::1]:7000/0", Endpoint(host="::1", port=7000)),
        (
            "unix:///run/redis/r.sock?db=4&password=x",
            Endpoint(path="/run/redis/r.sock", password="x", db=4),
        ),
        (
            "unix://u:pw@/var/run/r.sock",
            Endpoint(path="/var/run/r.sock", username="u", password="pw"),
        ),
    ],
)
def test_plain_urls_name_the_endpoint(url: str, expected: Endpoint) -> None:
    assert endpoint_from_url(url) == expected


@pytest.mark.parametrize(
    ("query", "verify", "check_hostname"),
    [
        ("", ssl.CERT_REQUIRED, True),
        ("?ssl_cert_reqs=required&ssl_check_hostname=false", ssl.CERT_REQUIRED, False),
        ("?ssl_cert_reqs=optional", ssl.CERT_OPTIONAL, False),
        ("?ssl_cert_reqs=none", ssl.CERT_NONE, False),
    ],
)
def test_rediss_urls_get_a_tls_context(
    query: str, verify: ssl.VerifyMode, check_hostname: bool
) -> None:
    endpoint = endpoint_from_url(f"rediss://cache.example:6390/1{query}")

    assert endpoint is not None
    assert (endpoint.host, endpoint.port, endpoint.db) == ("cache.example", 6390, 1)
    assert endpoint.tls is not None
    assert (endpoint.tls.verify_mode, endpoint.tls.check_hostname) == (verify, check_hostname)


@pytest.mark.parametrize(
    "url",
    [
        "redis://h/0?health_check_interval=5",
        "redis://h/0?ssl_cert_reqs=none",
        "unix:///var/run/r.sock?socket_keepalive=true",
        "memcached://h:11211",
    ],
)
def test_urls_with_options_it_does_not_know_are_declined(url: str) -> None:
    assert endpoint_from_url(url) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h/abc", "database 'abc'"),
        ("redis://h/0?db=-1", "database '-1'"),
        ("rediss://h/0?ssl_cert_reqs=maybe", "ssl_cert_reqs='maybe'"),
        ("rediss://h/0?ssl_check_hostname=perhaps", "ssl_check_hostname='perhaps'"),
        ("unix://?db=1", "without a socket path"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        endpoint_from_url(url)


def test_an_endpoint_never_shows_its_password() -> None:
    endpoint = endpoint_from_url("redis://u:hunter2@h:6379/0")

    assert endpoint is not None
    assert "hunter2" not in repr(endpoint)
    assert "h:6379" in repr(endpoint)


# --- a scripted fake server: what the client writes, and replies of our choosing ---------


@dataclass
class FakeRedis:
    """Accepts connections; answers the n-th read of a connection with ``replies[n]``, then
    reads on without answering (or closes after its first read).
    """

    replies: list[bytes] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    accepted: int = 0
    close_after_read: bool = False
    port: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        for reply in [*self.replies, None]:
            data = await reader.read(65_536)
            if not data:
                return
            self.received.append(data)
            if self.close_after_read:
                writer.close()
                return
            if reply is None:
                break
            writer.write(reply)
            await writer.drain()
        while data := await reader.read(65_536):
            self.received.append(data)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRedis]:
    async with listening(FakeRedis()) as made:
        yield made


def client_for(url: str, *, connections: int = 1, timeout: float = FAST) -> RespClient:
    endpoint = endpoint_from_url(url)
    assert endpoint is not None
    return RespClient(
        endpoint, socket_timeout=timeout, connect_timeout=timeout, connections=connections
    )


async def outcomes_of(calls: list[Awaitable[Reply]]) -> list[Reply | BaseException]:
    """Every call's reply or exception, bounded so a hung test fails instead of hanging."""

    async def gathered() -> list[Reply | BaseException]:
        return list(await asyncio.gather(*calls, return_exceptions=True))

    return await asyncio.wait_for(gathered(), 10)


async def within(seconds: float, call: Awaitable[object]) -> float:
    started = time.monotonic()
    await asyncio.wait_for(call, seconds * 4)
    elapsed = time.monotonic() - started
    assert elapsed < seconds
    return elapsed


async def test_login_and_select_are_sent_first_in_one_write(fake: FakeRedis) -> None:
    fake.replies = [b"+OK\r\n+OK\r\n", b"+PONG\r\n"]
    client = client_for(f"redis://app:s3cret@127.0.0.1:{fake.port}/5")
    try:
        assert await client.call(encode_command(["PING"])) == "PONG"
    finally:
        await client.close()

    assert fake.received == [
        encode_command(["AUTH", "app", "s3cret"]) + encode_command(["SELECT", 5]),
        encode_command(["PING"]),
    ]


async def test_db_zero_without_password_sends_the_command_alone(fake: FakeRedis) -> None:
    fake.replies = [b":1\r\n"]
    client = client_for(f"redis://127.0.0.1:{fake.port}")
    try:
        assert await client.call(encode_command(["EXISTS", "k"])) == 1
    finally:
        await client.close()

    assert fake.received == [encode_command(["EXISTS", "k"])]


async def test_a_refused_login_fails_the_call_without_the_password(fake: FakeRedis) -> None:
    fake.replies = [b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"]
    client = client_for(f"redis://:hunter2@127.0.0.1:{fake.port}/0")
    try:
        with pytest.raises(ReplyError, match="WRONGPASS") as caught:
            await client.call(encode_command(["PING"]))
    finally:
        await client.close()

    assert "hunter2" not in str(caught.value)


async def test_a_silent_server_times_out_every_waiting_call_then_reconnects(
    fake: FakeRedis,
) -> None:
    client = client_for(f"redis://127.0.0.1:{fake.port}/0")
    try:
        started = time.monotonic()
        outcomes = await outcomes_of([client.call(encode_command(["PING"])) for _ in range(5)])
        assert FAST * 0.9 < time.monotonic() - started < FAST * 3
        assert [type(o) for o in outcomes] == [TimeoutError] * 5
        assert fake.accepted == 1

        again = await outcomes_of([client.call(encode_command(["PING"]))])
        assert [type(o) for o in again] == [TimeoutError]
        assert fake.accepted == 2
    finally:
        await client.close()


async def test_a_login_without_answer_fails_at_the_connect_timeout(fake: FakeRedis) -> None:
    endpoint = endpoint_from_url(f"redis://127.0.0.1:{fake.port}/1")
    assert endpoint is not None
    client = RespClient(endpoint, socket_timeout=5, connect_timeout=FAST)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=f"no connection to Redis within {FAST:g} s"):
            await asyncio.wait_for(client.call(encode_command(["PING"])), 5)
        assert time.monotonic() - started < 2 * FAST
    finally:
        await client.close()

    assert fake.received == [encode_command(["SELECT", 1])]


async def test_a_reset_fails_the_waiting_calls_fast(fake: FakeRedis) -> None:
    fake.close_after_read = True
    client = client_for(f"redis://127.0.0.1:{fake.port}/0", timeout=5)
    try:
        started = time.monotonic()
        outcomes = await outcomes_of([client.call(encode_command(["PING"])) for _ in range(3)])
        assert time.monotonic() - started < 1.0
        assert [type(o) for o in outcomes] == [ConnectionError] * 3
    finally:
        await client.close()


async def test_garbage_from_the_server_is_a_protocol_error(fake: FakeRedis) -> None:
    fake.replies = [b"HTTP/1.1 400 Bad Request\r\n"]
    client = client_for(f"redis://127.0.0.1:{fake.port}/0")
    try:
        with pytest.raises(ProtocolError):
            await client.call(encode_command(["PING"]))
    finally:
        await client.close()


async def test_a_closed_port_fails_at_once() -> None:
    client = client_for(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(ConnectionRefusedError):
            await within(FAST, client.call(encode_command(["PING"])))
    finally:
        await client.close()


async def test_a_closed_client_refuses_calls(fake: FakeRedis) -> None:
    client = client_for(f"redis://127.0.0.1:{fake.port}/0", timeout=5)
    waiting = asyncio.ensure_future(client.call(encode_command(["PING"])))
    await asyncio.sleep(0.05)

    await client.close()

    with pytest.raises(ConnectionError, match="closed"):
        await waiting
    with pytest.raises(ConnectionError, match="closed"):
        await client.call(encode_command(["PING"]))


# --- a real Redis ------------------------------------------------------------------------


@pytest.fixture
async def real(redis_url: str) -> AsyncIterator[RespClient]:
    client = client_for(redis_url, timeout=5)
    try:
        yield client
    finally:
        await client.close()


async def client_id(client: RespClient) -> int:
    reply = await client.call(encode_command(["CLIENT", "ID"]))
    assert isinstance(reply, int)
    return reply


def pair(reply: Reply) -> tuple[bytes, int]:
    """ECHO_INCR's reply: the caller's ARGV[1] and the count."""
    assert isinstance(reply, list)
    echoed, count = reply
    assert isinstance(echoed, bytes)
    assert isinstance(count, int)
    return echoed, count


pytest_redis = pytest.mark.redis


@pytest_redis
async def test_a_thousand_concurrent_scripts_share_one_connection(real: RespClient) -> None:
    key = f"test:resp:{{{uuid.uuid4().hex}}}:n"
    before = await client_id(real)

    replies = await asyncio.gather(
        *(real.call(ECHO_INCR.eval([key], [f"caller-{i}"])) for i in range(1000))
    )

    # Each caller gets its own reply (its ARGV echoed back), every count once.
    pairs = [pair(reply) for reply in replies]
    assert [echoed for echoed, _ in pairs] == [f"caller-{i}".encode() for i in range(1000)]
    assert sorted(count for _, count in pairs) == list(range(1, 1001))
    assert await client_id(real) == before


@pytest_redis
async def test_evalsha_answers_noscript_until_the_script_is_loaded(real: RespClient) -> None:
    script = LuaScript(f"return '{uuid.uuid4().hex}'")
    key = f"test:resp:{{{uuid.uuid4().hex}}}:n"

    with pytest.raises(ReplyError) as caught:
        await real.call(script.evalsha([key], []))
    assert caught.value.code == "NOSCRIPT"
    loaded = await real.call(encode_command(["SCRIPT", "LOAD", script.text]))
    answer = await real.call(script.evalsha([key], []))

    assert loaded == script.sha.encode()
    assert answer == script.text.split("'")[1].encode()


@pytest_redis
async def test_an_error_reply_leaves_the_connection_usable(real: RespClient) -> None:
    before = await client_id(real)

    with pytest.raises(ReplyError, match="unknown command"):
        await real.call(encode_command(["NO-SUCH-COMMAND"]))

    assert await real.call(encode_command(["PING"])) == "PONG"
    assert await client_id(real) == before


@pytest_redis
async def test_cancelled_callers_do_not_shift_the_replies(real: RespClient) -> None:
    key = f"test:resp:{{{uuid.uuid4().hex}}}:n"
    await client_id(real)  # connected: the calls below are all written before any reply
    tasks = [asyncio.ensure_future(real.call(ECHO_INCR.eval([key], [f"c{i}"]))) for i in range(50)]
    await asyncio.sleep(0)
    for task in tasks[::3]:
        task.cancel()

    done = await asyncio.gather(*tasks, return_exceptions=True)

    for i, outcome in enumerate(done):
        if i % 3:
            assert not isinstance(outcome, BaseException)
            assert pair(outcome)[0] == f"c{i}".encode()
        else:
            assert isinstance(outcome, asyncio.CancelledError)


@pytest_redis
async def test_round_robin_uses_every_connection(redis_url: str) -> None:
    client = client_for(redis_url, connections=3, timeout=5)
    try:
        ids = [await client_id(client) for _ in range(6)]
    finally:
        await client.close()

    assert len(set(ids)) == 3
    assert ids[:3] == ids[3:]


@pytest_redis
async def test_the_database_from_the_url_is_selected(redis_url: str) -> None:
    base = redis_url.split("?")[0].rsplit("/", 1)[0]
    client = client_for(f"{base}/5", timeout=5)
    try:
        info = await client.call(encode_command(["CLIENT", "INFO"]))
    finally:
        await client.close()

    assert isinstance(info, bytes)
    assert " db=5 " in info.decode()


# --- the store over the fake: NOSCRIPT handling ------------------------------------------

NOSCRIPT = b"-NOSCRIPT No matching script. Please use EVAL.\r\n"


def one_bucket() -> list[BucketSpec]:
    return [BucketSpec("app", bucket_key(unique_app("noscript"), "app"), 5, Window.UTC_DAY)]


def command_names(received: list[bytes]) -> list[bytes]:
    return [data.split(b"\r\n")[2] for data in received]


async def test_the_store_runs_eval_once_when_the_server_lacks_the_script(
    fake: FakeRedis,
) -> None:
    fake.replies = [NOSCRIPT, b"*3\r\n:1\r\n:1\r\n$0\r\n\r\n"]
    store = RedisStore.from_url(f"redis://127.0.0.1:{fake.port}/0?socket_timeout=2")
    try:
        outcome = await store.consume(one_bucket(), 1_702_083_600.25)
    finally:
        await store.close()

    assert outcome.admitted
    assert [s.used for s in outcome.states] == [1]
    assert command_names(fake.received) == [b"EVALSHA", b"EVAL"]
    assert CONSUME.sha.encode() in fake.received[0]
    assert CONSUME.text.encode() in fake.received[1]


async def test_the_store_does_not_loop_when_eval_fails_too(fake: FakeRedis) -> None:
    fake.replies = [NOSCRIPT, b"-ERR Error running script\r\n"]
    buckets = one_bucket()
    store = RedisStore.from_url(f"redis://127.0.0.1:{fake.port}/0?socket_timeout=2")
    try:
        with pytest.raises(StoreError, match="quota store consume failed for app") as caught:
            await store.consume(buckets, 1_702_083_600.25)
    finally:
        await store.close()

    assert command_names(fake.received) == [b"EVALSHA", b"EVAL"]
    assert "ERR Error running script" in str(caught.value)
    assert buckets[0].key not in str(caught.value)
