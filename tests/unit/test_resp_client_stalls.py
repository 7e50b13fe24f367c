"""The pipelined client under a stall: only the calls whose own deadline passed fail, a late
reply reaches nobody, and the queue per connection is bounded.

The fake Redis is a real TCP server that answers commands in order, one after the other,
like Redis: ``ECHO x`` at once, ``STALL seconds x`` after holding the connection for that
long (every later command on that connection waits behind it, as behind a slow script).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import pytest

from gateway.errors import StoreError
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.quota.redis_store import RedisStore
from gateway.quota.resp import Reply, ReplyParser, encode_command
from gateway.quota.resp_client import QueueFull, RespClient, endpoint_from_url
from tests.fake_tcp import listening
from tests.redis_server import unique_app

TIMEOUT = 0.4
BOUND = 10.0


@dataclass
class OrderedFake:
    """Answers each connection's commands in order; counts connections and closes."""

    port: int = 0
    accepted: int = 0
    closed: int = 0
    # Set when a connection closes.
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    # Set once per STALL command when the stall starts: lets a test act mid-stall.
    stalling: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        parser = ReplyParser()
        try:
            while data := await reader.read(65_536):
                parser.feed(data)
                for command in parser.replies():
                    assert isinstance(command, list)
                    name = command[0]
                    if name == b"STALL":
                        seconds = command[1]
                        assert isinstance(seconds, bytes)
                        self.stalling.set()
                        await asyncio.sleep(float(seconds))
                    writer.write(_bulk(command[-1]))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.closed += 1
            self.closing.set()
            writer.close()


def _bulk(value: Reply) -> bytes:
    assert isinstance(value, bytes)
    return b"$%d\r\n%s\r\n" % (len(value), value)


@pytest.fixture
async def fake() -> AsyncIterator[OrderedFake]:
    async with listening(OrderedFake()) as made:
        yield made


def client_of(
    fake: OrderedFake, *, max_pending: int = 10_000, timeout: float = TIMEOUT
) -> RespClient:
    endpoint = endpoint_from_url(f"redis://127.0.0.1:{fake.port}/0")
    assert endpoint is not None
    return RespClient(
        endpoint, socket_timeout=timeout, connect_timeout=timeout, max_pending=max_pending
    )


@pytest.fixture
async def client(fake: OrderedFake) -> AsyncIterator[RespClient]:
    """A client of ``fake`` with the default limits, closed when the test ends."""
    made = client_of(fake)
    try:
        yield made
    finally:
        await made.close()


def echo(text: str) -> bytes:
    return encode_command(["ECHO", text])


def stall(seconds: float, text: str) -> bytes:
    return encode_command(["STALL", repr(seconds), text])


async def outcome(call: Awaitable[Reply]) -> Reply | BaseException:
    try:
        return await asyncio.wait_for(call, BOUND)
    except Exception as exc:  # the outcome under test may be any failure
        return exc


async def test_a_stall_fails_only_the_call_whose_deadline_passed(fake: OrderedFake) -> None:
    timeout = 1.0
    client = client_of(fake, timeout=timeout)
    try:
        assert await client.call(echo("warm")) == b"warm"
        # The head's reply comes at 1.2 timeouts; the next call leaves at 0.6, before the
        # head's deadline, so its own deadline (1.6) is still ahead when both replies come.
        head = asyncio.ensure_future(outcome(client.call(stall(timeout * 1.2, "head"))))
        await asyncio.wait_for(fake.stalling.wait(), BOUND)
        await asyncio.sleep(timeout * 0.6)
        second = asyncio.ensure_future(outcome(client.call(echo("second"))))
        head_outcome, second_outcome = await asyncio.gather(head, second)
    finally:
        await client.close()

    assert isinstance(head_outcome, TimeoutError)
    # Its own reply, not the head's late one.
    assert second_outcome == b"second"


