"""Member roles through real sockets, the sandbox answering the role look-ups.

The sandbox's member is ADMINISTRATOR of organizations 1-3 and ACCOUNT_MANAGER of ad
account 500001; it holds no role on organization 4 or ad account 500002.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer

from gateway.roles.cache import cache_key
from gateway.runtime import RUNTIME
from tests.functional.gateway_harness import FIXED_NOW as NOW
from tests.functional.gateway_harness import FakeClock, exchange
from tests.redis_server import PATIENT, free_port, unique_app, with_query

ServerFactory = Callable[..., Awaitable[TestServer]]
Start = Callable[..., Awaitable[TestServer]]
MEMBER = "urn:li:person:roles-member"
V = {"LinkedIn-Version": "202505", "X-Restli-Protocol-Version": "2.0.0"}


def config(upstream: str, store: str = "memory://", suffix: str = "") -> str:
    social = "[w_organization_social, r_organization_social, rw_organization_admin]"
    return f"""\
listen: 127.0.0.1:0
admin_listen: null
upstream: {upstream}
store: "{store}"
role_cache_seconds: 60
apps:
  cm{suffix}:
    client_id: c-cm{suffix}
    client_secret: s
    enforce_roles: true
    products: {{community_management: {{tier: development}}}}
  cm-free{suffix}:
    client_id: c-free{suffix}
    client_secret: s
    products: {{community_management: {{tier: standard}}}}
  ads{suffix}:
    client_id: c-ads{suffix}
    client_secret: s
    enforce_roles: true
    products: {{advertising: {{tier: standard}}}}
tokens:
  - {{token: tok-cm{suffix}, app: cm{suffix}, member: '{MEMBER}', scopes: {social}}}
  - {{token: tok-cm-other{suffix}, app: cm{suffix}, member: 'urn:li:person:other', scopes: {social}}}
  - {{token: tok-free{suffix}, app: cm-free{suffix}, member: '{MEMBER}', scopes: {social}}}
  - {{token: tok-ads{suffix}, app: ads{suffix}, member: '{MEMBER}', scopes: [r_ads, rw_ads]}}
