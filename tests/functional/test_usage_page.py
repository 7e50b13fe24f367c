"""The usage page as a person sees it: a known burst through the gateway, then the page
rendered by headless Chromium, its numbers read from the DOM Chromium built, and a
screenshot kept in docs/usage-page.png (shown in the README)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.http.admin import build_admin_app
from tests.functional.chromium import run_chromium
from tests.functional.gateway_harness import FakeClock, member_token

Start = Callable[..., Awaitable[TestServer]]
ServerFactory = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "usage-page.png"
# A fixed moment: the page (and its screenshot) is the same on every run.
NOW = datetime(2027, 5, 20, 18, 30, tzinfo=UTC).timestamp()


class PageReader(HTMLParser):
    """Rows of bucket tables and counted list items, as (data attributes, cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.items: list[dict[str, str]] = []
        self._cell: str | None = None
        self._item: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        classes = found.get("class", "").split()
        if tag == "tr" and "bucket" in classes:
            self.rows.append({k.removeprefix("data-"): v for k, v in found.items()})
        elif tag == "td" and self.rows and {"used", "limit", "remaining"} & set(classes):
            self._cell = next(c for c in classes if c in ("used", "limit", "remaining"))
        elif tag == "li" and "data-reason" in found:
            self._item = {"kind": classes[0] if classes else "", "reason": found["data-reason"]}
            self.items.append(self._item)
        elif tag == "span" and "count" in classes and self._item is not None:
            self._cell = "count"

    def handle_data(self, data: str) -> None:
        if self._cell == "count" and self._item is not None:
            self._item["count"] = data.strip()
        elif self._cell is not None:
            self.rows[-1][self._cell] = data.strip()
        self._cell = None

    def row(self, app: str, bucket: str, member: str = "") -> dict[str, str]:
        return next(
            r for r in self.rows if (r["app"], r["bucket"], r["member"]) == (app, bucket, member)
        )


async def call(gateway: TestServer, token: str, **headers: str) -> int:
    sent = {"Authorization": f"Bearer {token}", "LinkedIn-Version": "202505", **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.make_url(PATH), headers=sent) as response,
    ):
        await response.read()
        return response.status


async def test_the_page_shows_a_known_burst(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    gateway = await start_gateway(str(sandbox.make_url("")), clock=FakeClock(NOW))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    statuses = [await call(gateway, member_token(0)) for _ in range(12)]
    assert statuses == [200] * 10 + [429] * 2
    assert [await call(gateway, member_token(1)) for _ in range(3)] == [200] * 3
    assert await call(gateway, "tok-social-narrow") == 403
    assert [await call(gateway, "tok-std") for _ in range(4)] == [200] * 4
    # LinkedIn throttles the app on this resource: learned, and the next call is answered here.
    assert await call(gateway, member_token(2), **{"X-Sandbox-Throttle": "APPLICATION"}) == 429
    assert await call(gateway, member_token(3)) == 429

    url = str(admin.make_url("/usage"))
    dom = (await run_chromium(tmp_path / "profile", "--dump-dom", url)).decode()
    page = PageReader()
    page.feed(dom)

    assert page.row("social", "app") == {
        **page.row("social", "app"),
        "used": "14",
        "limit": "100",
        "remaining": "86",
    }
    m00 = page.row("social", "member", "urn:li:person:m00")
    assert (m00["used"], m00["limit"], m00["remaining"]) == ("10", "10", "0")
    m01 = page.row("social", "member", "urn:li:person:m01")
    assert (m01["used"], m01["remaining"]) == ("3", "7")
    assert page.row("social", "member", "urn:li:person:m03")["used"] == "0"
    std = page.row("social-std", "app")
    assert (std["used"], std["limit"], std["remaining"]) == ("4", "\u2013", "no limit")
    refusals = {(i["kind"], i["reason"]): i.get("count") for i in page.items}
    assert refusals[("refusal", "member_quota_exhausted")] == "2"
    assert refusals[("refusal", "insufficient_scope")] == "1"
    assert refusals[("refusal", "learned_app_limit")] == "1"
    assert ("learned", "learned_app_limit") in refusals
    assert 'data-product="community_management"' in dom and "2027-06-01" in dom
    assert "ends in 12 days" in dom
    # Reset at the next 00:00 UTC: 5 h 30 min after 18:30.
    assert 'data-seconds="19800"' in dom and "5 h 30 min" in dom

    shot = tmp_path / "usage.png"
    await run_chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1100,1500", url)
    image = shot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 10_000
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(image)


@pytest.mark.parametrize("member", ["alice", "urn:li:person:", "urn:li:person:a b", "<x>"])
async def test_a_member_that_is_not_a_urn_is_400(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory, member: str
) -> None:
    gateway = await start_gateway(str(sandbox.make_url("")))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    async with (
        aiohttp.ClientSession() as session,
        session.get(admin.make_url("/usage/social"), params={"member": member}) as response,
    ):
        assert response.status == 400
        assert response.headers["X-Gateway-Reason"] == "bad_request"
        body = await response.json()
    assert body["status"] == 400 and body["code"] == "BAD_REQUEST"
    assert body["message"] == "member must be a member URN like urn:li:person:abc123"
