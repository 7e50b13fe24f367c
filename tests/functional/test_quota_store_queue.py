"""A full queue to a stalled Redis refuses a call at once, as a store failure, counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from gateway.quota.redis_store import RedisStore
from gateway.runtime import RUNTIME
from tests.functional.gateway_harness import member_token
from tests.functional.test_request_path import get

Start = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP server that reads everything and never answers: a stalled Redis."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(65_536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_past_max_pending_a_call_is_refused_at_once_and_counted(
    sandbox: TestServer, start_gateway: Start, silent_port: int
) -> None:
    stalled = RedisStore.from_url(
        f"redis://127.0.0.1:{silent_port}/0?socket_timeout=3&connect_timeout=1&max_pending=1"
    )
    try:
        gw = await start_gateway(str(sandbox.make_url("")), quota_store=stalled)
        waiting = asyncio.ensure_future(get(gw, PATH, member_token(1)))
        resp = stalled.resp
        assert resp is not None

        async def queued() -> None:
            while resp.pending == 0:  # noqa: ASYNC110 - the client's own state
                await asyncio.sleep(0.01)

        await asyncio.wait_for(queued(), 5)
        status, headers, _ = await asyncio.wait_for(get(gw, PATH, member_token(2)), 2)
        assert (status, headers["X-Gateway-Reason"]) == (503, "quota_store_unavailable")
        metrics = gw.app[RUNTIME].metrics
        assert metrics.value("gateway_store_queue_full_total") == 1
        assert metrics.value("gateway_store_errors_total", action="closed") == 1
        first_status, _, _ = await asyncio.wait_for(waiting, 10)
        assert first_status == 503
    finally:
        await stalled.close()
