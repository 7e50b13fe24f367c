"""LinkedIn's official SDK (linkedin-api-client) drives the advertising cases via the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from linkedin_api.clients.restli.client import RestliClient

from gateway.runtime import RUNTIME
from tests.functional.adaccounts_harness import (
    VERSION,
    ServerFactory,
    ads_yaml,
    campaign_group,
    load,
    new_account,
    start,
)


async def sdk(method: str, **kwargs: Any) -> Any:
    client = RestliClient()
    try:
        call = getattr(client, method)
        return await asyncio.to_thread(
            call, access_token="tok-ads", version_string=VERSION, **kwargs
        )
    finally:
        client.session.close()


@pytest.fixture
async def gateway(
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    point_sdk: Callable[[TestServer], None],
) -> TestServer:
    server = await start(aiohttp_server, load(tmp_path, ads_yaml(str(sandbox.make_url("")))))
    point_sdk(server)
    return server


async def test_sdk_creates_and_updates_a_campaign_group_under_an_account(
    gateway: TestServer,
) -> None:
    created = await sdk(
        "create",
        resource_path="/adAccounts/{id}/adCampaignGroups",
        path_keys={"id": 500001},
        entity=campaign_group(500001),
    )
    assert created.status_code == 201 and created.entity_id

    updated = await sdk(
        "partial_update",
        resource_path="/adAccounts/{id}/adCampaignGroups/{groupId}",
        path_keys={"id": 500001, "groupId": created.entity_id},
        patch_set_object={"status": "PAUSED"},
    )
    assert updated.status_code == 204

    got = await sdk(
        "get",
        resource_path="/adAccounts/{id}/adCampaignGroups/{groupId}",
        path_keys={"id": 500001, "groupId": created.entity_id},
    )
    assert got.status_code == 200 and got.entity["status"] == "PAUSED"
    assert (await gateway.app[RUNTIME].ad_accounts.ledger.view("ads")).edited == ("500001",)


async def test_sdk_sixth_account_is_refused(gateway: TestServer) -> None:
    for account in range(1, 6):
        created = await sdk(
            "create",
            resource_path="/adAccounts/{id}/adCampaigns",
            path_keys={"id": account},
            entity={"account": f"urn:li:sponsoredAccount:{account}", "name": "c"},
        )
        assert created.status_code == 201
    refused = await sdk(
        "partial_update",
        resource_path="/adAccounts/{id}",
        path_keys={"id": 500002},
        patch_set_object={"name": "renamed"},
    )
    assert refused.status_code == 403
    assert refused.headers["X-Gateway-Reason"] == "ad_account_edit_limit"
    # The SDK's batch partial update of already-edited accounts still goes through.
    batch = await sdk(
        "batch_partial_update",
        resource_path="/adAccounts",
        ids=[1, 2],
        patch_set_objects=[{"name": "one"}, {"name": "two"}],
    )
    assert batch.status_code == 200


async def test_sdk_creates_one_test_ad_account(gateway: TestServer) -> None:
    first = await sdk("create", resource_path="/adAccounts", entity=new_account(test=True))
    assert first.status_code == 201

    second = await sdk("create", resource_path="/adAccounts", entity=new_account(test=True))
    real = await sdk("create", resource_path="/adAccounts", entity=new_account(test=False))

    assert second.status_code == 403
    assert second.headers["X-Gateway-Reason"] == "test_ad_account_limit"
    assert real.status_code == 403
    assert real.headers["X-Gateway-Reason"] == "real_ad_account_creation_forbidden"
    view = await gateway.app[RUNTIME].ad_accounts.ledger.view("ads")
    assert view.test_accounts == (str(first.entity_id),)
