"""Login CSRF and stolen codes: the flow is bound to the browser that started it.

The attack as reproduced: an attacker calls /oauth/authorize (no caller state), consents,
stops before the callback and sends the callback URL to a victim; the victim's browser
opened it and auto-POSTed the attacker's tokens to the app's return_url. The callback now
wants the cookie /oauth/authorize set in the browser that started the flow; the code
exchange carries a PKCE verifier only the gateway holds; and id_tokens not valid yet, or
meant for several parties without naming this client as ``azp``, are refused.
"""

from __future__ import annotations

import base64
import hashlib
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.functional import oauth_support as support

SCOPES = "openid r_organization_social rw_organization_admin"
VERIFIER = "verifier-" + "v" * 50


async def start(
    aiohttp_server: support.ServerFactory, tmp_path: Path, sandbox: TestServer, **options: Any
) -> TestServer:
    return await support.start_oauth_gateway(
        aiohttp_server, tmp_path, str(sandbox.make_url("")), **options
    )


@pytest.fixture
async def gw(
    aiohttp_server: support.ServerFactory, tmp_path: Path, sandbox: TestServer
) -> TestServer:
    """The OAuth gateway in front of the sandbox, with the default config."""
    return await start(aiohttp_server, tmp_path, sandbox)


async def attacker_callback(
    gw: TestServer, query: str = f"app=social&scope={SCOPES}"
) -> tuple[dict[str, str], SimpleCookie, str]:
    """The attacker's half: authorize and consent in their own browser, keep the callback
    parameters (code and state), the cookie their browser got, and the authorize redirect."""
    async with support.browser() as attacker:
        async with await support.authorize(attacker, gw, query) as resp:
            assert resp.status == 302, await resp.text()
            location = resp.headers["Location"]
            cookies = SimpleCookie()
            for header in resp.headers.getall("Set-Cookie", []):
                cookies.load(header)
        params = await support.consent(attacker, location)
    return params, cookies, location


async def test_a_callback_url_opened_in_another_browser_delivers_nothing(
    sandbox: TestServer, gw: TestServer
) -> None:
    oauth = support.sandbox_oauth(sandbox)
    params, _, _ = await attacker_callback(gw)
    async with support.browser() as victim:
        status, page, resp = await support.callback(victim, gw, params)
    assert "access_token" not in support.form_fields(page)
    assert (status, resp.headers["X-Gateway-Reason"]) == (400, "state_not_bound")
    assert oauth.calls["accessToken"] == 0  # the attacker's code was never exchanged


async def test_a_cookie_under_another_name_or_with_another_secret_is_refused(
    sandbox: TestServer, aiohttp_server: support.ServerFactory, tmp_path: Path
) -> None:
    """The attacker knows their own secret: planted in the victim's browser under the
    prefix-less name (a sibling subdomain can set that one, never a __Host- one), or under
    the right name with a secret of another flow, it binds nothing."""
    gw = await start(aiohttp_server, tmp_path, sandbox)
    _, other, _ = await attacker_callback(gw)
    [(_, other_morsel)] = other.items()
    for plant in (
        lambda name, value: {name.removeprefix("__Host-"): value},
        lambda name, value: {name: other_morsel.value},
        lambda name, value: {name: value + "x"},
    ):
        # A refused callback uses its state up: each try is a fresh flow of the attacker's.
        params, cookies, _ = await attacker_callback(gw)
        [(name, morsel)] = cookies.items()
        assert name.startswith("__Host-lgw_oauth_")
        planted = plant(name, morsel.value)
        async with support.browser() as victim:
            status, page, resp = await _callback_with(victim, gw, params, planted)
        assert "access_token" not in support.form_fields(page)
        assert (status, resp.headers["X-Gateway-Reason"]) == (400, "state_not_bound")


async def _callback_with(
    session: aiohttp.ClientSession,
    gw: TestServer,
    params: dict[str, str],
    cookies: dict[str, str],
) -> tuple[int, str, aiohttp.ClientResponse]:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    async with session.get(
        gw.make_url("/oauth/callback"), params=params, headers={"Cookie": header}
    ) as resp:
        return resp.status, await resp.text(), resp


async def test_the_browser_that_started_the_flow_gets_its_tokens_and_the_cookie_cleared(
    gw: TestServer,
) -> None:
    async with support.browser() as member:
        status, page, _ = await support.run_flow(member, gw, scope=SCOPES)
        assert status == 200 and support.form_fields(page)["access_token"].startswith("AQ")
        assert not [c for c in member.cookie_jar if c.key.startswith("__Host-lgw_oauth_")]


