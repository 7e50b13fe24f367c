"""X-Request-Id: taken when sane, made otherwise, on every response, on the access line
beside LinkedIn's x-li-uuid."""

from __future__ import annotations

import logging
import re

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from tests.functional.conftest import GatewayFactory
from tests.functional.gateway_harness import member_token

MADE = re.compile(r"^[0-9a-f]{32}$")
CALL = "/rest/organizationAcls?q=roleAssignee"


async def fetch(
    gw: TestServer, path: str, headers: dict[str, str]
) -> tuple[int, CIMultiDictProxy[str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gw.make_url(path), headers=headers) as resp,
    ):
        await resp.read()
        return resp.status, resp.headers


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gateway.access"]


async def test_a_sane_request_id_is_returned_and_logged_with_the_upstream_uuid(
    sandbox: TestServer, start_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    gw = await start_gateway(str(sandbox.make_url("")))
    sent = {"Authorization": f"Bearer {member_token(1)}", "LinkedIn-Version": "202505"}
    status, headers = await fetch(gw, CALL, {**sent, "X-Request-Id": "app-42.call:7"})
    assert status == 200
    assert headers["X-Request-Id"] == "app-42.call:7"
    li_uuid = headers["x-li-uuid"]
    assert li_uuid
    [line] = access_lines(caplog)
    assert "request_id=app-42.call:7" in line
    assert f"li_uuid={li_uuid}" in line


@pytest.mark.parametrize(
    "given",
    ["", "x" * 129, "two words", "semi;colon", "quote\"d", "päth", "a\tb"],
)
async def test_an_insane_request_id_is_replaced_and_refusals_carry_one_too(
    sandbox: TestServer,
    start_gateway: GatewayFactory,
    caplog: pytest.LogCaptureFixture,
    given: str,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    gw = await start_gateway(str(sandbox.make_url("")))
    status, headers = await fetch(gw, CALL, {"X-Request-Id": given})
    assert status == 401  # no token: a refusal the gateway made itself
    made = headers["X-Request-Id"]
    assert MADE.match(made), made
    [line] = access_lines(caplog)
    assert f"request_id={made} li_uuid=-" in line
    # Each request made an id of its own.
    _, again = await fetch(gw, CALL, {"X-Request-Id": given})
    assert MADE.match(again["X-Request-Id"]) and again["X-Request-Id"] != made


async def test_every_listener_route_answers_with_a_request_id(
    sandbox: TestServer, start_gateway: GatewayFactory
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    for path in ("/oauth/callback?state=x", "/webhooks/nobody?challengeCode=x", CALL):
        _, headers = await fetch(gw, path, {"X-Request-Id": "r-1"})
        assert headers["X-Request-Id"] == "r-1", path
    ids = set()
    for _ in range(3):
        _, headers = await fetch(gw, CALL, {})
        ids.add(headers["X-Request-Id"])
    assert len(ids) == 3
