"""Build gateway configs for tests and run gateways and sandboxes on real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

# What the start_gateway fixture gives a test.
Start = Callable[..., Awaitable[TestServer]]

# 2027-01-15 08:00 UTC: the fake clocks' default start.
FIXED_NOW = 1_800_000_000.0
MEMBERS = [f"urn:li:person:m{i:02d}" for i in range(20)]
SOCIAL_SCOPES = (
    "[r_organization_social, w_organization_social, rw_organization_admin, r_basicprofile]"
)


def member_token(i: int) -> str:
    return f"tok-social-m{i:02d}"


def config_head(
    upstream: str, store: str, *, connect_timeout: float = 2, upstream_timeout: float = 5
) -> str:
    """The top of a test config: listeners on free ports, the upstream, the store, timeouts."""
    return f"""\
listen: 127.0.0.1:0
admin_listen: null
upstream: {upstream}
store: {store}
upstream_connect_timeout: {connect_timeout}
upstream_timeout: {upstream_timeout}
max_body_bytes: 65536
"""


def app_yaml(name: str, secret: str, *products: str) -> str:
    """One app's block under ``apps:`` (client id ``c-<name>``); each of ``products`` is one
    ``product: settings`` line."""
    lines = [f"  {name}:", f"    client_id: c-{name}", f"    client_secret: {secret}", "    products:"]
    return "\n".join([*lines, *(f"      {product}" for product in products)]) + "\n"


def gateway_yaml(
    upstream: str,
    *,
    store: str = "memory://",
    extra: str = "",
    social_quotas: str = "",
    suffix: str = "",
    upstream_timeout: float = 3,
    connect_timeout: float = 2,
) -> str:
    """A config with three apps: social (CM Development), social-std (CM Standard), ads.

    ``suffix`` is appended to every app name so tests sharing one Redis never share keys.
    """
    member_tokens = "\n".join(
        f"  - {{token: {member_token(i)}, app: social{suffix}, member: '{m}', scopes: {SOCIAL_SCOPES}}}"
        for i, m in enumerate(MEMBERS)
    )
    quotas = f"\n    quotas: {social_quotas}" if social_quotas else ""
    # Introspection asks the test's sandbox, never LinkedIn.
    oauth = f"oauth: {{base: '{upstream}/oauth/v2'}}" if upstream.startswith("http") else ""
    head = config_head(
        upstream, store, connect_timeout=connect_timeout, upstream_timeout=upstream_timeout
    )
    apps = (
        app_yaml(
            f"social{suffix}",
            "s-social",
            f"community_management: {{tier: development, since: 2026-06-01}}{quotas}",
        )
        + app_yaml(f"social-std{suffix}", "s-social-std", "community_management: {tier: standard}")
        + app_yaml(
            f"ads{suffix}", "s-ads", "advertising: {tier: development}", "matched_audiences: {}"
        )
    )
    return f"""\
{head}{oauth}
{extra}
apps:
{apps}tokens:
{member_tokens}
  - {{token: tok-social-narrow, app: social{suffix}, member: 'urn:li:person:narrow', scopes: [r_basicprofile]}}
  - {{token: tok-social-expired, app: social{suffix}, member: 'urn:li:person:old', scopes: {SOCIAL_SCOPES}, expires_at: 2020-01-01T00:00:00Z}}
  - {{token: tok-std, app: social-std{suffix}, member: 'urn:li:person:std', scopes: {SOCIAL_SCOPES}}}
  - {{token: tok-ads, app: ads{suffix}, member: 'urn:li:person:adsmember', scopes: [r_ads, rw_ads, rw_dmp_segments, r_ads_reporting]}}
"""


def write_config(tmp_path: Path, text: str, name: str = "gateway.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@dataclass
class FakeClock:
    """An injected clock: tests move time, the gateway never reads the wall clock."""

    now: float

    def __call__(self) -> float:
        return self.now


async def raw_http(host: str, port: int, data: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send raw bytes (nothing normalized on the way) and return status and body."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(data)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, body
    finally:
        writer.close()


async def exchange(
    server: TestServer,
    method: str,
    path: str,
    headers: dict[str, str],
    data: str | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One request on a session of its own: status, headers and the JSON body ({} when
    there is none)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.make_url(path), data=data, headers=headers) as resp,
    ):
        raw = await resp.read()
        return resp.status, dict(resp.headers), json.loads(raw) if raw else {}