async def test_a_late_reply_is_dropped_and_never_reaches_the_next_caller(
    fake: OrderedFake, client: RespClient
) -> None:
    head = await outcome(client.call(stall(TIMEOUT * 1.5, "late")))
    assert isinstance(head, TimeoutError)
    # The connection that owes "late" takes no new call: the next one gets a fresh
    # connection and its own reply, whenever "late" arrives.
    replies = [await outcome(client.call(echo(f"after-{i}"))) for i in range(3)]
    await asyncio.sleep(TIMEOUT)  # "late" is answered on the old connection by now
    replies.append(await outcome(client.call(echo("after-3"))))

    assert replies == [b"after-0", b"after-1", b"after-2", b"after-3"]
    assert fake.accepted == 2


async def test_a_retired_connection_closes_once_its_callers_are_done(
    fake: OrderedFake, client: RespClient
) -> None:
    head = await outcome(client.call(stall(TIMEOUT * 1.2, "late")))
    assert isinstance(head, TimeoutError)
    assert fake.accepted == 1
    # Nobody waits on it any more: it closes when the late reply comes (or at once).
    await asyncio.wait_for(fake.closing.wait(), BOUND)
    assert fake.closed == 1
    assert await outcome(client.call(echo("next"))) == b"next"

    assert fake.accepted == 2


async def test_every_call_still_fails_at_its_own_deadline_while_redis_stalls(
    fake: OrderedFake, client: RespClient
) -> None:
    loop = asyncio.get_running_loop()
    await client.call(echo("warm"))
    first = asyncio.ensure_future(outcome(client.call(stall(TIMEOUT * 4, "long"))))
    await asyncio.wait_for(fake.stalling.wait(), BOUND)
    # Behind the stalled script, sent later: its deadline is later than the first's.
    second_sent = loop.time()
    second = asyncio.ensure_future(outcome(client.call(echo("behind"))))
    outcomes = await asyncio.gather(first, second)
    second_failed = loop.time()

    assert [type(o) for o in outcomes] == [TimeoutError, TimeoutError]
    # Not failed with the first (the old client failed every queued call at its deadline)
    # but at its own timeout (timers never fire early; the margin is the clock's grain).
    assert second_failed >= second_sent + TIMEOUT - 0.01


async def test_past_max_pending_a_call_fails_at_once(fake: OrderedFake) -> None:
    client = client_of(fake, max_pending=3)
    try:
        assert await client.call(echo("warm")) == b"warm"
        waiting = [
            asyncio.ensure_future(outcome(client.call(stall(TIMEOUT / 2, f"s{i}"))))
            for i in range(3)
        ]
        # Written together in one flush: once the first stalls, all are queued.
        await asyncio.wait_for(fake.stalling.wait(), BOUND)
        with pytest.raises(QueueFull, match="3 commands already wait"):
            await client.call(echo("one too many"))
        assert client.queue_full == 1
        done = await asyncio.gather(*waiting)
        # The queue drained: calls are taken again.
        assert await outcome(client.call(echo("again"))) == b"again"
    finally:
        await client.close()

    assert done[0] == b"s0"


async def test_the_store_turns_a_full_queue_into_a_store_error(fake: OrderedFake) -> None:
    store = RedisStore.from_url(
        f"redis://127.0.0.1:{fake.port}/0?socket_timeout={TIMEOUT}&max_pending=2"
    )
    assert store.resp is not None
    spec = BucketSpec("app", bucket_key(unique_app("full"), "app"), 5, Window.UTC_DAY)
    try:
        assert await store.resp.call(echo("warm")) == b"warm"
        waiting = [
            asyncio.ensure_future(outcome(store.resp.call(stall(TIMEOUT / 2, f"s{i}"))))
            for i in range(2)
        ]
        # Written together in one flush: once the first stalls, all are queued.
        await asyncio.wait_for(fake.stalling.wait(), BOUND)
        with pytest.raises(StoreError, match="quota store consume refused") as caught:
            await store.consume([spec], 1_702_083_600.0)
        await asyncio.gather(*waiting)
    finally:
        await store.close()

    assert isinstance(caught.value.__cause__, QueueFull)
