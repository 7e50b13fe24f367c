"""Tokens the static source lacks, recognised through LinkedIn's introspection (sandbox),
over real sockets: caching, single-flight, eviction, the negative cache, outages."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio
from aiohttp.test_utils import TestServer

from gateway.runtime import RUNTIME
from gateway.sandbox.oauth import SandboxOAuth
from gateway.sandbox.state import SANDBOX_STATE
from gateway.tokens.model import token_digest
from tests.functional.oauth_support import (
    ACLS,
    POSTS,
    GatewayFactory,
    call,
    metric,
    sandbox_oauth,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
ADMIN_SCOPES = ("rw_organization_admin", "r_basicprofile")


def admin_token(sandbox: TestServer, member: str) -> tuple[SandboxOAuth, str]:
    """The sandbox's OAuth side, and a token it issued the social app for ``member``."""
    oauth = sandbox_oauth(sandbox)
    return oauth, oauth.issue("c-social", member, ADMIN_SCOPES)


@pytest.fixture
def oauth_gateway(oauth_gateway: GatewayFactory) -> GatewayFactory:
    """The shared oauth_gateway, with room for bursts unless a test says otherwise: the
    Development tier's 10 calls per member would refuse them."""

    async def start(**options: Any) -> TestServer:
        options.setdefault("social_quotas", "{app_per_day: 1000, member_per_day: 1000}")
        return await oauth_gateway(**options)

    return start


async def test_an_unknown_token_is_introspected_once_then_served_from_the_cache(
    sandbox: TestServer, oauth_gateway: GatewayFactory
) -> None:
    gw = await oauth_gateway(social_quotas="")
    oauth, token = admin_token(sandbox, "urn:li:person:intro")
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            status, _, headers = await call(session, gw, token)
            assert status == 200
    assert oauth.calls["introspectToken"] == 1
    # The member came from /v2/me (r_basicprofile) and is charged like any other call.
    assert oauth.calls["me"] == 1
    assert '"member";r=6;' in headers["RateLimit"]  # 1 lookup + 3 calls of 10
    assert metric(gw, "gateway_introspection_calls_total", app="social", result="active") == 1
    assert metric(gw, "gateway_token_cache_total", result="local_hit") == 2


