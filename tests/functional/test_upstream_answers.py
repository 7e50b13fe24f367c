"""How the gateway hands LinkedIn's answers on: small framed ones whole, the rest streamed.

Either way the caller gets exactly the upstream's status, body bytes and end-to-end
headers, plus the gateway's quota headers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.runtime import RUNTIME
from gateway.settings.loader import load_settings
from gateway.support.metrics import LEARNED_LIMITS
from gateway.upstream import WHOLE_ANSWER_BYTES
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config

ServerFactory = Callable[..., Awaitable[TestServer]]
SMALL = b'{"elements":[{"id":1}]}'
# Just past the whole-answer bound, and not a multiple of any chunk size.
LARGE = b"x" * (WHOLE_ANSWER_BYTES + 4099)


async def small(_: web.Request) -> web.Response:
    return web.Response(
        body=SMALL, content_type="application/json", headers={"x-li-uuid": "small-1"}
    )


async def large(_: web.Request) -> web.Response:
    return web.Response(body=LARGE, content_type="application/json")


async def chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for part in (b'{"a":', b"1}"):
        await response.write(part)
    await response.write_eof()
    return response


# LinkedIn's quota 429, unframed and split mid-JSON, the second part a moment later.
THROTTLE = (
    b'{"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS",'
    b'"message":"Resource level throttle APPLICATION DAY limit for calls to this resource '
    b'is reached."}'
)


async def throttled(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=429, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(THROTTLE[:40])
    await asyncio.sleep(0.05)
    await response.write(THROTTLE[40:])
    await response.write_eof()
    return response


# The held upstream sends half of a long framed answer, then waits for the test to let it end.
HELD_HALF = b"y" * (WHOLE_ANSWER_BYTES // 2 + 1)
RELEASE = web.AppKey("release", asyncio.Event)


async def held(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 2 * len(HELD_HALF)
    await response.prepare(request)
    await response.write(HELD_HALF)
    await request.app[RELEASE].wait()
    await response.write(HELD_HALF)
    await response.write_eof()
    return response


@pytest.fixture
async def release() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory, tmp_path: Path, release: asyncio.Event
) -> TestServer:
    upstream = web.Application()
    upstream.router.add_get("/rest/posts/small", small)
    upstream.router.add_get("/rest/posts/large", large)
    upstream.router.add_get("/rest/posts/chunked", chunked)
    upstream.router.add_get("/rest/posts/held", held)
    upstream.router.add_get("/rest/posts/throttled", throttled)
    upstream[RELEASE] = release
    backend = await aiohttp_server(upstream)
    config = write_config(tmp_path, gateway_yaml(str(backend.make_url("")).rstrip("/")))
    return await aiohttp_server(
        build_gateway_app(load_settings(config, environ={}), clock=time.time)
    )


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("small", SMALL, "application/json"),
        ("large", LARGE, "application/json"),
        ("chunked", b'{"a":1}', "application/json"),
    ],
)
async def test_the_caller_gets_the_upstream_answer_as_it_was(
    gateway: TestServer, path: str, body: bytes, content_type: str
) -> None:
    # A counted Development member: the answer carries the gateway's quota headers too.
    headers = {"Authorization": f"Bearer {member_token(0)}", "LinkedIn-Version": "202505"}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(gateway.make_url(f"/rest/posts/{path}"), headers=headers) as resp,
    ):
        got = await resp.read()
        assert resp.status == 200
        assert got == body
        assert resp.headers.get("Content-Type") == content_type
        assert resp.headers["RateLimit-Policy"] == '"app";q=100;w=86400, "member";q=10;w=86400'
        if path == "small":
            assert resp.headers["x-li-uuid"] == "small-1"
            assert resp.headers["Content-Length"] == str(len(SMALL))
        if path == "chunked":
            # An answer of unknown length streams on as it came: chunked, not re-framed.
            assert resp.headers.get("Transfer-Encoding") == "chunked"


async def test_an_answer_longer_than_the_whole_bound_streams_before_the_upstream_ends(
    gateway: TestServer, release: asyncio.Event
) -> None:
    # Read whole, the caller would see nothing until the upstream finished: it sees the first
    # half while the upstream still holds the second.
    headers = {"Authorization": f"Bearer {member_token(0)}", "LinkedIn-Version": "202505"}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with asyncio.timeout(10):
            resp = await session.get(gateway.make_url("/rest/posts/held"), headers=headers)
            first = await resp.content.readexactly(len(HELD_HALF))
        assert not release.is_set()
        release.set()
        rest = await resp.read()
        assert resp.status == 200
        assert resp.headers["Content-Length"] == str(2 * len(HELD_HALF))
        assert first + rest == HELD_HALF * 2


async def test_a_429_split_across_reads_reaches_the_caller_whole_and_is_learned_from(
    gateway: TestServer,
) -> None:
    # One read returns what has arrived, not the whole body: a single read passed on the
    # first 40 bytes and cut the rest.
    headers = {"Authorization": f"Bearer {member_token(0)}", "LinkedIn-Version": "202505"}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(gateway.make_url("/rest/posts/throttled"), headers=headers) as resp,
    ):
        assert resp.status == 429
        assert await resp.read() == THROTTLE
    learned = gateway.app[RUNTIME].metrics.value(
        LEARNED_LIMITS, app="social", counter="APPLICATION"
    )
    assert learned == 1
