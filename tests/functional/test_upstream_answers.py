"""How the gateway hands LinkedIn's answers on: small framed ones whole, the rest streamed.

Either way the caller gets exactly the upstream's status, body bytes and end-to-end
headers, plus the gateway's quota headers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.settings.loader import load_settings
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


@pytest.fixture
async def gateway(aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    upstream = web.Application()
    upstream.router.add_get("/rest/posts/small", small)
    upstream.router.add_get("/rest/posts/large", large)
    upstream.router.add_get("/rest/posts/chunked", chunked)
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
