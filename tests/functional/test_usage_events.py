"""Learned limits, shadow mode and near-limit events, through a real gateway in front of the
sandbox (and a real Redis where replicas share them)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.http.admin import build_admin_app
from gateway.quota.model import BucketSpec, BucketState, Window
from gateway.runtime import RUNTIME, Runtime
from gateway.sandbox.state import SANDBOX_STATE
from gateway.settings.loader import load_settings
from tests.functional.adaccounts_harness import ads_yaml, campaign_group, load, send, start
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.redis_server import PATIENT, free_port, unique_app, with_query

ServerFactory = Callable[..., Awaitable[TestServer]]
Start = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"
OTHER_PATH = "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
WAIT = 30.0


async def call(
    gateway: TestServer, token: str, path: str = PATH, **headers: str
) -> tuple[int, dict[str, str]]:
    sent = {"Authorization": f"Bearer {token}", "LinkedIn-Version": "202505", **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.make_url(path), headers=sent) as response,
    ):
        await response.read()
        return response.status, dict(response.headers)


async def usage_of(admin: TestServer, app: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(admin.make_url(f"/usage/{app}")) as response,
    ):
        assert response.status == 200
        return await response.json()


def runtime_of(gateway: TestServer) -> Runtime:
    return gateway.app[RUNTIME]


def sandbox_requests(sandbox: TestServer) -> int:
    return sandbox.app[SANDBOX_STATE].stats.requests


async def start_with(
    aiohttp_server: ServerFactory, tmp_path: Path, text: str, name: str = "gateway.yaml"
) -> TestServer:
    settings = load_settings(write_config(tmp_path, text, name), environ={})
    return await aiohttp_server(build_gateway_app(settings))


def shadow_yaml(upstream: str, extra: str = "") -> str:
    grant = "      community_management: {tier: development, since: 2026-06-01}"
    text = gateway_yaml(upstream, extra=extra)
    assert grant in text
    return text.replace(grant, grant + "\n    mode: shadow", 1)


async def test_linkedins_member_429_is_learned_and_answered_here_until_midnight(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory
) -> None:
    gateway = await start_gateway(str(sandbox.make_url("")))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    status, headers = await call(gateway, member_token(0), **{"X-Sandbox-Status": "429"})
    assert status == 429 and "X-Gateway-Reason" not in headers
    before = sandbox_requests(sandbox)

    status, headers = await call(gateway, member_token(0))
    assert status == 429 and headers["X-Gateway-Reason"] == "learned_member_limit"
    midnight = (int(time.time()) // 86400 + 1) * 86400
    assert 0 < int(headers["Retry-After"]) <= midnight - int(time.time()) + 1
    assert "RateLimit" in headers
    assert sandbox_requests(sandbox) == before, "the learned call went to LinkedIn"

    # Another member, and the same member on another resource, still go through.
    assert (await call(gateway, member_token(1)))[0] == 200
    status, headers = await call(gateway, member_token(0), OTHER_PATH)
    assert status != 429 and "X-Gateway-Reason" not in headers
    assert sandbox_requests(sandbox) == before + 2

    runtime = runtime_of(gateway)
    assert (
        runtime.metrics.value(
            "gateway_learned_limits_total", app="social", counter="APPLICATION_AND_MEMBER"
        )
        == 1
    )
    report = await usage_of(admin, "social")
    assert [(m["counter"], m["reason"], m["resource"], m["member"]) for m in report["learned"]] == [
        (
            "APPLICATION_AND_MEMBER",
            "learned_member_limit",
            "rest/organizationAcls",
            "urn:li:person:m00",
        )
    ]
    assert report["learned"][0]["until"].endswith("T00:00:00Z")
    assert report["refusals"] == {"learned_member_limit": 1}


@pytest.mark.redis
async def test_a_limit_learned_by_one_replica_stops_the_other(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path, redis_url: str
) -> None:
    suffix = "-" + unique_app("learn")
    text = gateway_yaml(
        str(sandbox.make_url("")), store=with_query(redis_url, PATIENT), suffix=suffix
    )
    one = await start_with(aiohttp_server, tmp_path, text, "one.yaml")
    two = await start_with(aiohttp_server, tmp_path, text, "two.yaml")
    try:
        status, _ = await call(one, member_token(0), **{"X-Sandbox-Throttle": "APPLICATION"})
        assert status == 429
        # Replica two takes it in when it reads the ledger (its flush, every second).
        now = time.time()
        await runtime_of(one).usage.flush(now)
        await runtime_of(two).usage.flush(now)
        status, headers = await call(two, member_token(2))
        assert status == 429 and headers["X-Gateway-Reason"] == "learned_app_limit"
    finally:
        client = runtime_of(one).store.client  # type: ignore[attr-defined]
        keys = [k async for k in client.scan_iter(match=f"lgw:{{*{suffix}}}:*")]
        if keys:
            await client.delete(*keys)


async def test_shadow_mode_forwards_everything_and_shows_what_it_would_refuse(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    gateway = await start_with(aiohttp_server, tmp_path, shadow_yaml(str(sandbox.make_url(""))))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    answers = [await call(gateway, member_token(0)) for _ in range(12)]
    assert [status for status, _ in answers] == [200] * 12
    assert "r=0" in answers[-1][1]["RateLimit"]
    assert (await call(gateway, "tok-social-narrow"))[0] == 200
    # LinkedIn's own 429 is learned, and in shadow mode the next call still goes.
    assert (await call(gateway, member_token(1), **{"X-Sandbox-Status": "429"}))[0] == 429
    assert (await call(gateway, member_token(1)))[0] == 200
    assert sandbox_requests(sandbox) == 15
    # A protocol error LinkedIn refuses too is still answered here.
    status, headers = await call(gateway, member_token(2), **{"LinkedIn-Version": "202301"})
    assert status == 426 and headers["X-Gateway-Reason"] == "version_sunset"
    assert sandbox_requests(sandbox) == 15

    metrics = runtime_of(gateway).metrics
    for reason, count in [
        ("member_quota_exhausted", 2),
        ("insufficient_scope", 1),
        ("learned_member_limit", 1),
    ]:
        assert metrics.value("gateway_shadow_refusals_total", app="social", reason=reason) == count
        assert (
            metrics.value(
                "gateway_requests_total",
                app="social",
                decision="shadow_refuse",
                reason=reason,
                status="200",
            )
            == count
        )
    report = await usage_of(admin, "social")
    assert report["mode"] == "shadow"
    assert report["refusals"] == {"version_sunset": 1}
    assert report["shadow_refusals"] == {
        "member_quota_exhausted": 2,
        "insufficient_scope": 1,
        "learned_member_limit": 1,
    }
    m00 = next(m for m in report["members"] if m["member"] == "urn:li:person:m00")
    # Shadow mode counts every forwarded call, as LinkedIn does: past the limit.
    assert m00["buckets"][0]["used"] == 12 and m00["buckets"][0]["remaining"] == 0
    assert report["buckets"][0]["used"] == 15

    async with (
        aiohttp.ClientSession() as session,
        session.get(admin.make_url("/usage")) as response,
    ):
        page = await response.text()
    assert "shadow: nothing refused" in page and "Would have refused" in page


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> tuple[TestServer, list[dict[str, Any]]]:
    """A webhook that fails its first POST (500), then takes every one."""
    received: list[dict[str, Any]] = []
    attempts = 0

    async def take(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return web.Response(status=500)
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/alerts", take)
    return await aiohttp_server(app), received


async def test_near_limit_events_are_logged_counted_and_posted_once(
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    receiver: tuple[TestServer, list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook, received = receiver
    extra = f"usage_alerts: {{thresholds: [50, 100], webhook: '{hook.make_url('/alerts')}'}}"
    text = gateway_yaml(str(sandbox.make_url("")), extra=extra)
    gateway = await start_with(aiohttp_server, tmp_path, text)
    runtime = runtime_of(gateway)
    with caplog.at_level(logging.WARNING, logger="gateway.usage"):
        assert [(await call(gateway, member_token(0)))[0] for _ in range(11)] == [200] * 10 + [429]
        await asyncio.wait_for(runtime.usage.alerts.drain(), WAIT)
    assert [(e["bucket"], e["member"], e["threshold_percent"], e["used"]) for e in received] == [
        ("member", "urn:li:person:m00", 50, 5),
        ("member", "urn:li:person:m00", 100, 10),
    ]
    assert received[1]["remaining"] == 0 and received[1]["limit"] == 10
    assert received[1]["event"] == "usage_threshold_crossed"
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("event=usage_threshold_crossed ")
    ]
    assert lines == [
        "event=usage_threshold_crossed app=social bucket=member member=urn:li:person:m00 "
        f"threshold_percent={e['threshold_percent']} used={e['used']} limit=10 "
        f"remaining={e['remaining']} reset_at={e['reset_at']} at={e['at']}"
        for e in received
    ]
    record = next(r for r in caplog.records if r.getMessage() == lines[0])
    assert record.msg == received[0]
    metrics = runtime.metrics
    assert (
        metrics.value("gateway_usage_alerts_total", app="social", bucket="member", threshold="50")
        == 1
    )
    assert metrics.value("gateway_usage_alert_posts_total", outcome="retry") == 1
    assert metrics.value("gateway_usage_alert_posts_total", outcome="delivered") == 2

    # The same crossing raised again (a refund and a re-crossing, another replica): not told.
    member = BucketSpec("member", "lgw:{social}:member:urn%3Ali%3Aperson%3Am00", 10, Window.UTC_DAY)
    runtime.usage.charged("social", [BucketState(member, 5, time.time() + 60)], time.time())
    await asyncio.wait_for(runtime.usage.alerts.drain(), WAIT)
    assert len(received) == 2
    assert (
        metrics.value("gateway_usage_alerts_total", app="social", bucket="member", threshold="50")
        == 1
    )


async def test_an_unreachable_alert_webhook_never_holds_a_call(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    extra = f"usage_alerts: {{thresholds: [10], webhook: 'http://127.0.0.1:{free_port()}/alerts'}}"
    gateway = await start_with(
        aiohttp_server, tmp_path, gateway_yaml(str(sandbox.make_url("")), extra=extra)
    )
    runtime = runtime_of(gateway)
    runtime.usage.alerts.backoff_base = 0.01
    assert [(await call(gateway, member_token(0)))[0] for _ in range(3)] == [200] * 3
    await asyncio.wait_for(runtime.usage.alerts.drain(), WAIT)
    assert runtime.metrics.value("gateway_usage_alert_posts_total", outcome="failed") == 1
    assert (
        runtime.metrics.value(
            "gateway_usage_alerts_total", app="social", bucket="member", threshold="10"
        )
        == 1
    )


async def test_usage_json_holds_route_buckets_and_an_asked_member(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    limits = "    route_limits:\n      - {route: /rest/adAnalytics, app_per_day: 3}"
    text = ads_yaml(str(sandbox.make_url("")), std_extra=limits)
    gateway = await start(aiohttp_server, load(tmp_path, text))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    analytics = "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN"
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            assert (await send(session, gateway, "GET", analytics, "tok-ads-std")).status == 200
    report = await usage_of(admin, "ads-std")
    by_name = {b["name"]: b for b in report["buckets"]}
    assert by_name["route:adAnalytics"]["used"] == 2
    assert by_name["route:adAnalytics"]["remaining"] == 1
    assert by_name["app"]["used"] == 2 and by_name["app"]["limit"] is None
    assert report["members_total"] == 1

    async with (
        aiohttp.ClientSession() as session,
        session.get(
            admin.make_url("/usage/ads-std"), params={"member": "urn:li:person:nobody"}
        ) as response,
    ):
        asked = await response.json()
    assert asked["buckets"][-1] == {**asked["buckets"][-1], "name": "member", "used": 0}
    # Asking about a member does not make it one of the day's members.
    assert asked["members_total"] == 1
    assert "urn:li:person:nobody" not in [m["member"] for m in asked["members"]]


async def test_shadow_mode_forwards_an_edit_past_the_five_ad_accounts(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    grant = "      conversions: {}\n"
    text = ads_yaml(str(sandbox.make_url("")))
    assert grant in text
    gateway = await start(
        aiohttp_server, load(tmp_path, text.replace(grant, grant + "    mode: shadow\n", 1))
    )
    async with aiohttp.ClientSession() as session:
        for account in range(1, 7):
            created = await send(
                session,
                gateway,
                "POST",
                f"/rest/adAccounts/{account}/adCampaignGroups",
                "tok-ads",
                body=campaign_group(account),
                restli="CREATE",
            )
            assert created.status == 201, account
    metrics = runtime_of(gateway).metrics
    assert (
        metrics.value("gateway_shadow_refusals_total", app="ads", reason="ad_account_edit_limit")
        == 1
    )
    # Only what enforcement admitted is in the ledger: the five.
    assert len((await runtime_of(gateway).ad_accounts.ledger.view("ads")).edited) == 5


@pytest.mark.redis
async def test_two_replicas_tell_each_crossing_once(
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    redis_url: str,
    receiver: tuple[TestServer, list[dict[str, Any]]],
) -> None:
    hook, received = receiver
    suffix = "-" + unique_app("alerts")
    extra = f"usage_alerts: {{thresholds: [50, 100], webhook: '{hook.make_url('/alerts')}'}}"
    text = gateway_yaml(
        str(sandbox.make_url("")), store=with_query(redis_url, PATIENT), suffix=suffix, extra=extra
    )
    one = await start_with(aiohttp_server, tmp_path, text, "one.yaml")
    two = await start_with(aiohttp_server, tmp_path, text, "two.yaml")
    try:
        statuses = [(await call((one, two)[i % 2], member_token(0)))[0] for i in range(11)]
        assert statuses == [200] * 10 + [429]
        # The fifth call went through replica one, the tenth through replica two; both
        # replicas also see the same crossing raised again (as after a refund).
        member = BucketSpec(
            "member",
            f"lgw:{{social{suffix}}}:member:urn%3Ali%3Aperson%3Am00",
            10,
            Window.UTC_DAY,
        )
        for gateway in (one, two):
            runtime_of(gateway).usage.charged(
                "social" + suffix, [BucketState(member, 10, time.time() + 60)], time.time()
            )
        for gateway in (one, two):
            await asyncio.wait_for(runtime_of(gateway).usage.alerts.drain(), WAIT)
        assert sorted((e["threshold_percent"], e["used"]) for e in received) == [(50, 5), (100, 10)]
    finally:
        client = runtime_of(one).store.client  # type: ignore[attr-defined]
        keys = [k async for k in client.scan_iter(match=f"lgw:{{*{suffix}}}:*")]
        if keys:
            await client.delete(*keys)
