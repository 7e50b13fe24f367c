"""Endpoints that need no token must not buffer megabytes nor fill the stores.

Reproduced before: /oauth/refresh parsed a 10 MB form; webhook pushes read up to
max_body_bytes before their signature was checked; 101 000 /oauth/authorize calls on the
memory store evicted real recorded tokens (states and tokens shared one bounded map).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer
from multidict import MultiDict

from gateway.http.public_bodies import PUBLIC_BODIES
from gateway.oauth.flow import state_key
from gateway.runtime import RUNTIME
from tests.functional.gateway_harness import FakeClock
from tests.functional.oauth_support import (
    ACLS,
    authorize,
    browser,
    call,
    form_fields,
    run_flow,
    sandbox_oauth,
    start_oauth_gateway,
)
from tests.security.raw_http import status_and_head

ServerFactory = Callable[..., Awaitable[TestServer]]
WAIT = 10.0
NOW = 1_800_000_000.0
SCOPES = "openid r_organization_social rw_organization_admin"
# The one bound states and tokens shared on memory:// before they were kept apart.
SHARED_BOUND = 100_000


async def start(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    sandbox: TestServer,
    extra: str = "",
    **options: Any,
) -> TestServer:
    return await start_oauth_gateway(
        aiohttp_server, tmp_path, str(sandbox.make_url("")), extra=extra, **options
    )


@pytest.fixture
async def gw(aiohttp_server: ServerFactory, tmp_path: Path, sandbox: TestServer) -> TestServer:
    """The OAuth gateway in front of the sandbox, with the default config."""
    return await start(aiohttp_server, tmp_path, sandbox)


async def raw_status(gw: TestServer, head: str, body: bytes = b"") -> tuple[int, bytes]:
    assert gw.port is not None
    return await status_and_head(gw.port, head, body)


# --- body caps ----------------------------------------------------------------------------


async def test_a_declared_megabyte_refresh_form_is_refused_before_it_is_read(
    gw: TestServer,
) -> None:
    head = (
        "POST /oauth/refresh HTTP/1.1\r\nHost: gw\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {5 * 1024 * 1024}\r\n\r\n"
    )
    status, answer = await raw_status(gw, head)
    assert status == 413 and b"X-Gateway-Reason: body_too_large" in answer


async def test_a_chunked_refresh_form_is_cut_off_at_4_kb(gw: TestServer) -> None:
    field = b"app=social&refresh_token=" + b"A" * 5000
    head = (
        "POST /oauth/refresh HTTP/1.1\r\nHost: gw\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(field), field)
    status, answer = await raw_status(gw, head, chunked)
    assert status == 413 and b"X-Gateway-Reason: body_too_large" in answer


@pytest.mark.parametrize("path", ["/oauth/callback?state=x", "/oauth/authorize?app=social"])
async def test_a_get_with_a_large_body_is_refused_on_oauth_routes(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path, path: str
) -> None:
    gw = await start(aiohttp_server, tmp_path, sandbox)
    head = f"GET {path} HTTP/1.1\r\nHost: gw\r\nContent-Length: {1024 * 1024}\r\n\r\n"
    status, answer = await raw_status(gw, head)
    assert status == 413 and b"X-Gateway-Reason: body_too_large" in answer


async def test_a_form_that_is_not_a_form_is_refused(gw: TestServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gw.make_url("/oauth/refresh"),
            data=b'{"app":"social"}',
            headers={"Content-Type": "application/json"},
        ) as resp,
    ):
        assert resp.status == 400
        assert resp.headers["X-Gateway-Reason"] == "oauth_bad_request"


# --- concurrent body reads ----------------------------------------------------------------


async def test_bodies_read_at_once_are_bounded(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """Two slow bodies hold both slots; a third request is refused at once (503 with
    Retry-After); once the slow ones finish, requests are read again."""
    gw = await start(aiohttp_server, tmp_path, sandbox, "public_body_reads: 2")
    bodies = gw.app[PUBLIC_BODIES]
    assert gw.port is not None
    head = (
        "POST /oauth/refresh HTTP/1.1\r\nHost: gw\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n"
    )
    slow = [await asyncio.open_connection("127.0.0.1", gw.port) for _ in range(2)]
    try:
        for _, writer in slow:
            writer.write(head.encode() + b"app=social&")
            await writer.drain()

        async def both_reading() -> None:
            while bodies.reading < 2:  # noqa: ASYNC110 - the gateway under test changes it
                await asyncio.sleep(0.01)

        await asyncio.wait_for(both_reading(), WAIT)
        status, answer = await raw_status(gw, head, b"app=social&refresh_token=" + b"x" * 15)
        assert status == 503
        assert b"X-Gateway-Reason: public_body_reads_busy" in answer
        assert b"Retry-After: 1" in answer
        for reader, writer in slow:
            writer.write(b"refresh_token=" + b"y" * 15)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), WAIT)
            assert line.split(b" ")[1] == b"400"  # read whole, refused by LinkedIn's side
    finally:
        for _, writer in slow:
            writer.close()
    assert bodies.reading == 0
    status, _ = await raw_status(gw, head, b"app=social&refresh_token=" + b"x" * 15)
    assert status == 400


# --- states ---------------------------------------------------------------------------------


async def test_a_flood_of_states_evicts_no_recorded_token(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """More states than the shared map held, all in one process: the token recorded by
    the flow before them is still recorded (no introspection is needed to recognise it
    once the in-process layer has expired), and the states stay within their own bound."""
    clock = FakeClock(NOW)
    sandbox_oauth(sandbox).clock = clock
    gw = await start(
        aiohttp_server,
        tmp_path,
        sandbox,
        "oauth_state_limit: {per_second: 1000000, burst: 1000000}",
        clock=clock,
    )
    async with browser() as member:
        status, page, _ = await run_flow(member, gw, scope=SCOPES)
        assert status == 200
        token = form_fields(page)["access_token"]
        assert (await call(member, gw, token, ACLS))[0] == 200
        flow = gw.app[RUNTIME].identity.flow
        query = MultiDict({"app": "social", "scope": "r_organization_social"})
        for _ in range(SHARED_BOUND + 1):
            await flow.authorize(query, clock.now)
        clock.now += 10  # past oauth.local_cache_seconds: the shared layer answers
        assert (await call(member, gw, token, ACLS))[0] == 200
    assert sandbox_oauth(sandbox).calls["introspectToken"] == 0
    states = flow._states
    assert len(states) <= gw.app[RUNTIME].settings.public.oauth_state_entries  # type: ignore[arg-type]


async def test_state_creation_is_limited_per_client_address(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    clock = FakeClock(NOW)
    gw = await start(
        aiohttp_server,
        tmp_path,
        sandbox,
        "oauth_state_limit: {per_second: 0.5, burst: 3}",
        clock=clock,
    )
    query = f"app=social&scope={SCOPES}"
    async with aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(5):
            async with await authorize(session, gw, query) as resp:
                statuses.append(resp.status)
                last = resp
                body = await resp.json() if resp.status == 429 else None
        assert statuses == [302, 302, 302, 429, 429]
        assert last.headers["X-Gateway-Reason"] == "oauth_state_rate_limited"
        assert last.headers["Retry-After"] == "2"
        assert body is not None and body["status"] == 429 and body["code"] == "TOO_MANY_REQUESTS"
        assert not last.headers.getall("Set-Cookie", [])
    # Another address has its own bucket.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as other,
        await authorize(other, gw, query) as resp,
    ):
        assert resp.status == 302
    clock.now += 2
    async with aiohttp.ClientSession() as session, await authorize(session, gw, query) as resp:
        assert resp.status == 302


async def test_on_redis_every_state_key_has_a_ttl(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path, redis_url: str
) -> None:
    gw = await start(aiohttp_server, tmp_path, sandbox, store=redis_url)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        async with browser() as member:
            async with await authorize(member, gw, f"app=social&scope={SCOPES}") as resp:
                location = resp.headers["Location"]
            state = parse_qs(urlsplit(location).query)["state"][0]
            key = state_key(state)
            ttl = await client.pttl(key)
            assert 0 < ttl <= 600_000
            # Claimed: kept as "used" until the same deadline, never without one.
            async with member.get(
                gw.make_url("/oauth/callback"), params={"state": state, "code": "x"}
            ) as resp:
                assert resp.status == 400
            assert 0 < await client.pttl(key) <= 600_000
    finally:
        await client.aclose()
