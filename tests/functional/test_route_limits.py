"""Per-route limits (daily ones copied from LinkedIn's Analytics tab, per-minute ones it
publishes), end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from tests.functional.adaccounts_harness import ServerFactory, ads_yaml, load, send, start
from tests.functional.gateway_harness import FakeClock
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


MINUTE_LIMITS = """\
    route_limits:
      - {route: /rest/adAnalytics, window: minute, app_per_window: 2}
      - {route: /rest/adAnalytics, app_per_day: 100}"""
# 2027-01-15 13:37:00 UTC: a whole minute, so the window's end is exact.
MINUTE_START = 1_800_020_220.0


@pytest.mark.parametrize("store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_per_minute_limit_answers_429_until_its_minute_ends(
    request: pytest.FixtureRequest,
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    store: str,
) -> None:
    assert MINUTE_START % 60 == 0
    suffix = "-" + uuid.uuid4().hex[:12]
    url = "memory://"
    if store == "redis":
        url = with_query(request.getfixturevalue("redis_url"), PATIENT)
    text = ads_yaml(str(sandbox.make_url("")), store=url, suffix=suffix, std_extra=MINUTE_LIMITS)
    clock = FakeClock(MINUTE_START + 45)  # 13:37:45
    gateway = await aiohttp_server(build_gateway_app(load(tmp_path, text), clock=clock))

    async with aiohttp.ClientSession() as session:
        first = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std")
        second = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std2")
        clock.now = MINUTE_START + 59.5
        throttled = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std")
        throttled_body = json.loads(await throttled.read())
        clock.now = MINUTE_START + 60  # 13:38:00: a new minute
        next_minute = await send(session, gateway, "GET", ANALYTICS, "tok-ads-std")

    assert [r.status for r in (first, second, throttled, next_minute)] == [200, 200, 429, 200]
    assert first.headers["RateLimit-Policy"] == (
        '"route:adAnalytics:minute";q=2;w=60, "route:adAnalytics";q=100;w=86400'
    )
    assert first.headers["RateLimit"].startswith('"route:adAnalytics:minute";r=1;t=15, ')
    assert throttled.headers["X-Gateway-Reason"] == "app_quota_exhausted"
    assert "APPLICATION MINUTE limit" in throttled_body["message"]
    # Half a second left of the minute: Retry-After rounds up to the window's end.
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.headers["RateLimit"].startswith('"route:adAnalytics:minute";r=0;t=1, ')
    # The refused call counted nothing: the day bucket saw three calls, not four.
    assert next_minute.headers["RateLimit"] == (
        '"route:adAnalytics:minute";r=1;t=60, "route:adAnalytics";r=97;t=37320'
    )

    if store == "redis":
        client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
        try:
            app = "ads-std" + suffix
            keys = [k.decode() async for k in client.scan_iter(match=f"lgw:*{app}*")]
            minute_keys = [k for k in keys if "minute" in k]
            assert len(minute_keys) == 2  # the minute ended: a new key counts the next one
            assert [k for k in minute_keys if not 0 < await client.ttl(k) <= 120] == []
            await client.delete(*keys)
        finally:
            await client.aclose()