"""


async def send(
    server: TestServer, method: str, path: str, token: str, body: object = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {**V, "Authorization": f"Bearer {token}"}
    data = json.dumps(body) if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    return await exchange(server, method, path, headers, data)


async def finders(sandbox: TestServer) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.make_url("/__sandbox/stats")) as resp,
    ):
        return int((await resp.json())["by_method"].get("FINDER", 0))


def post(author: str) -> dict[str, object]:
    return {"author": author, "commentary": "hello", "visibility": "PUBLIC"}


@pytest.mark.parametrize(
    ("author", "status"),
    [("urn:li:organization:1", 201), ("urn:li:organization:4", 403)],
)
async def test_posting_as_an_organization_needs_a_role(
    sandbox: TestServer, start_config: Start, author: str, status: int
) -> None:
    gw = await start_config(config(str(sandbox.make_url(""))))
    got, headers, body = await send(gw, "POST", "/rest/posts", "tok-cm", post(author))
    assert got == status, body
    if status == 403:
        assert headers["X-Gateway-Reason"] == "insufficient_role"
        message = str(body["message"])
        assert author in message and MEMBER in message
        assert "ADMINISTRATOR, DIRECT_SPONSORED_CONTENT_POSTER, CONTENT_ADMINISTRATOR" in message
    assert await finders(sandbox) == 1


async def test_posting_as_the_member_needs_no_look_up(sandbox: TestServer, start_config: Start) -> None:
    gw = await start_config(config(str(sandbox.make_url(""))))
    status, _, _ = await send(gw, "POST", "/rest/posts", "tok-cm", post(MEMBER))
    assert status == 201
    assert await finders(sandbox) == 0


async def test_apps_without_enforcement_are_not_checked(sandbox: TestServer, start_config: Start) -> None:
    gw = await start_config(config(str(sandbox.make_url(""))))
    status, _, _ = await send(gw, "POST", "/rest/posts", "tok-free", post("urn:li:organization:4"))
    assert status == 201
    assert await finders(sandbox) == 0


async def test_look_ups_are_counted_and_cached_per_member(
    sandbox: TestServer, start_config: Start
) -> None:
    clock = FakeClock(NOW)
    gw = await start_config(config(str(sandbox.make_url(""))), clock)
    org = post("urn:li:organization:2")
    # Cold cache: the look-up and the call are both charged to the member's 10 a day.
    _, first, _ = await send(gw, "POST", "/rest/posts", "tok-cm", org)
    assert '"member";r=8;' in first["RateLimit"]
    _, second, _ = await send(gw, "POST", "/rest/posts", "tok-cm", org)
    assert '"member";r=7;' in second["RateLimit"]
    assert await finders(sandbox) == 1
    # Another member has a cache entry of their own.
    _, other, _ = await send(gw, "POST", "/rest/posts", "tok-cm-other", org)
    assert '"member";r=8;' in other["RateLimit"]
    assert '"app";r=95;' in other["RateLimit"]
    assert await finders(sandbox) == 2
    # After role_cache_seconds the roles are read again.
    clock.now += 60
    await send(gw, "POST", "/rest/posts", "tok-cm", org)
    assert await finders(sandbox) == 3
    metrics = gw.app[RUNTIME].metrics
    assert metrics.value("gateway_role_lookups_total", app="cm", outcome="ok") == 3


@pytest.mark.parametrize(
    ("method", "path", "status", "entity"),
    [
        ("POST", "/rest/adAccounts/500001/adCampaigns", 201, None),
        ("POST", "/rest/adAccounts/500002/adCampaigns", 403, "urn:li:sponsoredAccount:500002"),
        ("GET", "/rest/adAccounts/500001", 200, None),
        ("GET", "/rest/adAccounts/500002", 403, "urn:li:sponsoredAccount:500002"),
    ],
)
async def test_ad_account_calls_need_an_ad_account_role(
    sandbox: TestServer, start_config: Start, method: str, path: str, status: int, entity: str | None
) -> None:
    gw = await start_config(config(str(sandbox.make_url(""))))
    body = {"name": "Campaign", "type": "SPONSORED_UPDATES"} if method == "POST" else None
    got, headers, answer = await send(gw, method, path, "tok-ads", body)
    assert got == status, answer
    if entity is not None:
        assert headers["X-Gateway-Reason"] == "insufficient_role"
        assert entity in str(answer["message"])
        # VIEWER may read, never write (account-access-controls).
        assert ("VIEWER" in str(answer["message"])) is (method == "GET")


async def test_an_unreachable_look_up_is_refunded(start_config: Start) -> None:
    gw = await start_config(config(f"http://127.0.0.1:{free_port()}"))
    status, headers, _ = await send(
        gw, "POST", "/rest/posts", "tok-cm", post("urn:li:organization:1")
    )
    assert (status, headers["X-Gateway-Reason"]) == (502, "role_lookup_failed")
    metrics = gw.app[RUNTIME].metrics
    assert metrics.value("gateway_quota_refunded_total") == 1
    assert metrics.value("gateway_role_lookups_total", app="cm", outcome="failed") == 1


@pytest.mark.redis
async def test_roles_are_cached_in_redis_for_every_gateway(
    sandbox: TestServer, start_config: Start, redis_url: str
) -> None:
    suffix = "-" + unique_app("r")[-12:]
    text = config(str(sandbox.make_url("")), with_query(redis_url, PATIENT), suffix)
    first = await start_config(text)
    second = await start_config(text)
    org = post("urn:li:organization:3")
    assert (await send(first, "POST", "/rest/posts", f"tok-cm{suffix}", org))[0] == 201
    assert (await send(second, "POST", "/rest/posts", f"tok-cm{suffix}", org))[0] == 201
    assert await finders(sandbox) == 1
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        key = cache_key(f"cm{suffix}", MEMBER, "organization")
        assert 0 < await client.ttl(key) <= 60
        raw = await client.get(key)
        assert raw is not None
        held = json.loads(raw)
        assert held["urn:li:organization:3"] == ["ADMINISTRATOR"]
        keys = [k async for k in client.scan_iter(match=f"lgw:{{cm{suffix}}}:*")]
        ttls = [await client.ttl(k) for k in keys]
        assert ttls and all(ttl > 0 for ttl in ttls), ttls
        await client.delete(*keys)
    finally:
        await client.aclose()
