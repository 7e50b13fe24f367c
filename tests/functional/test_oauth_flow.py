"""The authorization-code flow through the gateway, against the sandbox's LinkedIn OAuth
side, over real sockets: authorize, callback, refresh, and every way each can be refused."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import UPSTREAM_BASE, build_gateway_app
from gateway.runtime import RUNTIME
from gateway.settings.loader import load_settings
from gateway.tokens.cache import Cached
from gateway.tokens.model import token_digest
from tests.functional import oauth_support as support
from tests.functional.gateway_harness import FakeClock

SCOPES = "openid r_organization_social rw_organization_admin"


async def recorded(gw: TestServer, token: str) -> Cached | None:
    identity = gw.app[RUNTIME].identity
    assert identity is not None
    found = await identity.chain.cache.lookup(token_digest(token), time.time())
    return found if isinstance(found, Cached) else None


@pytest.mark.parametrize(
    ("query", "reason", "words"),
    [
        ("scope=openid", "oauth_bad_request", ["app parameter is required"]),
        ("app=nope&scope=openid", "oauth_bad_request", ["unknown app 'nope'"]),
        ("app=social&app=ads&scope=openid", "oauth_bad_request", ["app parameter is repeated"]),
        ("app=social", "oauth_bad_request", ["scope parameter is required"]),
        ("app=social&scope=,,", "oauth_bad_request", ["names no scope"]),
        ("app=social&scope=openid&state=a%20b", "oauth_bad_request", ["state must be"]),
        ("app=social-std&scope=openid", "oauth_bad_request", ["no redirect_uri and return_url"]),
        (
            "app=social&scope=openid+r_ads+rw_dmp_segments",
            "scope_refused",
            ["r_ads: granted by Advertising API", "rw_dmp_segments: granted by Matched Audiences"],
        ),
        (
            "app=ads&scope=r_ads+audience_insights+media_planning",
            "scope_refused",
            [
                "audience_insights: Audience Insights is an application-level permission",
                "media_planning: Media Planning is an application-level permission",
            ],
        ),
        ("app=ads&scope=r_ads+r_made_up", "scope_refused", ["r_made_up: no LinkedIn product"]),
    ],
)
async def test_authorize_refuses_before_sending_the_member_anywhere(
    sandbox: TestServer,
    oauth_gateway: support.GatewayFactory,
    query: str,
    reason: str,
    words: list[str],
) -> None:
    gw = await oauth_gateway(apps={"social-std": {"return_url": None}})
    async with support.browser() as session, await support.authorize(session, gw, query) as resp:
        body = await resp.json()
        assert resp.status == 400 and resp.headers["X-Gateway-Reason"] == reason
        assert "Location" not in resp.headers
    assert body["status"] == 400 and body["code"] == "BAD_REQUEST"
    for word in words:
        assert word in body["message"]
    assert support.sandbox_oauth(sandbox).calls["authorization"] == 0


async def test_authorize_sends_the_member_to_linkedin_with_a_state_of_its_own(
    sandbox: TestServer, gw: TestServer
) -> None:
    async with (
        support.browser() as session,
        await support.authorize(session, gw, f"app=social&scope={SCOPES}&state=mine") as resp,
    ):
        assert resp.status == 302 and resp.headers["Cache-Control"] == "no-store"
        location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == str(
        sandbox.make_url("/oauth/v2/authorization")
    )
    query = parse_qs(location.query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["c-social"]
    assert query["redirect_uri"] == [support.REDIRECT_URI]
    assert query["scope"] == [SCOPES]
    assert query["state"] != ["mine"] and len(query["state"][0]) >= 32


async def test_the_whole_flow_records_the_token_and_delivers_it_by_form_post(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = support.sandbox_oauth(sandbox)
    oauth.member = "urn:li:person:flowmember"
    async with support.browser() as session:
        status, page, resp = await support.run_flow(session, gw, scope=SCOPES, state="s-1")
        assert status == 200 and resp.headers["Cache-Control"] == "no-store"
        assert "form-action " + support.RETURN_URL in resp.headers["Content-Security-Policy"]
        assert f'action="{support.RETURN_URL}"' in page and 'method="post"' in page
        fields = support.form_fields(page)
        assert fields["state"] == "s-1" and fields["app"] == "social"
        assert fields["member"] == "urn:li:person:flowmember"
        assert fields["expires_in"] == str(60 * 86400)
        assert fields["refresh_token_expires_in"] == str(365 * 86400)
        assert set(fields["scope"].split()) == set(SCOPES.split())
        token = fields["access_token"]
        status, _, headers = await support.call(session, gw, token)
    assert status == 200
    assert '"member";r=9;' in headers["RateLimit"]  # the id_token's member is charged
    # Recorded by the flow: no introspection, no member lookup.
    assert oauth.calls["introspectToken"] == 0 and oauth.calls["userinfo"] == 0
    found = await recorded(gw, token)
    assert found is not None and found.origin == "flow"
    assert found.info.member == "urn:li:person:flowmember" and found.info.app == "social"
    assert (
        support.metric(gw, "gateway_oauth_tokens_recorded_total", app="social", grant="code") == 1
    )


async def test_a_flow_without_openid_learns_the_member_later(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = support.sandbox_oauth(sandbox)
    async with support.browser() as session:
        status, page, _ = await support.run_flow(
            session, gw, scope="rw_organization_admin r_basicprofile"
        )
        assert status == 200
        fields = support.form_fields(page)
        assert "member" not in fields
        assert (await support.call(session, gw, fields["access_token"]))[0] == 200
    assert oauth.calls["jwks"] == 0 and oauth.calls["me"] == 1


async def test_a_member_who_declines_is_reported_to_the_app(
    sandbox: TestServer, gw: TestServer
) -> None:
    support.sandbox_oauth(sandbox).consent = False
    async with support.browser() as session:
        status, page, _ = await support.run_flow(session, gw, state="s-2")
    fields = support.form_fields(page)
    assert status == 200 and fields["error"] == "user_cancelled_authorize"
    assert fields["state"] == "s-2" and "access_token" not in fields
    assert support.sandbox_oauth(sandbox).calls["accessToken"] == 0


async def test_a_forged_state_is_refused_and_nothing_is_exchanged(
    sandbox: TestServer, gw: TestServer
) -> None:
    async with support.browser() as session:
        for params in ({"code": "c", "state": "forged-state"}, {"code": "c"}):
            status, text, resp = await support.callback(session, gw, params)
            assert status == 400 and resp.headers["X-Gateway-Reason"] == "state_unknown"
            assert "BAD_REQUEST" in text
    assert support.sandbox_oauth(sandbox).calls["accessToken"] == 0


async def test_a_replayed_state_is_refused(sandbox: TestServer, gw: TestServer) -> None:
    async with support.browser() as session:
        async with await support.authorize(session, gw, f"app=social&scope={SCOPES}") as resp:
            params = await support.consent(session, resp.headers["Location"])
        assert (await support.callback(session, gw, params))[0] == 200
        status, text, resp = await support.callback(session, gw, params)
    assert status == 400 and resp.headers["X-Gateway-Reason"] == "state_replayed"
    assert "already used" in text
    assert support.sandbox_oauth(sandbox).calls["accessToken"] == 1


async def test_an_expired_state_is_refused(
    sandbox: TestServer, oauth_gateway: support.GatewayFactory
) -> None:
    clock = FakeClock(time.time())
    gw = await oauth_gateway(clock=clock, oauth={"state_seconds": 60})
    async with support.browser() as session:
        async with await support.authorize(session, gw, f"app=social&scope={SCOPES}") as resp:
            params = await support.consent(session, resp.headers["Location"])
        clock.now += 61
        status, _, resp = await support.callback(session, gw, params)
    assert status == 400 and resp.headers["X-Gateway-Reason"] == "state_unknown"


async def test_a_code_issued_for_another_redirect_uri_is_refused(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = support.sandbox_oauth(sandbox)
    async with support.browser() as session:
        async with await support.authorize(session, gw, f"app=social&scope={SCOPES}") as resp:
            url = urlsplit(resp.headers["Location"])
        # Someone swaps the redirect_uri on the way to LinkedIn.
        query = dict(parse_qsl(url.query))
        query["redirect_uri"] = "https://evil.example/cb"
        tampered = url._replace(query=urlencode(query)).geturl()
        async with session.get(tampered, allow_redirects=False) as resp:
            back = urlsplit(resp.headers["Location"])
        assert back.netloc == "evil.example"
        status, text, resp = await support.callback(session, gw, dict(parse_qsl(back.query)))
    assert status == 400 and resp.headers["X-Gateway-Reason"] == "redirect_uri_mismatch"
    assert "redirect" in text
    assert oauth.tokens == {}  # nothing issued, nothing recorded


async def test_linkedin_refusing_an_unregistered_redirect_uri_never_reaches_the_gateway(
    sandbox: TestServer, gw: TestServer
) -> None:
    support.sandbox_oauth(sandbox).redirect_uris["c-social"] = ["https://registered.example/cb"]
    async with support.browser() as session:
        async with await support.authorize(session, gw, f"app=social&scope={SCOPES}") as resp:
            location = resp.headers["Location"]
        async with session.get(location, allow_redirects=False) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("bad_signature", "id_token_bad_signature"),
        ("wrong_issuer", "id_token_wrong_issuer"),
        ("wrong_audience", "id_token_wrong_audience"),
        ("expired", "id_token_expired"),
    ],
)
async def test_a_bad_id_token_is_refused_and_nothing_is_recorded(
    sandbox: TestServer, oauth_gateway: support.GatewayFactory, fault: str, reason: str
) -> None:
    gw = await oauth_gateway()
    oauth = support.sandbox_oauth(sandbox)
    oauth.id_token_fault = fault
    async with support.browser() as session:
        status, text, resp = await support.run_flow(session, gw, scope=SCOPES, state="s")
    assert status == 400 and resp.headers["X-Gateway-Reason"] == reason
    assert "access_token" not in text and '"code":"BAD_REQUEST"' in text
    assert len(oauth.tokens) == 1  # LinkedIn issued one; the gateway recorded none
    identity = gw.app[RUNTIME].identity
    assert identity is not None
    for digest in oauth.tokens:
        assert await identity.chain.cache.lookup(digest, time.time()) is None


async def test_the_token_endpoint_down_is_503_and_records_nothing(
    sandbox: TestServer, oauth_gateway: support.GatewayFactory
) -> None:
    dead = "http://127.0.0.1:9/oauth/v2"
    gw = await oauth_gateway(oauth={"base": dead, "timeout": 0.5})
    async with support.browser() as session:
        async with await support.authorize(session, gw, f"app=social&scope={SCOPES}") as resp:
            assert resp.headers["Location"].startswith(dead + "/authorization?")
            state = parse_qs(urlsplit(resp.headers["Location"]).query)["state"][0]
        status, _, resp = await support.callback(session, gw, {"code": "x", "state": state})
    assert status == 503 and resp.headers["X-Gateway-Reason"] == "oauth_unavailable"


async def test_refresh_gives_a_new_recorded_token_without_extending_the_refresh_token(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = support.sandbox_oauth(sandbox)
    oauth.member = "urn:li:person:refresher"
    sandbox_now = time.time()
    oauth.clock = lambda: sandbox_now
    async with support.browser() as session:
        status, page, _ = await support.run_flow(session, gw, scope=SCOPES)
        assert status == 200
        first = support.form_fields(page)
        sandbox_now += 10 * 86400  # ten days later
        form = {"app": "social", "refresh_token": first["refresh_token"]}
        async with session.post(gw.make_url("/oauth/refresh"), data=form) as resp:
            assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
            answer = await resp.json()
        assert answer["access_token"] != first["access_token"]
        assert answer["expires_in"] == 60 * 86400
        assert answer["refresh_token_expires_in"] == 355 * 86400
        assert answer["member"] == "urn:li:person:refresher"
        assert (await support.call(session, gw, answer["access_token"]))[0] == 200
    assert oauth.calls["introspectToken"] == 0  # the refreshed token was recorded
    found = await recorded(gw, answer["access_token"])
    assert found is not None and found.info.member == "urn:li:person:refresher"
    assert (
        support.metric(gw, "gateway_oauth_tokens_recorded_total", app="social", grant="refresh")
        == 1
    )


@pytest.mark.parametrize(
    ("form", "status", "reason"),
    [
        ({"app": "social", "refresh_token": "not-a-refresh-token"}, 400, "refresh_failed"),
        ({"app": "nope", "refresh_token": "x"}, 400, "oauth_bad_request"),
        ({"app": "social"}, 400, "oauth_bad_request"),
    ],
)
async def test_refresh_refusals(
    sandbox: TestServer,
    oauth_gateway: support.GatewayFactory,
    form: dict[str, str],
    status: int,
    reason: str,
) -> None:
    gw = await oauth_gateway()
    async with (
        support.browser() as session,
        session.post(gw.make_url("/oauth/refresh"), data=form) as resp,
    ):
        assert resp.status == status and resp.headers["X-Gateway-Reason"] == reason
        assert (await resp.json())["status"] == status


async def test_the_shipped_demo_runs_the_whole_flow_offline(
    aiohttp_server: support.ServerFactory,
) -> None:
    # `linkedin-gateway serve` on its defaults: upstream sandbox, OAuth base left unset.
    settings = load_settings(None, environ={})
    assert settings.upstream == "sandbox" and settings.oauth.base is None
    gw = await aiohttp_server(build_gateway_app(settings))
    sandbox_base = gw.app[UPSTREAM_BASE]
    scope = "openid%20r_organization_social%20rw_organization_admin"
    async with support.browser() as session:
        async with await support.authorize(
            session, gw, f"app=acme-social&scope={scope}&state=d"
        ) as resp:
            location = resp.headers["Location"]
        assert location.startswith(f"{sandbox_base}/oauth/v2/authorization?")
        async with session.get(location, allow_redirects=False) as resp:
            back = urlsplit(resp.headers["Location"])
        app = settings.apps["acme-social"]
        assert f"{back.scheme}://{back.netloc}{back.path}" == app.redirect_uri
        status, page, _ = await support.callback(session, gw, dict(parse_qsl(back.query)))
        fields = support.form_fields(page)
        assert status == 200 and fields["state"] == "d"
        assert (await support.call(session, gw, fields["access_token"]))[0] == 200
