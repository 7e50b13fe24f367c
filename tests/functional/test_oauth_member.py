"""Learning the member behind an introspected token, over real sockets: userinfo, /v2/me,
the trusted sidecar header, and the refusals when no way works."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.sandbox.oauth import Issued, SandboxOAuth
from tests.functional import oauth_support as support

HEADER = "X-Gateway-Member"


@pytest.mark.parametrize(
    ("scopes", "way"),
    [
        (("rw_organization_admin", "openid"), "userinfo"),
        (("rw_organization_admin", "r_basicprofile"), "me"),
        (("rw_organization_admin", "openid", "r_basicprofile"), "userinfo"),
    ],
)
async def test_the_member_is_looked_up_once_and_charged_like_any_call(
    sandbox: TestServer,
    oauth_gateway: support.GatewayFactory,
    scopes: tuple[str, ...],
    way: str,
) -> None:
    gw = await oauth_gateway()
    oauth = support.sandbox_oauth(sandbox)
    token = oauth.issue("c-social", "urn:li:person:looked-up", scopes)
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            status, _, headers = await support.call(session, gw, token)
            assert status == 200
    assert oauth.calls[way] == 1 and oauth.calls["userinfo"] + oauth.calls["me"] == 1
    # One lookup and two calls, on the member's and on the app's bucket.
    assert '"app";r=97;' in headers["RateLimit"] and '"member";r=7;' in headers["RateLimit"]
    assert support.metric(gw, "gateway_member_lookups_total", way=way, result="ok") == 1
    assert support.metric(gw, "gateway_quota_consumed_total", app="social") == 3


async def test_a_trusted_sidecar_header_names_the_member(
    sandbox: TestServer, oauth_gateway: support.GatewayFactory
) -> None:
    gw = await oauth_gateway(apps={"social": {"trusted_member_header": True}})
    oauth = support.sandbox_oauth(sandbox)
    token = oauth.issue("c-social", "urn:li:person:unused", ("rw_organization_admin",))
    async with aiohttp.ClientSession() as session:
        status, _, headers = await support.call(
            session, gw, token, headers={HEADER: "urn:li:person:sidecar"}
        )
        assert status == 200 and '"member";r=9;' in headers["RateLimit"]
        # The first header pins the member to the token: later calls need no header.
        status, _, headers = await support.call(session, gw, token)
    assert status == 200 and '"member";r=8;' in headers["RateLimit"]
    assert oauth.calls["userinfo"] + oauth.calls["me"] == 0


@pytest.mark.parametrize(
    ("trusted", "header", "explains"),
    [
        (False, "urn:li:person:sidecar", "does not trust the X-Gateway-Member header"),
        (True, "urn:li:organization:1", "not a person URN"),
    ],
)
async def test_no_way_to_learn_the_member_is_401_naming_each_way_tried(
    sandbox: TestServer,
    oauth_gateway: support.GatewayFactory,
    trusted: bool,
    header: str,
    explains: str,
) -> None:
    gw = await oauth_gateway(apps={"social": {"trusted_member_header": trusted}})
    oauth = support.sandbox_oauth(sandbox)
    token = oauth.issue("c-social", "urn:li:person:nobody", ("rw_organization_admin",))
    async with aiohttp.ClientSession() as session:
        status, body, headers = await support.call(session, gw, token, headers={HEADER: header})
    assert status == 401 and headers["X-Gateway-Reason"] == "member_unknown"
    assert body["code"] == "MEMBER_UNKNOWN" and "WWW-Authenticate" in headers
    message = body["message"]
    for part in (
        "not issued through the gateway's /oauth flow",
        "no openid scope, so GET /v2/userinfo was not tried",
        "no r_basicprofile or r_liteprofile scope, so GET /v2/me was not tried",
        explains,
    ):
        assert part in message
    assert support.sandbox_oauth(sandbox).calls["me"] == 0


def after_introspection(oauth: SandboxOAuth, token: str, change: Callable[[Issued], None]) -> None:
    """Change the sandbox's record of ``token`` once introspection has read it: what the
    member lookup that follows sees differs from what introspection said."""
    original = oauth.issued
    seen = 0

    def issued(asked: str) -> Issued | None:
        nonlocal seen
        found = original(asked)
        if asked == token and found is not None:
            seen += 1
            if seen == 2:
                change(found)
        return found

    oauth.issued = issued  # type: ignore[method-assign,assignment]


async def call_changed(
    sandbox: TestServer, gw: TestServer, member: str, change: Callable[[Issued], None]
) -> tuple[int, dict[str, Any], Mapping[str, str]]:
    """One call with a fresh openid token whose record ``change`` alters after introspection."""
    oauth = support.sandbox_oauth(sandbox)
    token = oauth.issue("c-social", member, ("rw_organization_admin", "openid"))
    after_introspection(oauth, token, change)
    async with aiohttp.ClientSession() as session:
        return await support.call(session, gw, token)


async def test_a_lookup_linkedin_refuses_is_member_unknown(
    sandbox: TestServer, gw: TestServer
) -> None:
    def drop_openid(issued: Issued) -> None:
        issued.scopes = ("rw_organization_admin",)

    status, body, headers = await call_changed(sandbox, gw, "urn:li:person:x", drop_openid)
    assert status == 401 and headers["X-Gateway-Reason"] == "member_unknown"
    assert "GET /v2/userinfo answered 403 without a member id" in body["message"]
    assert support.sandbox_oauth(sandbox).calls["userinfo"] == 1


async def test_an_unreachable_upstream_makes_the_lookup_unavailable_not_unknown(
    sandbox: TestServer, aiohttp_server: support.ServerFactory, tmp_path: Path
) -> None:
    # Introspection answers (the sandbox), the API host does not.
    gw = await support.start_oauth_gateway(
        aiohttp_server,
        tmp_path,
        "http://127.0.0.1:9",
        oauth={"base": str(sandbox.make_url("/oauth/v2"))},
    )
    oauth = support.sandbox_oauth(sandbox)
    token = oauth.issue("c-social", "urn:li:person:z", ("rw_organization_admin", "openid"))
    async with aiohttp.ClientSession() as session:
        status, body, headers = await support.call(session, gw, token)
    assert status == 503 and headers["X-Gateway-Reason"] == "member_lookup_unavailable"
    assert "GET /v2/userinfo failed: upstream_unreachable" in body["message"]
    assert "Retry-After" in headers


async def test_a_lookup_that_sees_the_token_revoked_evicts_it(
    sandbox: TestServer, gw: TestServer
) -> None:
    def revoke(issued: Issued) -> None:
        issued.revoked = True

    status, body, headers = await call_changed(sandbox, gw, "urn:li:person:r", revoke)
    assert status == 401 and headers["X-Gateway-Reason"] == "revoked_token"
    assert body["serviceErrorCode"] == 65601
    assert support.metric(gw, "gateway_token_evictions_total", source="answer") == 1
