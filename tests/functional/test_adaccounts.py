"""Advertising Development tier through real sockets, with the sandbox as LinkedIn.

Edits on at most five ad accounts, one test ad account, no real account creates; Standard
tier unlimited. The official SDK drives the everyday cases in ``test_adaccounts_sdk.py``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.adaccounts.keys import persistent_keys
from gateway.adaccounts.ledger import LedgerView
from gateway.runtime import RUNTIME
from tests.functional.adaccounts_harness import (
    ServerFactory,
    ads_yaml,
    campaign_group,
    headers,
    load,
    new_account,
    send,
    sponsored,
    start,
)
from tests.redis_server import PATIENT, with_query


async def ledger_of(gateway: TestServer, app: str = "ads") -> LedgerView:
    return await gateway.app[RUNTIME].ad_accounts.ledger.view(app)


async def upstream_calls(sandbox: TestServer) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.make_url("/__sandbox/stats")) as resp,
    ):
        return int((await resp.json())["requests"])


async def error_of(response: aiohttp.ClientResponse) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(await response.read())
    return body


@pytest.fixture
async def gateway(sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    settings = load(tmp_path, ads_yaml(str(sandbox.make_url(""))))
    return await start(aiohttp_server, settings)


async def create_group(
    session: aiohttp.ClientSession, gateway: TestServer, account: int, who: str = "tok-ads"
) -> aiohttp.ClientResponse:
    return await send(
        session,
        gateway,
        "POST",
        f"/rest/adAccounts/{account}/adCampaignGroups",
        who,
        body=campaign_group(account),
        restli="CREATE",
    )


# --- Five editable accounts -----------------------------------------------------------------


async def test_the_fifth_account_is_admitted_and_the_sixth_refused(
    gateway: TestServer, sandbox: TestServer
) -> None:
    async with aiohttp.ClientSession() as session:
        groups = {}
        for account in range(1, 6):
            created = await create_group(session, gateway, account)
            assert created.status == 201, account
            groups[account] = created.headers["x-restli-id"]
        before = await upstream_calls(sandbox)

        sixth = await create_group(session, gateway, 6)

        assert sixth.status == 403
        assert sixth.headers["X-Gateway-Reason"] == "ad_account_edit_limit"
        error = await error_of(sixth)
        assert (error["status"], error["code"], error["serviceErrorCode"]) == (
            403,
            "ACCESS_DENIED",
            100,
        )
        for account in range(1, 6):
            assert sponsored(account) in error["message"]
        assert sponsored(6) in error["message"]
        assert await upstream_calls(sandbox) == before
        assert (await ledger_of(gateway)).edited == ("1", "2", "3", "4", "5")

        # Accounts already edited stay editable; reads of any account stay unlimited.
        again = await send(
            session,
            gateway,
            "POST",
            f"/rest/adAccounts/3/adCampaignGroups/{groups[3]}",
            body={"patch": {"$set": {"status": "PAUSED"}}},
            restli="PARTIAL_UPDATE",
        )
        assert again.status == 204
        for path in ("/rest/adAccounts/500002", "/rest/adAccounts/6/adCampaignGroups"):
            read = await send(session, gateway, "GET", path)
            assert read.status == 200, path
        batch_read = await send(session, gateway, "GET", "/rest/adAccounts?ids=List(500001,7,8)")
        assert batch_read.status == 200


ACCOUNT_SPELLINGS = [
    pytest.param(
        "POST",
        "/rest/adAccounts/42",
        "PARTIAL_UPDATE",
        {"patch": {"$set": {"name": "renamed"}}},
        {"42"},
        id="path-key",
    ),
    pytest.param(
        "POST",
        "/rest/adAccounts/urn%3Ali%3AsponsoredAccount%3A43/adCampaigns",
        "CREATE",
        {"name": "c"},
        {"43"},
        id="path-key-as-urn",
    ),
    pytest.param(
        "POST",
        "/rest/adAccounts?ids=List(44,45)",
        "BATCH_PARTIAL_UPDATE",
        {"entities": {"44": {"patch": {"$set": {"status": "PAUSED"}}}}},
        {"44", "45"},
        id="batch-ids-of-accounts",
    ),
    pytest.param(
        "DELETE",
        "/rest/adAccountUsers?ids=List((account:urn%3Ali%3AsponsoredAccount%3A46,"
        "user:urn%3Ali%3Aperson%3Ax))",
        "BATCH_DELETE",
        None,
        {"46"},
        id="list-of-compound-keys",
    ),
    pytest.param(
        "PUT",
        "/rest/adAccountUsers/(account:urn%3Ali%3AsponsoredAccount%3A47,user:urn%3Ali%3Aperson%3Ay)",
        "UPDATE",
        {"account": sponsored(47), "user": "urn:li:person:y", "role": "VIEWER"},
        {"47"},
        id="compound-path-key",
    ),
    pytest.param(
        "POST",
        "/v2/adCampaignGroupsV2",
        "CREATE",
        campaign_group(48),
        {"48"},
        id="body-account",
    ),
    pytest.param(
        "POST",
        "/rest/dmpSegments",
        "BATCH_CREATE",
        {"elements": [{"account": sponsored(49), "name": "a"}, {"account": sponsored(50)}]},
        {"49", "50"},
        id="batch-create-elements",
    ),
    pytest.param(
        "POST",
        "/rest/conversions/9",
        "PARTIAL_UPDATE",
        {"patch": {"$set": {"account": sponsored(51)}}},
        {"51"},
        id="patch-set-account",
    ),
    pytest.param(
        "DELETE",
        "/rest/conversions/9?account=urn%3Ali%3AsponsoredAccount%3A52",
        "DELETE",
        None,
        {"52"},
        id="account-query-parameter",
    ),
]


@pytest.mark.parametrize(("method", "path", "restli", "body", "expected"), ACCOUNT_SPELLINGS)
async def test_every_spelling_of_an_account_is_counted(
    gateway: TestServer,
    method: str,
    path: str,
    restli: str,
    body: dict[str, Any] | None,
    expected: set[str],
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await send(session, gateway, method, path, body=body, restli=restli)
    assert response.headers.get("X-Gateway-Reason") is None, await response.read()
    assert set((await ledger_of(gateway)).edited) == expected


BAD_WRITES = [
    pytest.param(
        "/rest/adAccounts/7/adCampaignGroups",
        "CREATE",
        b"name=not-json",
        "bad_request",
        id="non-json-body",
    ),
    pytest.param(
        "/rest/adAccounts/7/adCampaignGroups",
        "CREATE",
        b'{"account": "urn:li:sponsoredAccount:7", "account": "urn:li:sponsoredAccount:8"}',
        "bad_request",
        id="json-repeating-a-key",
    ),
    pytest.param(
        "/v2/adCampaignGroupsV2",
        "CREATE",
        b'{"account": "urn:li:sponsoredAccount:12ab"}',
        "bad_request",
        id="malformed-urn-in-body",
    ),
    pytest.param(
        "/v2/adCampaignGroupsV2",
        "CREATE",
        b'{"account": "urn:li:sponsoredAccount:"}',
        "bad_request",
        id="urn-without-id",
    ),
    pytest.param(
        "/rest/adAccounts/abc",
        "PARTIAL_UPDATE",
        b'{"patch": {"$set": {"name": "x"}}}',
        "bad_request",
        id="malformed-path-account",
    ),
    pytest.param(
        "/v2/adCampaignGroupsV2/600001",
        "PARTIAL_UPDATE",
        b'{"patch": {"$set": {"status": "PAUSED"}}}',
        "ad_account_unknown",
        id="no-account-named",
    ),
]


@pytest.mark.parametrize(("path", "restli", "body", "reason"), BAD_WRITES)
async def test_writes_whose_accounts_cannot_be_read_are_refused(
    gateway: TestServer, sandbox: TestServer, path: str, restli: str, body: bytes, reason: str
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await send(session, gateway, "POST", path, body=body, restli=restli)
    assert response.status == 400
    assert response.headers["X-Gateway-Reason"] == reason
    assert (await error_of(response))["code"] == "BAD_REQUEST"
    assert await upstream_calls(sandbox) == 0
    assert (await ledger_of(gateway)).edited == ()


async def test_a_delete_naming_no_account_is_refused_with_a_hint(gateway: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        response = await send(session, gateway, "DELETE", "/rest/dmpSegments/77", restli="DELETE")
    assert response.status == 400
    assert response.headers["X-Gateway-Reason"] == "ad_account_unknown"
    message = (await error_of(response))["message"]
    assert "names no ad account" in message and "/rest/adAccounts/{id}/" in message


async def test_standard_tier_edits_and_creates_without_limit(
    gateway: TestServer, sandbox: TestServer
) -> None:
    async with aiohttp.ClientSession() as session:
        for account in range(1, 9):
            created = await create_group(session, gateway, account, "tok-ads-std")
            assert created.status == 201
        real = await send(
            session,
            gateway,
            "POST",
            "/rest/adAccounts",
            "tok-ads-std",
            body=new_account(test=False),
            restli="CREATE",
        )
        assert real.status == 201
    assert await ledger_of(gateway, "ads-std") == LedgerView((), 0, ())


# --- One test account -----------------------------------------------------------------------


async def create_account(
    session: aiohttp.ClientSession, gateway: TestServer, body: dict[str, Any] | bytes, **extra: str
) -> aiohttp.ClientResponse:
    return await send(
        session, gateway, "POST", "/rest/adAccounts", body=body, restli="CREATE", **extra
    )


async def test_one_test_account_then_test_account_limit(gateway: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        first = await create_account(session, gateway, new_account(test=True))
        assert first.status == 201
        created = first.headers["x-restli-id"]
        assert (await ledger_of(gateway)) == LedgerView((), 1, (created,))

        second = await create_account(session, gateway, new_account(test=True, name="again"))

    assert second.status == 403
    assert second.headers["X-Gateway-Reason"] == "test_ad_account_limit"
    error = await error_of(second)
    assert (error["status"], error["code"]) == (403, "TEST_ACCOUNT_LIMIT_REACHED")
    assert (await ledger_of(gateway)).test_slots == 1


@pytest.mark.parametrize("test_flag", [False, None], ids=["test-false", "test-absent"])
async def test_a_real_account_create_is_forbidden(
    gateway: TestServer, sandbox: TestServer, test_flag: bool | None
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await create_account(session, gateway, new_account(test=test_flag))
    assert response.status == 403
    assert response.headers["X-Gateway-Reason"] == "real_ad_account_creation_forbidden"
    assert "Campaign Manager" in (await error_of(response))["message"]
    assert await upstream_calls(sandbox) == 0
    assert (await ledger_of(gateway)).test_slots == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json at all", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b"", id="empty"),
        pytest.param(json.dumps({"test": True}).encode(), id="lacks-fields"),
        pytest.param(json.dumps(new_account(test=None, name=7)).encode(), id="name-not-text"),
        pytest.param(json.dumps({**new_account(), "test": "yes"}).encode(), id="test-not-boolean"),
    ],
)
async def test_a_malformed_account_create_is_a_400(gateway: TestServer, body: bytes) -> None:
    async with aiohttp.ClientSession() as session:
        response = await create_account(session, gateway, body)
    assert response.status == 400
    assert response.headers["X-Gateway-Reason"] == "bad_request"
    assert (await ledger_of(gateway)).test_slots == 0


async def test_the_slot_is_released_when_the_upstream_create_fails(gateway: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        failed = await create_account(
            session, gateway, new_account(test=True), **{"X-Sandbox-Status": "500"}
        )
        assert failed.status == 500
        assert (await ledger_of(gateway)).test_slots == 0

        created = await create_account(session, gateway, new_account(test=True))
        assert created.status == 201


async def test_racing_test_account_creates_exactly_one_wins(gateway: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        responses = await asyncio.gather(
            *(create_account(session, gateway, new_account(test=True)) for _ in range(12))
        )
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [403] * 11
    assert len((await ledger_of(gateway)).test_accounts) == 1


# --- Bodies are read, then forwarded as read ------------------------------------------------


async def test_the_inspected_body_is_forwarded_byte_for_byte(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    received: list[bytes] = []

    async def record(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=201, headers={"x-restli-id": "900123"})

    upstream = web.Application()
    upstream.router.add_route("*", "/{tail:.*}", record)
    recorder = await aiohttp_server(upstream)
    settings = load(tmp_path, ads_yaml(str(recorder.make_url(""))))
    gateway = await start(aiohttp_server, settings)
    odd = (
        '{ "name" :"Gruppe ü\\u00fc",\n\t"account":"urn:li:sponsoredAccount:5",'
        '"zzz": [1.50, 1e3, null]  }\n'
    ).encode()
    account = json.dumps(new_account(test=True), indent=3).encode()

    async with aiohttp.ClientSession() as session:
        group = await send(
            session, gateway, "POST", "/v2/adCampaignGroupsV2", body=odd, restli="CREATE"
        )
        created = await create_account(session, gateway, account)

    assert (group.status, created.status) == (201, 201)
    assert received == [odd, account]
    assert await ledger_of(gateway) == LedgerView(("5",), 1, ("900123",))


# --- Concurrency: racing for the last slot --------------------------------------------------


async def test_racing_for_the_last_slot_on_one_gateway(gateway: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        for account in range(1, 5):
            assert (await create_group(session, gateway, account)).status == 201
        responses = await asyncio.gather(
            *(create_group(session, gateway, 100 + i) for i in range(20))
        )
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 1
    assert statuses.count(403) == 19
    assert len((await ledger_of(gateway)).edited) == 5


@pytest.mark.redis
async def test_replicas_sharing_redis_race_for_the_last_slot(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path, redis_url: str
) -> None:
    suffix = "-" + uuid.uuid4().hex[:12]
    text = ads_yaml(str(sandbox.make_url("")), store=with_query(redis_url, PATIENT), suffix=suffix)
    replicas = [await start(aiohttp_server, load(tmp_path, text, f"r{i}.yaml")) for i in range(2)]
    app = "ads" + suffix
    try:
        async with aiohttp.ClientSession() as session:
            for account in range(1, 5):
                assert (await create_group(session, replicas[account % 2], account)).status == 201
            responses = await asyncio.gather(
                *(create_group(session, replicas[i % 2], 100 + i) for i in range(20))
            )
        assert [r.status for r in responses].count(201) == 1
        views = [await ledger_of(replica, app) for replica in replicas]
        assert views[0] == views[1] and len(views[0].edited) == 5
    finally:
        await replicas[0].app[RUNTIME].store.client.delete(*persistent_keys(app))  # type: ignore[attr-defined]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_inspected_body_is_still_bounded_by_max_body_bytes(
    gateway: TestServer, sandbox: TestServer, chunked: bool
) -> None:
    body = json.dumps({**campaign_group(7), "pad": "x" * 70_000}).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for at in range(0, len(body), 8192):
            yield body[at : at + 8192]

    async with aiohttp.ClientSession() as session:
        response = await session.post(
            gateway.make_url("/rest/adAccounts/7/adCampaignGroups"),
            headers={**headers("tok-ads", "CREATE"), "Content-Type": "application/json"},
            data=pieces() if chunked else body,
        )
        await response.read()
    assert response.status == 413
    assert response.headers["X-Gateway-Reason"] == "body_too_large"
    assert await upstream_calls(sandbox) == 0
    assert (await ledger_of(gateway)).edited == ()
