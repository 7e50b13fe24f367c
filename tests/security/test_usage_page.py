"""The usage page shows text that callers chose (a resource named by the request path):
it must reach the page as text, never as markup, and the marks must stay bounded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from gateway.app import build_gateway_app
from gateway.http.admin import build_admin_app
from gateway.sandbox.app import make_sandbox_app
from gateway.settings.loader import load_settings
from gateway.usage import learned
from gateway.usage.ledger import LearnedMark
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config

ServerFactory = Callable[..., Awaitable[TestServer]]
HOSTILE = "%3Cscript%3Ealert(1)%3C"


async def test_a_hostile_resource_name_is_escaped_on_the_page(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    sandbox = await aiohttp_server(make_sandbox_app())
    text = gateway_yaml(str(sandbox.make_url("")))
    settings = load_settings(write_config(tmp_path, text), environ={})
    gateway = await aiohttp_server(build_gateway_app(settings))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    headers = {
        "Authorization": f"Bearer {member_token(0)}",
        "LinkedIn-Version": "202505",
        "X-Sandbox-Throttle": "APPLICATION",
    }
    async with aiohttp.ClientSession() as session:
        url = str(gateway.make_url("")) + f"/rest/{HOSTILE}/x"
        async with session.get(URL(url, encoded=True), headers=headers) as answer:
            assert answer.status == 429
        async with session.get(admin.make_url("/usage")) as response:
            page = await response.text()
            policy = response.headers["Content-Security-Policy"]
        async with session.get(admin.make_url("/usage/social")) as response:
            report = await response.json()
    assert report["learned"][0]["resource"] == "rest/<script>alert(1)<"
    assert "<script" not in page
    assert "rest/&lt;script&gt;alert(1)&lt;" in page
    # Even markup that slipped through could run nothing: no script source is allowed.
    assert policy == "default-src 'none'; style-src 'unsafe-inline'"


def test_learned_marks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learned, "MAX_MARKS", 5)
    limits = learned.LearnedLimits()
    now = 1_700_000_000.0
    added = [
        limits.add("a", LearnedMark("APPLICATION", f"rest/r{i}", None, now), now) for i in range(8)
    ]
    assert added == [True] * 5 + [False] * 3
    assert len(limits.of_app("a", now)) == 5
