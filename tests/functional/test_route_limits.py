"""Per-route daily limits (Standard tier, copied from LinkedIn's Analytics tab), end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer

from tests.functional.adaccounts_harness import ServerFactory, ads_yaml, load, send, start
from tests.redis_server import PATIENT, with_query

ANALYTICS = "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN"
LIMITS = """\
    route_limits:
      - {route: /rest/adAnalytics, app_per_day: 3, member_per_day: 2}"""
POLICY = '"route:adAnalytics";q=3;w=86400, "route:adAnalytics:member";q=2;w=86400'


async def gateway_with_limits(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path, store: str, suffix: str
) -> TestServer:
    text = ads_yaml(str(sandbox.make_url("")), store=store, suffix=suffix, std_extra=LIMITS)
    return await start(aiohttp_server, load(tmp_path, text))


@pytest.mark.parametrize("store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_route_buckets_count_with_the_others_all_or_nothing(
    request: pytest.FixtureRequest,
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    store: str,
) -> None:
    suffix = "-" + uuid.uuid4().hex[:12]
    url = "memory://"
    if store == "redis":
        url = with_query(request.getfixturevalue("redis_url"), PATIENT)
    gateway = await gateway_with_limits(sandbox, aiohttp_server, tmp_path, url, suffix)

    async with aiohttp.ClientSession() as session:
        first = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std")
        second = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std")
        # The member's route bucket is empty: refused, and nothing else is counted.
        third = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std")
        other_member = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std2")
        # Now the app's route bucket is empty too.
        app_out = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std2")
        other_route = await send(session, gateway, "GET", "/rest/adAccounts/500001", "tok-ads-std")

    assert [r.status for r in (first, second, third, other_member, app_out)] == [
        200,
        200,
        429,
        200,
        429,
    ]
    assert first.headers["RateLimit-Policy"] == POLICY
    assert first.headers["RateLimit"].startswith('"route:adAnalytics";r=2;')
    assert '"route:adAnalytics:member";r=1;' in first.headers["RateLimit"]
    assert (third.headers["X-Gateway-Reason"], app_out.headers["X-Gateway-Reason"]) == (
        "member_quota_exhausted",
        "app_quota_exhausted",
    )
    assert "APPLICATION_AND_MEMBER DAY" in json.loads(await third.read())["message"]
    assert "APPLICATION DAY" in json.loads(await app_out.read())["message"]
    assert int(app_out.headers["Retry-After"]) >= 1
    assert other_member.headers["X-RateLimit-Remaining"] == "0"
    # Other routes of a Standard-tier app stay unlimited and unadvertised.
    assert other_route.status == 200 and "RateLimit-Policy" not in other_route.headers

    if store == "redis":
        client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
        try:
            app = "ads-std" + suffix
            keys = [k.decode() async for k in client.scan_iter(match=f"lgw:*{app}*")]
            route_keys = [k for k in keys if "route" in k]
            assert len(route_keys) == 3  # the app's, and one per member
            assert all(k.startswith(f"lgw:{{{app}}}:") for k in keys)
            assert [k for k in keys if await client.ttl(k) <= 0] == []
            await client.delete(*keys)
        finally:
            await client.aclose()
