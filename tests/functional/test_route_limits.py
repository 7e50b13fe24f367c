"""Per-route limits (daily ones copied from LinkedIn's Analytics tab, per-minute ones it
publishes), end to end."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.runtime import Clock
from tests.functional.adaccounts_harness import ServerFactory, ads_yaml, load, send
from tests.functional.gateway_harness import FakeClock
from tests.redis_server import PATIENT, with_query

ANALYTICS = "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN"
LIMITS = """\
    route_limits:
      - {route: /rest/adAnalytics, app_per_day: 3, member_per_day: 2}"""
POLICY = '"route:adAnalytics";q=3;w=86400, "route:adAnalytics:member";q=2;w=86400'
Limited = Callable[..., Awaitable[TestServer]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> str:
    """Each test runs on both stores: memory://, and the test Redis with patient timeouts."""
    if request.param == "redis":
        return with_query(request.getfixturevalue("redis_url"), PATIENT)
    return "memory://"


@pytest.fixture
def suffix() -> str:
    """App names of this test alone: runs sharing one Redis never share keys."""
    return "-" + uuid.uuid4().hex[:12]


@pytest.fixture
def limited(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path, store: str, suffix: str
) -> Limited:
    """Start a gateway on this test's store whose ads-std app has the route limits given."""

    async def start_limited(limits: str, clock: Clock = time.time) -> TestServer:
        text = ads_yaml(str(sandbox.make_url("")), store=store, suffix=suffix, std_extra=limits)
        return await aiohttp_server(build_gateway_app(load(tmp_path, text), clock=clock))

    return start_limited


async def take_app_keys(redis_url: str, app: str) -> dict[str, int]:
    """The app's keys on Redis with their TTLs in seconds; the keys are deleted, so no
    later run sees them."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"lgw:*{app}*")]
        ttls = {k: await client.ttl(k) for k in keys}
        await client.delete(*keys)
        return ttls
    finally:
        await client.aclose()


async def test_route_buckets_count_with_the_others_all_or_nothing(
    request: pytest.FixtureRequest, limited: Limited, store: str, suffix: str
) -> None:
    gateway = await limited(LIMITS)

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

    if store.startswith("redis"):
        app = "ads-std" + suffix
        ttls = await take_app_keys(request.getfixturevalue("redis_url"), app)
        assert len([k for k in ttls if "route" in k]) == 3  # the app's, and one per member
        assert all(k.startswith(f"lgw:{{{app}}}:") for k in ttls)
        assert [k for k, ttl in ttls.items() if ttl <= 0] == []


MINUTE_LIMITS = """\
    route_limits:
      - {route: /rest/adAnalytics, window: minute, app_per_window: 2}
      - {route: /rest/adAnalytics, app_per_day: 100}"""
# 2027-01-15 13:37:00 UTC: a whole minute, so the window's end is exact.
MINUTE_START = 1_800_020_220.0


async def test_a_per_minute_limit_answers_429_until_its_minute_ends(
    request: pytest.FixtureRequest, limited: Limited, store: str, suffix: str
) -> None:
    assert MINUTE_START % 60 == 0
    clock = FakeClock(MINUTE_START + 45)  # 13:37:45
    gateway = await limited(MINUTE_LIMITS, clock)

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

    if store.startswith("redis"):
        ttls = await take_app_keys(request.getfixturevalue("redis_url"), "ads-std" + suffix)
        minute = {k: ttl for k, ttl in ttls.items() if "minute" in k}
        assert len(minute) == 2  # the minute ended: a new key counts the next one
        assert [k for k, ttl in minute.items() if not 0 < ttl <= 120] == []
