"""LinkedIn's official SDK AuthClient against the sandbox's OAuth side, and the tokens it
gets through the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp.test_utils import TestServer
from linkedin_api.clients.auth.client import AuthClient
from linkedin_api.common import constants

from tests.functional.oauth_support import ACLS, browser, call, sandbox_oauth, start_oauth_gateway

ServerFactory = Callable[..., Awaitable[TestServer]]
REDIRECT = "https://app.example/sdk/callback"


@pytest.fixture
def sdk_oauth(sandbox: TestServer) -> Iterator[str]:
    """The SDK's OAUTH_BASE_URL pointed at the sandbox (read at call time), then restored."""
    saved = constants.OAUTH_BASE_URL
    constants.OAUTH_BASE_URL = str(sandbox.make_url("/oauth/v2"))
    try:
        yield constants.OAUTH_BASE_URL
    finally:
        constants.OAUTH_BASE_URL = saved


async def authorization_code(base: str, client_id: str, scopes: str) -> str:
    query = urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": scopes}
    )
    async with (
        browser() as session,
        session.get(f"{base}/authorization?{query}", allow_redirects=False) as resp,
    ):
        assert resp.status == 302
        return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]


async def test_the_sdk_exchanges_a_code_introspects_and_refreshes(
    sandbox: TestServer, sdk_oauth: str
) -> None:
    sandbox_oauth(sandbox).clients["c-sdk"] = "s-sdk"
    client = AuthClient("c-sdk", "s-sdk", REDIRECT)
    try:
        code = await authorization_code(sdk_oauth, "c-sdk", "openid r_basicprofile")
        token = await asyncio.to_thread(client.exchange_auth_code_for_access_token, code)
        assert token.status_code == 200 and token.expires_in == 60 * 86400
        assert token.access_token and token.refresh_token and token.scope == "openid,r_basicprofile"

        facts = await asyncio.to_thread(client.introspect_access_token, token.access_token)
        assert facts.status_code == 200 and facts.active is True and facts.status == "active"
        assert facts.client_id == "c-sdk" and facts.scope == "openid,r_basicprofile"
        assert facts.auth_type == "3L" and facts.expires_at > facts.created_at

        refreshed = await asyncio.to_thread(
            client.exchange_refresh_token_for_access_token, token.refresh_token
        )
        assert refreshed.status_code == 200 and refreshed.access_token != token.access_token
        assert refreshed.refresh_token_expires_in <= 365 * 86400

        # Another app's credentials see the token as inactive; wrong secrets are refused.
        other, wrong = AuthClient("c-other", "x"), AuthClient("c-sdk", "wrong")
        try:
            elsewhere = await asyncio.to_thread(other.introspect_access_token, token.access_token)
            refused = await asyncio.to_thread(wrong.introspect_access_token, token.access_token)
        finally:
            other.session.close()
            wrong.session.close()
        assert elsewhere.active is False
        assert refused.status_code == 401
    finally:
        client.session.close()


async def test_a_token_the_sdk_got_works_through_the_gateway(
    sandbox: TestServer, sdk_oauth: str, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    gw = await start_oauth_gateway(aiohttp_server, tmp_path, str(sandbox.make_url("")))
    client = AuthClient("c-social", "s-social", REDIRECT)
    try:
        code = await authorization_code(sdk_oauth, "c-social", "rw_organization_admin openid")
        token = await asyncio.to_thread(client.exchange_auth_code_for_access_token, code)
    finally:
        client.session.close()
    async with browser() as session:
        status, _, headers = await call(session, gw, token.access_token, ACLS)
    assert status == 200 and '"member";r=8;' in headers["RateLimit"]
    assert sandbox_oauth(sandbox).calls["introspectToken"] == 1
