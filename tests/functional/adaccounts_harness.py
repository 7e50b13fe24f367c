"""Gateways for the advertising tests: apps on each Advertising tier and app-level products."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.settings.loader import load_settings
from gateway.settings.model import Settings
from tests.functional.gateway_harness import app_yaml, config_head, write_config

ServerFactory = Callable[..., Awaitable[TestServer]]
VERSION = "202505"
ADS_SCOPES = "[r_ads, rw_ads, rw_dmp_segments, r_ads_reporting, rw_conversions]"


def ads_yaml(upstream: str, *, store: str = "memory://", suffix: str = "", std_extra: str = "", on_store_error: str = "closed") -> str:
    """Apps: ads (Advertising Development + Matched Audiences + Conversions), ads-std
    (Advertising Standard), insights (Advertising + Audience Insights), planner (Media
    Planning only). ``std_extra`` is appended to ads-std's block (e.g. route_limits).
    """
    development = "advertising: {tier: development}"
    apps = (
        app_yaml(f"ads{suffix}", "s-ads", development, "matched_audiences: {}", "conversions: {}")
        + app_yaml(f"ads-std{suffix}", "s-ads-std", "advertising: {tier: standard}")
        + f"{std_extra}\n"
        + app_yaml(f"insights{suffix}", "s-insights", development, "audience_insights: {}")
        + app_yaml(f"planner{suffix}", "s-planner", "media_planning: {}")
    )
    return f"""\
{config_head(upstream, store)}on_store_error: {on_store_error}
apps:
{apps}tokens:
  - {{token: tok-ads, app: ads{suffix}, member: 'urn:li:person:ads', scopes: {ADS_SCOPES}}}
  - {{token: tok-ads-std, app: ads-std{suffix}, member: 'urn:li:person:std1', scopes: [r_ads, rw_ads, r_ads_reporting]}}
  - {{token: tok-ads-std2, app: ads-std{suffix}, member: 'urn:li:person:std2', scopes: [r_ads, rw_ads, r_ads_reporting]}}
  - {{token: tok-insights, app: insights{suffix}, member: 'urn:li:person:ins', scopes: []}}
  - {{token: tok-planner, app: planner{suffix}, member: 'urn:li:person:plan', scopes: []}}
"""


def load(tmp_path: Path, text: str, name: str = "gateway.yaml") -> Settings:
    return load_settings(write_config(tmp_path, text, name), environ={})


async def start(aiohttp_server: ServerFactory, settings: Settings) -> TestServer:
    return await aiohttp_server(build_gateway_app(settings, clock=time.time))


def headers(token: str, method: str | None = None, **extra: str) -> dict[str, str]:
    out = {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    if method is not None:
        out["X-RestLi-Method"] = method
    out.update(extra)
    return out


def sponsored(account: int | str) -> str:
    return f"urn:li:sponsoredAccount:{account}"


async def send(
    session: ClientSession,
    gateway: TestServer,
    method: str,
    path: str,
    who: str = "tok-ads",
    *,
    body: Mapping[str, Any] | bytes | None = None,
    restli: str | None = None,
    **extra: str,
) -> ClientResponse:
    """One request through ``gateway`` with the token ``who``; the body is read before
    returning."""
    data = json.dumps(body).encode() if isinstance(body, Mapping) else body
    sent = headers(who, restli, **extra)
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    response = await session.request(method, gateway.make_url(path), headers=sent, data=data)
    await response.read()
    return response


def campaign_group(account: int | str) -> dict[str, Any]:
    return {"account": sponsored(account), "name": f"Group of {account}", "status": "DRAFT"}


def new_account(*, test: bool | None = True, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Sandbox test account",
        "type": "BUSINESS",
        "currency": "USD",
        "reference": "urn:li:organization:1",
    }
    if test is not None:
        body["test"] = test
    body.update(fields)
    return body