async def test_the_binding_cookie_is_host_only_secure_httponly_lax(gw: TestServer) -> None:
    _, cookies, _ = await attacker_callback(gw)
    [(name, morsel)] = cookies.items()
    assert name.startswith("__Host-lgw_oauth_")
    assert morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"] == "Lax" and morsel["path"] == "/" and not morsel["domain"]
    assert len(morsel.value) >= 43  # 256 random bits


async def test_on_a_plain_http_redirect_uri_the_cookie_drops_the_prefix_and_secure(
    sandbox: TestServer, aiohttp_server: support.ServerFactory, tmp_path: Path
) -> None:
    """The loopback demo: browsers refuse __Host- and Secure cookies on plain http."""
    plain = "http://127.0.0.1:8080/oauth/callback"
    gw = await start(aiohttp_server, tmp_path, sandbox, apps={"social": {"redirect_uri": plain}})
    async with (
        support.browser() as member,
        await support.authorize(member, gw, f"app=social&scope={SCOPES}") as r,
    ):
        cookies = SimpleCookie()
        for header in r.headers.getall("Set-Cookie", []):
            cookies.load(header)
    [(name, morsel)] = cookies.items()
    assert name.startswith("lgw_oauth_") and not morsel["secure"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"


async def test_the_code_exchange_is_pkce_bound(
    sandbox: TestServer, aiohttp_server: support.ServerFactory, tmp_path: Path
) -> None:
    """The authorize redirect carries an S256 challenge; a code taken from the callback
    URL, redeemed at LinkedIn without the verifier only the gateway holds, is refused."""
    gw = await start(aiohttp_server, tmp_path, sandbox)
    params, _, location = await attacker_callback(gw)
    sent = parse_qs(urlsplit(location).query)
    assert sent["code_challenge_method"] == ["S256"]
    assert len(sent["code_challenge"][0]) == 43  # BASE64URL(SHA-256), no padding
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": support.REDIRECT_URI,
        "client_id": "c-social",
        "client_secret": "s-social",
    }
    async with (
        aiohttp.ClientSession() as thief,
        thief.post(sandbox.make_url("/oauth/v2/accessToken"), data=form) as resp,
    ):
        assert resp.status == 400
        assert "code verifier" in (await resp.json())["error_description"]
    assert support.sandbox_oauth(sandbox).calls["pkce_refused"] == 1


async def test_the_sandbox_refuses_a_wrong_verifier_and_plain_challenges(
    sandbox: TestServer,
) -> None:
    """The sandbox's side of PKCE is real: the gateway's exchange passes only because the
    verifier matches."""
    base = sandbox.make_url("/oauth/v2/authorization")
    query = {
        "response_type": "code",
        "client_id": "c-pkce",
        "redirect_uri": support.REDIRECT_URI,
        "scope": "r_basicprofile",
        "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
        .rstrip(b"=")
        .decode(),
        "code_challenge_method": "S256",
    }
    async with aiohttp.ClientSession() as session:
        async with session.get(base, params=query, allow_redirects=False) as resp:
            code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": support.REDIRECT_URI,
            "client_id": "c-pkce",
        }
        token_url = sandbox.make_url("/oauth/v2/accessToken")
        async with session.post(token_url, data=exchange | {"code_verifier": "wrong"}) as resp:
            assert resp.status == 400
        async with session.get(base, params=query, allow_redirects=False) as resp:
            code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
        ok = exchange | {"code": code, "code_verifier": VERIFIER}
        async with session.post(token_url, data=ok) as resp:
            assert resp.status == 200
        plain = query | {"code_challenge_method": "plain"}
        async with session.get(base, params=plain, allow_redirects=False) as resp:
            assert resp.status == 400


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("not_yet_valid", "id_token_not_yet_valid"),
        ("audience_list", "id_token_wrong_audience"),
        ("other_azp", "id_token_wrong_audience"),
    ],
)
async def test_id_tokens_not_valid_yet_or_for_another_party_are_refused(
    sandbox: TestServer,
    aiohttp_server: support.ServerFactory,
    tmp_path: Path,
    fault: str,
    reason: str,
) -> None:
    gw = await start(aiohttp_server, tmp_path, sandbox)
    support.sandbox_oauth(sandbox).id_token_fault = fault
    async with support.browser() as member:
        async with await support.authorize(member, gw, f"app=social&scope={SCOPES}") as resp:
            location = resp.headers["Location"]
        params = await support.consent(member, location)
        status, page, resp = await support.callback(member, gw, params)
    assert "access_token" not in support.form_fields(page)
    assert (status, resp.headers["X-Gateway-Reason"]) == (400, reason)
