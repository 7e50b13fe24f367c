"""The 12-month Development window through real sockets: notice headers, warn and block."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.functional.gateway_harness import FakeClock, member_token

Start = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"
HEADERS = {"LinkedIn-Version": "202505", "X-Restli-Protocol-Version": "2.0.0"}
# The harness's "social" app holds Community Management Development since 2026-06-01.
END = "2027-06-01"


def at(year: int, month: int, day: int, second: int = 0) -> float:
    return datetime(year, month, day, 0, 0, second, tzinfo=UTC).timestamp()


async def call(server: TestServer, token: str) -> tuple[int, dict[str, str], dict[str, object]]:
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url(PATH), headers=headers) as resp,
    ):
        return resp.status, dict(resp.headers), json.loads(await resp.read())


@pytest.mark.parametrize(
    ("now", "policy", "status", "notice"),
    [
        (at(2027, 5, 2) - 1, "block", 200, False),  # 30 days before the end, minus a second
        (at(2027, 5, 2), "warn", 200, True),  # the 30-day boundary
        (at(2027, 5, 31), "block", 200, True),  # the day before the end
        (at(2027, 6, 1) - 1, "block", 200, True),
        (at(2027, 6, 1), "warn", 200, True),  # expired, warn keeps working
        (at(2027, 6, 1), "block", 403, True),  # expired, block refuses
        (at(2027, 6, 2), "block", 403, True),  # the day after
    ],
)
async def test_window_boundaries(
    sandbox: TestServer,
    start_gateway: Start,
    now: float,
    policy: str,
    status: int,
    notice: bool,
) -> None:
    gw = await start_gateway(
        str(sandbox.make_url("")),
        clock=FakeClock(now),
        extra=f"on_development_expiry: {policy}",
    )
    got, headers, body = await call(gw, member_token(0))
    assert got == status, body
    assert (headers.get("X-Gateway-Development-Expires") == END) is notice
    assert ("X-Gateway-Development-Notice" in headers) is notice
    if status == 403:
        assert headers["X-Gateway-Reason"] == "development_tier_expired"
        assert body["code"] == "ACCESS_DENIED" and END in str(body["message"])
        assert headers["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
        assert "RateLimit" not in headers  # nothing was counted


async def test_standard_apps_carry_no_notice(sandbox: TestServer, start_gateway: Start) -> None:
    gw = await start_gateway(
        str(sandbox.make_url("")),
        clock=FakeClock(at(2027, 7, 1)),
        extra="on_development_expiry: block",
    )
    status, headers, _ = await call(gw, "tok-std")
    assert status == 200
    assert "X-Gateway-Development-Expires" not in headers


async def test_refusals_carry_the_notice_too(sandbox: TestServer, start_gateway: Start) -> None:
    gw = await start_gateway(str(sandbox.make_url("")), clock=FakeClock(at(2027, 5, 20)))
    status, headers, _ = await call(gw, "tok-social-narrow")
    assert status == 403 and headers["X-Gateway-Reason"] == "insufficient_scope"
    assert headers["X-Gateway-Development-Expires"] == END


async def test_the_notice_is_logged_once_a_day(
    sandbox: TestServer, start_gateway: Start, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(at(2027, 5, 20))
    gw = await start_gateway(str(sandbox.make_url("")), clock=clock)
    caplog.set_level("WARNING", logger="gateway")

    def notices() -> int:
        return sum("ends on 2027-06-01" in r.getMessage() for r in caplog.records)

    for _ in range(3):
        assert (await call(gw, member_token(0)))[0] == 200
    assert notices() == 1
    clock.now = at(2027, 5, 21)
    assert (await call(gw, member_token(1)))[0] == 200
    assert notices() == 2