async def test_with_several_apps_each_is_asked_until_one_owns_the_token(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = sandbox_oauth(sandbox)
    token = oauth.issue("c-ads", "urn:li:person:adsm", ("r_ads", "r_basicprofile"))
    async with aiohttp.ClientSession() as session:
        status, _, _ = await call(session, gw, token, "/rest/adAccounts/500001")
        assert status == 200
        status, _, _ = await call(session, gw, token, "/rest/adAccounts/500002")
        assert status == 200
    # social and social-std answered active=false, ads owns it; then the cache answers.
    assert oauth.calls["introspectToken"] == 3
    assert metric(gw, "gateway_introspection_calls_total", app="social", result="inactive") == 1
    assert metric(gw, "gateway_introspection_calls_total", app="ads", result="active") == 1


async def test_the_permission_check_runs_on_every_request_cache_hit_or_not(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth, token = admin_token(sandbox, "urn:li:person:scoped")
    async with aiohttp.ClientSession() as session:
        assert (await call(session, gw, token, ACLS))[0] == 200
        status, body, headers = await call(session, gw, token, POSTS)
    assert status == 403 and headers["X-Gateway-Reason"] == "insufficient_scope"
    assert body["serviceErrorCode"] == 100
    assert oauth.calls["introspectToken"] == 1  # route B was a cache hit, and still refused


async def test_a_hundred_concurrent_first_requests_make_one_introspection_call(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = sandbox_oauth(sandbox)
    # Slow enough that every request arrives while the first introspection is in flight.
    oauth.introspection_delay = 0.3
    token = oauth.issue("c-social", "urn:li:person:burst", ADMIN_SCOPES)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        results = await asyncio.wait_for(
            asyncio.gather(*(call(session, gw, token) for _ in range(100))), 20
        )
    assert [status for status, _, _ in results] == [200] * 100
    assert oauth.calls["introspectToken"] == 1
    assert oauth.calls["me"] == 1


async def test_linkedin_saying_revoked_evicts_the_token_at_once(
    sandbox: TestServer, oauth_gateway: GatewayFactory
) -> None:
    gw = await oauth_gateway(oauth={"cache_seconds": 3600})
    oauth, token = admin_token(sandbox, "urn:li:person:rev")
    async with aiohttp.ClientSession() as session:
        assert (await call(session, gw, token))[0] == 200
        oauth.issued(token).revoked = True  # type: ignore[union-attr]
        # Still cached: the call goes upstream, and LinkedIn's own 401 comes back.
        status, body, headers = await call(session, gw, token)
        assert status == 401 and body["serviceErrorCode"] == 65601
        assert "X-Gateway-Reason" not in headers
        # Evicted: the next request asks introspection again, which says revoked.
        status, body, headers = await call(session, gw, token)
    assert status == 401 and headers["X-Gateway-Reason"] == "revoked_token"
    assert body == {
        "status": 401,
        "serviceErrorCode": 65601,
        "code": "REVOKED_ACCESS_TOKEN",
        "message": "The token used in the request has been revoked by the user",
    }
    assert oauth.calls["introspectToken"] == 2
    assert metric(gw, "gateway_token_evictions_total", source="answer") == 1


async def test_an_upstream_401_that_is_not_revoked_or_expired_evicts_nothing(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth, token = admin_token(sandbox, "urn:li:person:keep")
    async with aiohttp.ClientSession() as session:
        assert (await call(session, gw, token))[0] == 200
        status, body, _ = await call(session, gw, token, headers={"X-Sandbox-Status": "401"})
        assert status == 401 and body["serviceErrorCode"] == 65600
        assert (await call(session, gw, token))[0] == 200
    assert oauth.calls["introspectToken"] == 1
    assert metric(gw, "gateway_token_evictions_total", source="answer") == 0


@pytest.mark.parametrize(
    ("make", "reason", "service_code"),
    [
        ("random", "invalid_token", 65600),
        ("expired", "expired_token", 65602),
        ("revoked", "revoked_token", 65601),
    ],
)
async def test_inactive_tokens_are_refused_and_remembered_for_a_while(
    sandbox: TestServer,
    oauth_gateway: GatewayFactory,
    make: str,
    reason: str,
    service_code: int,
) -> None:
    gw = await oauth_gateway()
    oauth = sandbox_oauth(sandbox)
    if make == "random":
        token = "never-issued-" + uuid.uuid4().hex
    else:
        token = oauth.issue("c-social", "urn:li:person:gone", ADMIN_SCOPES)
        issued = oauth.issued(token)
        assert issued is not None
        if make == "expired":
            issued.expires_at = issued.created_at - 1
        else:
            issued.revoked = True
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            status, body, headers = await call(session, gw, token)
            assert status == 401 and headers["X-Gateway-Reason"] == reason
            assert body["serviceErrorCode"] == service_code
            assert "WWW-Authenticate" in headers
    asked = oauth.calls["introspectToken"]
    assert asked == (3 if make == "random" else 1)  # the second request hit the negative cache
    assert sandbox.app[SANDBOX_STATE].stats.requests == 0  # nothing reached the API


async def test_the_negative_cache_is_bounded(
    sandbox: TestServer, oauth_gateway: GatewayFactory
) -> None:
    # A budget above the 40 tokens: the introspection budget is not what this test is about.
    gw = await oauth_gateway(
        oauth={"negative_cache_entries": 5},
        extra="introspection_limit: {burst: 100}",
    )
    oauth = sandbox_oauth(sandbox)
    tokens = [f"flood-{i}-{uuid.uuid4().hex}" for i in range(40)]
    async with aiohttp.ClientSession() as session:
        for token in tokens:
            assert (await call(session, gw, token))[0] == 401
        identity = gw.app[RUNTIME].identity
        assert identity is not None
        assert identity.chain.cache.negative_entries == 5
        before = oauth.calls["introspectToken"]
        await call(session, gw, tokens[-1])  # still remembered
        assert oauth.calls["introspectToken"] == before
        await call(session, gw, tokens[0])  # pushed out by the bound: asked again
        assert oauth.calls["introspectToken"] == before + 3


@pytest.mark.parametrize(
    "knobs",
    [{"introspection_status": 503}, {"introspection_status": 429}, {"introspection_delay": 2.0}],
)
async def test_an_introspection_outage_is_503_and_admits_nothing(
    sandbox: TestServer, oauth_gateway: GatewayFactory, knobs: dict[str, Any]
) -> None:
    gw = await oauth_gateway(oauth={"timeout": 0.3})
    oauth, token = admin_token(sandbox, "urn:li:person:outage")
    for name, value in knobs.items():
        setattr(oauth, name, value)
    async with aiohttp.ClientSession() as session:
        status, body, headers = await asyncio.wait_for(call(session, gw, token), 5)
        assert status == 503
        assert headers["X-Gateway-Reason"] == "token_introspection_unavailable"
        assert body["code"] == "SERVICE_UNAVAILABLE" and "Retry-After" in headers
        assert sandbox.app[SANDBOX_STATE].stats.requests == 0
        # The outage ends: the same token works, nothing negative was remembered.
        oauth.introspection_status, oauth.introspection_delay = None, 0.0
        assert (await call(session, gw, token))[0] == 200


async def test_tokens_never_reach_logs_or_metrics(
    sandbox: TestServer,
    oauth_gateway: GatewayFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = await oauth_gateway(oauth={"timeout": 0.3})
    oauth, good = admin_token(sandbox, "urn:li:person:quiet")
    bad = "secret-random-" + uuid.uuid4().hex
    async with aiohttp.ClientSession() as session:
        await call(session, gw, good)
        await call(session, gw, bad)
        oauth.introspection_status = 503
        await call(session, gw, "secret-outage-" + uuid.uuid4().hex)
    rendered = gw.app[RUNTIME].metrics.render()
    for token in (good, bad):
        assert token not in caplog.text and token not in rendered
    assert "secret-" not in caplog.text and "secret-" not in rendered
    assert token_digest(good)[:12] not in rendered


Replicas = Callable[[float, str], Awaitable[tuple[TestServer, TestServer, str]]]


@pytest.fixture
def replicas(
    sandbox: TestServer, oauth_gateway: GatewayFactory, redis_url: str
) -> Replicas:
    """Two gateways sharing one Redis, and a token the sandbox issued to their app."""

    async def made(local_cache_seconds: float, member: str) -> tuple[TestServer, TestServer, str]:
        suffix = uuid.uuid4().hex[:8]
        options: dict[str, Any] = {
            "store": redis_url,
            "suffix": suffix,
            "oauth": {"local_cache_seconds": local_cache_seconds, "cache_seconds": 3600},
        }
        first = await oauth_gateway(name="one.yaml", **options)
        second = await oauth_gateway(name="two.yaml", **options)
        token = sandbox_oauth(sandbox).issue(f"c-social{suffix}", member, ADMIN_SCOPES)
        return first, second, token

    return made


@pytest.mark.redis
async def test_replicas_share_the_cache_and_an_eviction_on_redis(
    sandbox: TestServer, replicas: Replicas, redis_url: str
) -> None:
    first, second, token = await replicas(0.001, "urn:li:person:shared")
    oauth = sandbox_oauth(sandbox)
    digest = token_digest(token)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        async with aiohttp.ClientSession() as session:
            assert (await call(session, first, token))[0] == 200
            assert (await call(session, second, token))[0] == 200
            assert oauth.calls["introspectToken"] == 1  # the second replica read Redis
            assert oauth.calls["me"] == 1  # and the member with it
            found = [k async for k in client.scan_iter(match=f"lgw:tok:{{{digest}}}*")]
            keys = sorted(k.decode() for k in found)
            assert keys == [f"lgw:tok:{{{digest}}}", f"lgw:tok:{{{digest}}}:member"]
            assert all([await client.pttl(k) > 0 for k in keys])
            assert token not in "".join(keys)

            oauth.issued(token).revoked = True  # type: ignore[union-attr]
            assert (await call(session, first, token))[0] == 401  # LinkedIn's 401: evicted
            assert [k async for k in client.scan_iter(match=f"lgw:tok:{{{digest}}}*")] == []
            status, _, headers = await call(session, second, token)
            assert status == 401 and headers["X-Gateway-Reason"] == "revoked_token"
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_an_eviction_reaches_the_other_replicas_in_process_layer_at_once(
    sandbox: TestServer, replicas: Replicas
) -> None:
    # The in-process layers would keep the token for a minute without the broadcast.
    first, second, token = await replicas(60, "urn:li:person:told")
    oauth = sandbox_oauth(sandbox)
    async with aiohttp.ClientSession() as session:
        assert (await call(session, first, token))[0] == 200
        assert (await call(session, second, token))[0] == 200
        oauth.issued(token).revoked = True  # type: ignore[union-attr]
        assert (await call(session, first, token))[0] == 401  # LinkedIn's own 401
        await told(second)
        assert metric(second, "gateway_token_evictions_total", source="replica") == 1
        status, _, headers = await call(session, second, token)
    # The second replica asked introspection instead of forwarding from its stale copy.
    assert status == 401 and headers["X-Gateway-Reason"] == "revoked_token"
    assert metric(second, "gateway_token_evictions_total", source="answer") == 0
    assert metric(first, "gateway_token_evictions_total", source="replica") == 0


async def told(gw: TestServer) -> None:
    """Until the replica counted the broadcast (the message crosses Redis asynchronously)."""
    for _ in range(500):
        if metric(gw, "gateway_token_evictions_total", source="replica") >= 1:
            return
        await asyncio.sleep(0.01)
