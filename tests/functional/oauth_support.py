"""Configs and walks for the OAuth and introspection tests (real sockets throughout)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import yaml
from aiohttp.test_utils import TestServer
from yarl import URL

from gateway.app import build_gateway_app
from gateway.quota.store import QuotaStore
from gateway.runtime import RUNTIME, Clock
from gateway.sandbox.oauth import SANDBOX_OAUTH, SandboxOAuth
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, write_config

ServerFactory = Callable[..., Awaitable[TestServer]]
GatewayFactory = Callable[..., Awaitable[TestServer]]

REDIRECT_URI = "https://app.example/linkedin/callback"
RETURN_URL = "https://app.example/linkedin/done"
V = {"LinkedIn-Version": "202505"}
ACLS = "/rest/organizationAcls?q=roleAssignee"
POSTS = "/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A1"
_INPUT = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


class LoopbackJar(aiohttp.CookieJar):
    """A browser's cookie jar: it keeps cookies of IP hosts and, as browsers do for
    loopback, treats http://127.0.0.1 as a secure context (Secure and __Host- cookies are
    kept and sent there)."""

    def __init__(self) -> None:
        super().__init__(unsafe=True)

    def update_cookies(self, cookies: Any, response_url: URL = URL()) -> None:  # noqa: B008
        super().update_cookies(cookies, _secure(response_url))

    def filter_cookies(self, request_url: URL = URL()) -> Any:  # noqa: B008
        return super().filter_cookies(_secure(request_url))


def _secure(url: URL) -> URL:
    if url.scheme == "http" and url.host in ("127.0.0.1", "localhost", "::1"):
        return url.with_scheme("https").with_port(url.port)
    return url


def browser() -> aiohttp.ClientSession:
    """A client session that keeps the gateway's cookies, as the member's browser would."""
    return aiohttp.ClientSession(cookie_jar=LoopbackJar())


def oauth_yaml(
    upstream: str,
    *,
    oauth: Mapping[str, Any] | None = None,
    apps: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> str:
    """The harness config plus OAuth keys: ``oauth`` merges into the ``oauth:`` section,
    ``apps`` into each named app (every app gets the test redirect_uri and return_url)."""
    config = yaml.safe_load(gateway_yaml(upstream, **options))
    config["oauth"] = {**config.get("oauth", {}), **(oauth or {})}
    for name, app in config["apps"].items():
        app.update({"redirect_uri": REDIRECT_URI, "return_url": RETURN_URL})
        app.update((apps or {}).get(name, {}))
    return str(yaml.safe_dump(config, sort_keys=False))


async def start_oauth_gateway(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    upstream: str,
    *,
    clock: Clock | None = None,
    quota_store: QuotaStore | None = None,
    name: str = "gateway.yaml",
    **options: Any,
) -> TestServer:
    path = write_config(tmp_path, oauth_yaml(upstream, **options), name)
    settings = load_settings(path, environ={})
    kwargs: dict[str, Any] = {"store": quota_store}
    if clock is not None:
        kwargs["clock"] = clock
    return await aiohttp_server(build_gateway_app(settings, **kwargs))


def sandbox_oauth(sandbox: TestServer) -> SandboxOAuth:
    return sandbox.app[SANDBOX_OAUTH]


def metric(gw: TestServer, name: str, **labels: str) -> float:
    return gw.app[RUNTIME].metrics.value(name, **labels)


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of the callback's auto-submitting form."""
    import html

    return {html.unescape(k): html.unescape(v) for k, v in _INPUT.findall(page)}


async def authorize(
    session: aiohttp.ClientSession, gw: TestServer, query: str
) -> aiohttp.ClientResponse:
    return await session.get(gw.make_url(f"/oauth/authorize?{query}"), allow_redirects=False)


async def consent(session: aiohttp.ClientSession, location: str) -> dict[str, str]:
    """Follow the gateway's 302 to the sandbox's authorization: the query it sends back."""
    async with session.get(location, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        back = resp.headers["Location"]
    assert back.startswith(REDIRECT_URI)
    return dict(parse_qsl(urlsplit(back).query))


async def callback(
    session: aiohttp.ClientSession, gw: TestServer, params: Mapping[str, str]
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with session.get(gw.make_url("/oauth/callback"), params=dict(params)) as resp:
        return resp.status, await resp.text(), resp


async def run_flow(
    session: aiohttp.ClientSession,
    gw: TestServer,
    *,
    app: str = "social",
    scope: str = "openid r_organization_social",
    state: str = "caller-state-1",
) -> tuple[int, str, aiohttp.ClientResponse]:
    """The whole flow: authorize -> sandbox consent -> callback, as callback answers it."""
    async with await authorize(session, gw, f"app={app}&scope={scope}&state={state}") as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    return await callback(session, gw, await consent(session, location))


async def call(
    session: aiohttp.ClientSession,
    gw: TestServer,
    token: str,
    path: str = ACLS,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, Any], Mapping[str, str]]:
    sent = {**V, "Authorization": f"Bearer {token}", **(headers or {})}
    async with session.get(gw.make_url(path), headers=sent) as resp:
        body = await resp.json(content_type=None) if resp.content_length != 0 else {}
        return resp.status, body, resp.headers
