"""LinkedIn-Version through real sockets: refused at the gateway for free, /v2 deprecated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.runtime import RUNTIME
from tests.functional.gateway_harness import exchange, member_token

Start = Callable[..., Awaitable[TestServer]]
PATH = "/rest/organizationAcls?q=roleAssignee"


async def call(
    server: TestServer, path: str, version: str | None, token: str = member_token(0)
) -> tuple[int, dict[str, str], dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}", "X-Restli-Protocol-Version": "2.0.0"}
    if version is not None:
        headers["LinkedIn-Version"] = version
    return await exchange(server, "GET", path, headers)


async def sandbox_requests(sandbox: TestServer) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.make_url("/__sandbox/stats")) as resp,
    ):
        return int((await resp.json())["requests"])


@pytest.mark.parametrize(
    ("version", "status", "reason", "code", "message"),
    [
        (None, 400, "version_missing", "VERSION_MISSING", "A version must be present"),
        (
            "202304",
            426,
            "version_sunset",
            "NONEXISTENT_VERSION",
            "Requested version 20230401 is not active",
        ),
        (
            "20230430",
            426,
            "version_sunset",
            "NONEXISTENT_VERSION",
            "Requested version 20230430 is not active",
        ),
        ("202304.05", 426, "version_sunset", "NONEXISTENT_VERSION", "Requested version 20230401"),
        ("2023-05", 400, "version_malformed", "BAD_REQUEST", "is not a version"),
        ("202313", 400, "version_malformed", "BAD_REQUEST", "is not a version"),
    ],
)
async def test_refused_versions_cost_nothing(
    sandbox: TestServer,
    start_gateway: Start,
    version: str | None,
    status: int,
    reason: str,
    code: str,
    message: str,
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    got, headers, body = await call(gw, PATH, version)
    assert (got, headers["X-Gateway-Reason"], body["code"]) == (status, reason, code)
    assert message in str(body["message"])
    assert await sandbox_requests(sandbox) == 0
    # Nothing was counted: the next good call is the first of the day.
    ok, ok_headers, _ = await call(gw, PATH, "202505")
    assert ok == 200
    assert ok_headers["RateLimit"].startswith('"app";r=99;')


@pytest.mark.parametrize("version", ["202305", "202305.01", "20230501", "202505"])
async def test_active_versions_are_forwarded(
    sandbox: TestServer, start_gateway: Start, version: str
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    status, headers, _ = await call(gw, PATH, version)
    assert status == 200
    assert "Deprecation" not in headers
    assert await sandbox_requests(sandbox) == 1


async def test_unversioned_calls_are_forwarded_with_deprecation(
    sandbox: TestServer, start_gateway: Start, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    caplog.set_level("INFO", logger="gateway")
    status, headers, body = await call(gw, "/v2/organizationAcls?q=roleAssignee", None)
    assert status == 200 and "elements" in body
    assert headers["Deprecation"] == "@1654041600"
    assert 'rel="deprecation"' in headers["Link"]
    metrics = gw.app[RUNTIME].metrics
    assert metrics.value("gateway_unversioned_calls_total", app="social") == 1
    assert any("unversioned call app=social" in r.getMessage() for r in caplog.records)
    # A refused unversioned call carries the header too, and is not counted as forwarded.
    refused, refused_headers, _ = await call(gw, "/v2/adAccountsV2/1", None)
    assert refused == 403 and refused_headers["Deprecation"] == "@1654041600"
    assert metrics.value("gateway_unversioned_calls_total", app="social") == 1
