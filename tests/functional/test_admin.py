"""Admin listener: health, readiness, metrics and usage, next to a running gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from gateway.http.admin import build_admin_app
from gateway.quota.redis_store import RedisStore
from tests.functional.gateway_harness import member_token
from tests.redis_server import free_port

Start = Callable[..., Awaitable[TestServer]]
ServerFactory = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"


async def fetch(
    server: TestServer, path: str, token: str | None = None
) -> tuple[int, Any, dict[str, str]]:
    headers = {"LinkedIn-Version": "202505"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url(path), headers=headers) as resp,
    ):
        body: Any = (
            await resp.json() if resp.content_type == "application/json" else await resp.text()
        )
        return resp.status, body, dict(resp.headers)


async def test_usage_metrics_and_readiness(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    admin = await aiohttp_server(build_admin_app(gw.app))
    for _ in range(3):
        assert (await fetch(gw, PATH, member_token(0)))[0] == 200
    await fetch(gw, PATH, "unknown-token")

    status, body, _ = await fetch(admin, "/usage/social?member=urn:li:person:m00")
    assert status == 200
    by_name = {b["name"]: b for b in body["buckets"]}
    assert by_name["app"]["used"] == 3 and by_name["app"]["limit"] == 100
    assert by_name["member"]["remaining"] == 7 and by_name["member"]["window"] == "utc-day"
    assert (await fetch(admin, "/usage/nobody"))[0] == 404

    status, text, _ = await fetch(admin, "/metrics")
    assert status == 200
    assert 'gateway_requests_total{app="social",decision="admit",reason="-",status="200"} 3' in text
    assert 'reason="invalid_token",status="401"' in text
    assert 'gateway_quota_consumed_total{app="social"} 3' in text
    assert "unknown-token" not in text

    assert (await fetch(admin, "/healthz"))[0] == 200
    status, body, _ = await fetch(admin, "/readyz")
    assert status == 200 and body["ready"] is True


async def test_not_ready_while_store_is_down(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory
) -> None:
    down = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0?socket_timeout=0.2&connect_timeout=0.2")
    try:
        gw = await start_gateway(str(sandbox.make_url("")), quota_store=down)
        admin = await aiohttp_server(build_admin_app(gw.app))
        status, body, _ = await fetch(admin, "/readyz")
        assert status == 503
        assert body == {"ready": False, "config": True, "store": False, "draining": False}
        assert (await fetch(admin, "/healthz"))[0] == 200
    finally:
        await down.close()


async def test_refused_calls_still_say_where_quota_stands(
    sandbox: TestServer, start_gateway: Start
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    assert (await fetch(gw, PATH, member_token(1)))[0] == 200
    status, _, headers = await fetch(gw, "/rest/organizations?ids=List(1,2)", member_token(1))
    assert status == 403
    assert headers["X-Gateway-Reason"] == "batch_get_forbidden"
    # The refusal consumed nothing and shows the standing of both buckets.
    assert headers["RateLimit"].startswith('"app";r=99;')
    assert '"member";r=9;' in headers["RateLimit"]
