"""The request path end to end over real sockets: gateway -> sandbox upstream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.quota.redis_store import RedisStore
from gateway.runtime import RUNTIME
from tests.functional.gateway_harness import member_token, raw_http
from tests.redis_server import free_port

Start = Callable[..., Awaitable[TestServer]]
V = {"LinkedIn-Version": "202505", "X-Restli-Protocol-Version": "2.0.0"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **V}


async def get(
    server: TestServer, path: str, token: str | None, **headers: str
) -> tuple[int, dict[str, str], dict[str, object]]:
    hdrs = {**V, **headers}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url(path), headers=hdrs) as resp,
    ):
        raw = await resp.read()
        body = json.loads(raw) if raw else {}
        return resp.status, dict(resp.headers), body


async def sandbox_requests(sandbox: TestServer) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.make_url("/__sandbox/stats")) as resp,
    ):
        return int((await resp.json())["requests"])


def port_of(server: TestServer) -> int:
    assert server.port is not None
    return server.port


async def over_the_wire(
    gw: TestServer, start: str, token: str, headers: str = ""
) -> tuple[int, bytes]:
    """Send the request as written, the member's token and ``headers`` after ``start`` (its
    request line and Host), on a fresh socket: (status, body)."""
    request = f"{start}Authorization: Bearer {token}\r\n{headers}Connection: close\r\n\r\n"
    return await raw_http(gw.host, port_of(gw), request.encode("latin-1"))


@pytest.fixture
async def gw(sandbox: TestServer, start_gateway: Start) -> TestServer:
    """A gateway with the default test config in front of the sandbox (here rather than
    the OAuth gateway of the shared conftest)."""
    return await start_gateway(str(sandbox.make_url("")))


async def test_admitted_call_is_forwarded_with_quota_headers(gw: TestServer) -> None:
    status, headers, body = await get(gw, "/rest/organizationAcls?q=roleAssignee", member_token(0))
    assert status == 200, body
    assert "elements" in body
    assert headers["RateLimit-Policy"] == '"app";q=100;w=86400, "member";q=10;w=86400'
    assert headers["RateLimit"].startswith('"app";r=99;t=')
    assert '"member";r=9;t=' in headers["RateLimit"]
    assert headers["X-RateLimit-Limit"] == "10"
    assert headers["X-RateLimit-Remaining"] == "9"
    assert int(headers["X-RateLimit-Reset"]) % 86400 == 0
    assert headers["x-li-fabric"] == "sandbox"  # LinkedIn's own headers come back
    assert "x-li-uuid" in {k.lower() for k in headers}
    assert "X-Gateway-Reason" not in headers


@pytest.mark.parametrize(
    ("authorization", "status", "reason", "service_code"),
    [
        (None, 401, "missing_token", 65600),
        ("Basic dXNlcjpwdw==", 401, "unsupported_auth_scheme", 65600),
        ("Bearer not-a-known-token", 401, "invalid_token", 65600),
        ("Bearer tok-social-expired", 401, "expired_token", 65602),
    ],
)
async def test_authentication_failures_are_linkedin_shaped(
    gw: TestServer,
    authorization: str | None,
    status: int,
    reason: str,
    service_code: int,
) -> None:
    headers = dict(V)
    if authorization:
        headers["Authorization"] = authorization
    async with (
        aiohttp.ClientSession() as session,
        session.get(gw.make_url("/rest/organizationAcls?q=roleAssignee"), headers=headers) as resp,
    ):
        body = await resp.json()
        assert resp.status == status
        assert resp.headers["X-Gateway-Reason"] == reason
    assert body["status"] == status and body["serviceErrorCode"] == service_code
    assert "not-a-known-token" not in json.dumps(body)


async def test_missing_scope_names_permissions_and_products(gw: TestServer) -> None:
    status, headers, body = await get(
        gw, "/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A1", "tok-social-narrow"
    )
    assert status == 403
    assert headers["X-Gateway-Reason"] == "insufficient_scope"
    assert body["code"] == "ACCESS_DENIED" and body["serviceErrorCode"] == 100
    message = str(body["message"])
    assert message.startswith("Not enough permissions to access: posts.FINDER.202505")
    assert "r_organization_social" in message and "Community Management API" in message


async def test_product_not_approved(gw: TestServer) -> None:
    status, headers, body = await get(gw, "/rest/adAccounts/500001", member_token(0))
    assert status == 403
    assert headers["X-Gateway-Reason"] == "product_not_approved"
    assert "Advertising API" in str(body["message"])


async def test_batch_get_forbidden_on_development_but_not_standard(gw: TestServer) -> None:
    path = "/rest/organizations?ids=List(1,2)"
    status, headers, body = await get(gw, path, member_token(0))
    assert (status, headers["X-Gateway-Reason"]) == (403, "batch_get_forbidden")
    status, _, body = await get(gw, path, "tok-std")
    assert status == 200
    results = body["results"]
    assert isinstance(results, dict)
    assert set(results) == {"1", "2"}


async def test_member_quota_429_then_other_members_go_on(
    sandbox: TestServer, start_gateway: Start
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    path = "/rest/organizationAcls?q=roleAssignee"
    for _ in range(10):
        status, _, _ = await get(gw, path, member_token(1))
        assert status == 200
    status, headers, body = await get(gw, path, member_token(1))
    assert status == 429
    assert headers["X-Gateway-Reason"] == "member_quota_exhausted"
    assert body == {
        "status": 429,
        "serviceErrorCode": 101,
        "code": "TOO_MANY_REQUESTS",
        "message": "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is reached.",
    }
    assert 0 < int(headers["Retry-After"]) <= 86400
    assert '"member";r=0' in headers["RateLimit"]
    status, _, _ = await get(gw, path, member_token(2))
    assert status == 200
    assert await sandbox_requests(sandbox) == 11  # the refused call never left the building


async def test_unmatched_route_forwarded_and_counted_or_denied(
    sandbox: TestServer, start_gateway: Start
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    status, headers, _ = await get(gw, "/rest/brandNewThings", member_token(3))
    assert status != 403 and "X-Gateway-Reason" not in headers
    assert '"member";r=9' in headers["RateLimit"]
    strict = await start_gateway(str(sandbox.make_url("")), extra="unmatched_routes: deny")
    status, headers, _ = await get(strict, "/rest/brandNewThings", member_token(3))
    assert (status, headers["X-Gateway-Reason"]) == (403, "route_not_in_catalog")


async def test_upstream_refused_is_502_and_refunded(start_gateway: Start) -> None:
    gw = await start_gateway(f"http://127.0.0.1:{free_port()}")
    for _ in range(3):
        status, headers, body = await get(
            gw, "/rest/organizationAcls?q=roleAssignee", member_token(4)
        )
        assert status == 502
        assert headers["X-Gateway-Reason"] == "upstream_unreachable"
        assert body["status"] == 502
        # Refunded: the member still has all ten calls.
        assert '"member";r=10' in headers["RateLimit"]


async def test_connect_timeout_is_504_and_refunded(start_gateway: Start) -> None:
    # A listener whose backlog is full: the kernel drops further SYNs, so connecting times
    # out and the request is never sent.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(8)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
            gw = await start_gateway(f"http://127.0.0.1:{port}", connect_timeout=0.3)
            for _ in range(2):
                status, headers, body = await get(
                    gw, "/rest/organizationAcls?q=roleAssignee", member_token(11)
                )
                assert status == 504
                assert headers["X-Gateway-Reason"] == "upstream_timeout"
                assert body["code"] == "GATEWAY_TIMEOUT"
                # Never sent, so refunded: the member still has all ten calls.
                assert '"member";r=10' in headers["RateLimit"]
        finally:
            for filler in fillers:
                filler.close()


async def test_upstream_timeout_is_504_and_not_refunded(
    sandbox: TestServer, start_gateway: Start
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")), upstream_timeout=0.5)
    status, headers, body = await get(
        gw, "/rest/organizationAcls?q=roleAssignee", member_token(5), **{"X-Sandbox-Delay": "3"}
    )
    assert status == 504
    assert headers["X-Gateway-Reason"] == "upstream_timeout"
    assert body["code"] == "GATEWAY_TIMEOUT"
    # The request reached LinkedIn, which may have counted it: so does the gateway.
    assert '"member";r=9' in headers["RateLimit"]


async def test_store_down_closed_refuses_open_admits(
    sandbox: TestServer, start_gateway: Start
) -> None:
    down = RedisStore.from_url(
        f"redis://127.0.0.1:{free_port()}/0?socket_timeout=0.2&connect_timeout=0.2"
    )
    try:
        gw = await start_gateway(str(sandbox.make_url("")), quota_store=down)
        status, headers, body = await asyncio.wait_for(
            get(gw, "/rest/organizationAcls?q=roleAssignee", member_token(6)), 5
        )
        assert (status, headers["X-Gateway-Reason"]) == (503, "quota_store_unavailable")
        assert body["status"] == 503
        open_gw = await start_gateway(
            str(sandbox.make_url("")), quota_store=down, extra="on_store_error: open"
        )
        status, _, _ = await asyncio.wait_for(
            get(open_gw, "/rest/organizationAcls?q=roleAssignee", member_token(6)), 5
        )
        assert status == 200
        metrics = open_gw.app[RUNTIME].metrics
        assert metrics.value("gateway_store_errors_total", action="open") == 1
    finally:
        await down.close()


@pytest.mark.parametrize(
    "target",
    [
        "/rest/../v2/me",
        "/rest/%2e%2e/v2/me",
        "/rest/posts/%2E",
        "/rest/ad%2FAccounts",
        "/rest/adAccounts%5C1",
        "/rest/posts%00",
        "/rest//posts",
        "/rest/posts;x=1",
        "/rest/./posts",
        "/rest/posts/%zz",
    ],
)
async def test_path_tricks_are_refused_over_the_wire(gw: TestServer, target: str) -> None:
    status, body = await over_the_wire(
        gw, f"GET {target} HTTP/1.1\r\nHost: x\r\n", member_token(7), "LinkedIn-Version: 202505\r\n"
    )
    assert status == 400, (target, body)
    assert json.loads(body)["status"] == 400


@pytest.mark.parametrize(
    "request_line",
    [
        "GET http://evil.example/rest/me HTTP/1.1",
        "CONNECT evil.example:443 HTTP/1.1",
    ],
)
async def test_not_an_open_proxy(gw: TestServer, request_line: str) -> None:
    status, _ = await over_the_wire(
        gw, f"{request_line}\r\nHost: evil.example\r\n", member_token(7)
    )
    assert 400 <= status < 500


async def test_huge_headers_and_bodies_get_4xx(gw: TestServer) -> None:
    huge = "x" * 100_000
    request = (
        f"GET /rest/me HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\nConnection: close\r\n\r\n"
    ).encode()
    status, _ = await raw_http(gw.host, port_of(gw), request)
    assert 400 <= status < 500
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gw.make_url("/rest/posts"),
            headers=auth(member_token(8)),
            data=b"{" + b" " * 70_000 + b"}",
        ) as resp,
    ):
        assert resp.status == 413
        assert resp.headers["X-Gateway-Reason"] == "body_too_large"


async def test_token_in_query_is_refused(gw: TestServer) -> None:
    status, headers, _ = await get(gw, "/rest/me?oauth2_access_token=other", member_token(9))
    assert headers["X-Gateway-Reason"] == "bad_request"
    assert status == 400


async def test_tokens_never_reach_the_logs(
    sandbox: TestServer, start_gateway: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = await start_gateway(str(sandbox.make_url("")))
    await get(gw, "/rest/organizationAcls?q=roleAssignee", member_token(10))
    await get(gw, "/rest/organizationAcls?q=roleAssignee", "secret-unknown-token-123")
    access = [r.getMessage() for r in caplog.records if r.name == "gateway.access"]
    assert len(access) == 2
    assert "app=social" in access[0] and "status=200" in access[0]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert member_token(10) not in text
    assert "secret-unknown-token-123" not in text


@pytest.mark.parametrize(
    "headers",
    [
        "Authorization: Bearer \x01abc\r\n",
        "Authorization Bearer tok\r\n",
        "Content-Length: ten\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
        "X-RestLi-Method: EXPLODE\r\n",
        "X-RestLi-Method: GET\r\nX-RestLi-Method: DELETE\r\n",
        "LinkedIn-Version: 2025-05\r\n",
        "X-HTTP-Method-Override: GET\r\n",
        "Content-Type: multipart/mixed\r\nX-HTTP-Method-Override: GET\r\n",
    ],
)
async def test_malformed_headers_get_4xx_never_5xx(gw: TestServer, headers: str) -> None:
    head = "GET /rest/organizationAcls?q=roleAssignee HTTP/1.1\r\nHost: x\r\n"
    status, _ = await over_the_wire(gw, head, member_token(12), headers)
    assert 400 <= status < 500, (headers, status)
