"""LinkedIn's official SDK (linkedin-api-client) pointed at the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestServer
from linkedin_api.clients.restli.client import RestliClient

from tests.functional.gateway_harness import member_token

Start = Callable[..., Awaitable[TestServer]]
VERSION = "202505"
LONG_IDS = [f"urn:li:organization:{100000 + i}" for i in range(300)]


async def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    client = RestliClient()
    try:
        return await asyncio.to_thread(getattr(client, fn.__name__), **kwargs)
    finally:
        client.session.close()


async def test_sdk_get_finder_create_and_batch_get_on_standard_tier(
    sandbox: TestServer, start_gateway: Start, point_sdk: Callable[[TestServer], None]
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    point_sdk(gw)
    token = "tok-std"
    got = await call(
        RestliClient.get,
        resource_path="/organizations/{id}",
        path_keys={"id": 1},
        access_token=token,
        version_string=VERSION,
    )
    assert got.status_code == 200 and got.entity["id"] == 1
    # Standard tier is unlimited: counted, but no quota headers to show.
    assert "RateLimit-Policy" not in got.headers
    found = await call(
        RestliClient.finder,
        resource_path="/organizationAcls",
        finder_name="roleAssignee",
        access_token=token,
        version_string=VERSION,
    )
    assert found.status_code == 200 and found.elements
    created = await call(
        RestliClient.create,
        resource_path="/posts",
        entity={
            "author": "urn:li:organization:1",
            "commentary": "hello",
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
        },
        access_token=token,
        version_string=VERSION,
    )
    assert created.status_code == 201 and created.entity_id.startswith("urn:li:share:")
    batch = await call(
        RestliClient.batch_get,
        resource_path="/organizations",
        ids=[1, 2],
        access_token=token,
        version_string=VERSION,
    )
    assert batch.status_code == 200 and set(batch.results) == {"1", "2"}


async def test_sdk_long_batch_get_is_tunneled_and_still_classified(
    sandbox: TestServer, start_gateway: Start, point_sdk: Callable[[TestServer], None]
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    point_sdk(gw)
    # Standard tier: the tunneled BATCH_GET goes through and the sandbox answers each id.
    batch = await call(
        RestliClient.batch_get,
        resource_path="/organizations",
        ids=LONG_IDS,
        access_token="tok-std",
        version_string=VERSION,
    )
    assert batch.status_code == 200
    assert len(batch.results) + len(batch.errors) == len(LONG_IDS)
    # Development tier: the same tunneled call is a BATCH_GET and is refused before upstream.
    refused = await call(
        RestliClient.batch_get,
        resource_path="/organizations",
        ids=LONG_IDS,
        access_token=member_token(0),
        version_string=VERSION,
    )
    assert refused.status_code == 403
    assert refused.headers["X-Gateway-Reason"] == "batch_get_forbidden"


async def test_sdk_sees_quota_headers_and_429(
    sandbox: TestServer, start_gateway: Start, point_sdk: Callable[[TestServer], None]
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    point_sdk(gw)
    statuses = []
    for _ in range(11):
        resp = await call(
            RestliClient.finder,
            resource_path="/organizationAcls",
            finder_name="roleAssignee",
            access_token=member_token(5),
            version_string=VERSION,
        )
        statuses.append(resp.status_code)
    assert statuses == [200] * 10 + [429]
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert int(resp.headers["Retry-After"]) >= 1
