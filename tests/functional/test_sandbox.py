"""The built-in LinkedIn sandbox on a real socket: raw HTTP, then LinkedIn's official SDK."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from linkedin_api.clients.restli.client import RestliClient
from linkedin_api.clients.restli.utils.encoder import encode
from linkedin_api.common import constants
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.sandbox import make_sandbox_app

# Clients made from a server and from an app differ only in their app type parameter.
Client = TestClient[web.Request, Any]

VERSION = "202505"
AUTH = {"Authorization": "Bearer sandbox-token"}
REST = {**AUTH, "LinkedIn-Version": VERSION}
MEMBER = "urn:li:person:sandbox-member"
POST_1 = "urn:li:share:7100000000000000001"
POST_2 = "urn:li:share:7100000000000000002"
POST_3 = "urn:li:share:7100000000000000003"
FIXTURE_POSTS = (POST_1, POST_2, POST_3)
NOT_FOUND = {"status": 404, "serviceErrorCode": 0, "code": "NOT_FOUND", "message": "Not Found"}


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> TestServer:
    return await aiohttp_server(make_sandbox_app())


@pytest.fixture
async def client(server: TestServer, aiohttp_client: AiohttpClient) -> Client:
    return await aiohttp_client(server)


async def body_of(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with client.request(method, path, **kwargs) as response:
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None


async def stats(client: Client) -> dict[str, Any]:
    status, body = await body_of(client, "GET", "/__sandbox/stats")
    assert status == 200
    assert isinstance(body, dict)
    return body


# --- Reads of the fixtures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/rest/me", REST, {"id": "sandbox-member", "localizedFirstName": "Sandy"}),
        ("/v2/me", AUTH, {"id": "sandbox-member", "localizedLastName": "Box"}),
        ("/v2/userinfo", AUTH, {"sub": "sandbox-member", "given_name": "Sandy"}),
        ("/rest/organizations/2", REST, {"id": 2, "vanityName": "sandbox-org-2"}),
        (
            "/rest/adAccounts/500003",
            REST,
            {
                "id": 500003,
                "status": "ACTIVE",
                "type": "BUSINESS",
                "currency": "USD",
                "reference": "urn:li:organization:1",
                "test": False,
            },
        ),
        (
            "/rest/adAccounts/500001/adCampaigns/700002",
            REST,
            {"id": 700002, "account": "urn:li:sponsoredAccount:500001"},
        ),
        (
            "/rest/adAccounts/500002/adCampaignGroups/600002",
            REST,
            {"id": 600002, "account": "urn:li:sponsoredAccount:500002"},
        ),
        ("/rest/posts/urn%3Ali%3Ashare%3A7100000000000000002", REST, {"id": POST_2}),
    ],
)
async def test_fixtures_read_out_of_the_box(
    client: Client, path: str, headers: dict[str, str], expected: dict[str, object]
) -> None:
    async with client.get(path, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        body = await response.json()
    assert {name: body.get(name) for name in expected} == expected


async def test_every_response_carries_linkedin_diagnostics(client: Client) -> None:
    uuids = set()
    for path, headers in [("/rest/me", REST), ("/rest/me", {}), ("/elsewhere", REST)]:
        async with client.get(path, headers=headers) as response:
            assert response.headers["x-li-fabric"] == "sandbox"
            assert response.headers["X-RestLi-Protocol-Version"] == "2.0.0"
            assert response.headers["x-li-request-id"]
            uuids.add(response.headers["x-li-uuid"])
    assert len(uuids) == 3


@pytest.mark.parametrize("version", ["202401", "202401.01", "20240401", "202505"])
async def test_linkedin_version_spellings_are_accepted(client: Client, version: str) -> None:
    headers = {**AUTH, "LinkedIn-Version": version}
    status, body = await body_of(client, "GET", "/rest/organizations/1", headers=headers)
    assert (status, body["id"]) == (200, 1)


async def test_role_lookups_answer_for_the_member(client: Client) -> None:
    status, acls = await body_of(
        client, "GET", "/rest/organizationAcls?q=roleAssignee&state=APPROVED", headers=REST
    )
    assert status == 200
    assert acls["elements"] == [
        {
            "organization": f"urn:li:organization:{n}",
            "role": "ADMINISTRATOR",
            "roleAssignee": MEMBER,
            "state": "APPROVED",
        }
        for n in (1, 2, 3)
    ]
    status, users = await body_of(
        client, "GET", "/rest/adAccountUsers?q=authenticatedUser", headers=REST
    )
    assert status == 200
    assert users["elements"] == [
        {"account": "urn:li:sponsoredAccount:500001", "role": "ACCOUNT_MANAGER", "user": MEMBER}
    ]


async def test_member_is_a_parameter_of_the_app(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(make_sandbox_app(member="urn:li:person:abc"))
    _, userinfo = await body_of(client, "GET", "/v2/userinfo", headers=AUTH)
    _, users = await body_of(client, "GET", "/v2/adAccountUsers?q=authenticatedUser", headers=AUTH)
    assert userinfo["sub"] == "abc"
    assert [e["user"] for e in users["elements"]] == ["urn:li:person:abc"]


# --- LinkedIn's errors ----------------------------------------------------------------------

EMPTY_TOKEN = {
    "status": 401,
    "serviceErrorCode": 65600,
    "code": "INVALID_ACCESS_TOKEN",
    "message": "Empty oauth2_access_token",
}
UNKNOWN_SCHEMA = {**EMPTY_TOKEN, "message": "Unknown authentication schema"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "data", "status", "expected"),
    [
        ("GET", "/elsewhere", REST, None, 404, NOT_FOUND),
        ("GET", "/rest", REST, None, 404, NOT_FOUND),
        (
            "GET",
            "/rest/me",
            {"LinkedIn-Version": VERSION},
            None,
            401,
            EMPTY_TOKEN,
        ),
        (
            "GET",
            "/v2/me",
            {"Authorization": "Bearer   "},
            None,
            401,
            EMPTY_TOKEN,
        ),
        (
            "GET",
            "/v2/me",
            {"Authorization": "Basic dXNlcjpwdw=="},
            None,
            401,
            UNKNOWN_SCHEMA,
        ),
        (
            "GET",
            "/rest/me",
            AUTH,
            None,
            400,
            {
                "status": 400,
                "code": "VERSION_MISSING",
                "message": "A version must be present. Please specify a version by adding "
                "the LinkedIn-Version header.",
            },
        ),
        (
            "GET",
            "/rest/me",
            {**AUTH, "LinkedIn-Version": "202304"},
            None,
            426,
            {
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": "Requested version 202304 is not active",
            },
        ),
        ("GET", "/rest/adAccounts/424242", REST, None, 404, NOT_FOUND),
        ("GET", "/rest/leadForms/1", REST, None, 404, NOT_FOUND),
        ("GET", "/rest/posts/urn%3Ali%3Ashare%3A1", REST, None, 404, NOT_FOUND),
        # Malformed requests: the code is fixed, the message is free text.
        ("POST", "/rest/adAccounts", REST, b"[1, 2]", 400, "BAD_REQUEST"),
        ("POST", "/rest/adAccounts", REST, b"not json", 400, "BAD_REQUEST"),
        ("POST", "/rest/adAccounts", REST, b"", 400, "BAD_REQUEST"),
        ("PUT", "/rest/adAccounts/500001", REST, b'"a string"', 400, "BAD_REQUEST"),
        ("POST", "/rest/adAccounts/500001", REST, b'{"name": "no patch"}', 400, "BAD_REQUEST"),
        ("POST", "/rest/adAccounts/500001", REST, b'{"patch": {"$set": 1}}', 400, "BAD_REQUEST"),
        ("GET", "/rest/adAccounts?q=search&count=ten", REST, None, 400, "BAD_REQUEST"),
        ("PATCH", "/rest/me", REST, None, 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/rest/me", REST, None, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/rest/adAccounts?ids=List(1", REST, None, 400, "BAD_REQUEST"),
        (
            "PUT",
            "/rest/adAccounts",
            {**REST, "X-RestLi-Method": "UPDATE"},
            b"{}",
            400,
            "BAD_REQUEST",
        ),
    ],
)
async def test_linkedin_shaped_errors(
    client: Client,
    method: str,
    path: str,
    headers: dict[str, str],
    data: bytes | None,
    status: int,
    expected: dict[str, object] | str,
) -> None:
    async with client.request(method, path, headers=headers, data=data) as response:
        assert response.status == status
        assert response.headers["Content-Type"] == "application/json"
        body = await response.json()
    if isinstance(expected, str):
        assert body["status"] == status
        assert body["code"] == expected
        assert body["message"]
    else:
        assert body == expected


# --- Rest.li methods over raw HTTP ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "ids", "paging"),
    [
        ("/rest/adAccounts?q=search", REST, [500001, 500002, 500003], (0, 10, 3)),
        ("/rest/adAccounts?q=search&start=1&count=1", REST, [500002], (1, 1, 3)),
        ("/rest/adAccounts?q=search&start=2", REST, [500003], (2, 10, 3)),
        ("/rest/adAccounts?q=anything&start=5", REST, [], (5, 10, 3)),
        ("/rest/adAccounts", REST, [500001, 500002, 500003], (0, 10, 3)),
        (
            "/rest/adAccounts/500002/adCampaigns",
            {**REST, "X-RestLi-Method": "GET_ALL"},
            [700003, 700004],
            (0, 10, 2),
        ),
        ("/v2/organizations?count=2", AUTH, [1, 2], (0, 2, 3)),
        ("/rest/leadForms?q=owner", REST, [], (0, 10, 0)),
    ],
)
async def test_finder_and_get_all_page_the_collection(
    client: Client,
    path: str,
    headers: dict[str, str],
    ids: list[int],
    paging: tuple[int, int, int],
) -> None:
    status, body = await body_of(client, "GET", path, headers=headers)
    assert status == 200
    assert [element["id"] for element in body["elements"]] == ids
    start, count, total = paging
    assert body["paging"] == {"start": start, "count": count, "total": total, "links": []}


@pytest.mark.parametrize(
    "query",
    ["ids=List(500001,424242)", "ids=500001&ids=424242"],
)
async def test_batch_get_splits_results_and_errors(client: Client, query: str) -> None:
    status, body = await body_of(client, "GET", f"/rest/adAccounts?{query}", headers=REST)
    assert status == 200
    assert set(body["results"]) == {"500001"}
    assert body["results"]["500001"]["name"] == "Sandbox Ad Account 500001"
    assert body["statuses"] == {"500001": 200}
    assert body["errors"] == {"424242": NOT_FOUND}


async def test_batch_get_keys_urns_by_their_encoded_form(client: Client) -> None:
    query = "ids=List(urn%3Ali%3Ashare%3A7100000000000000001,urn%3Ali%3Ashare%3A9)"
    status, body = await body_of(client, "GET", f"/rest/posts?{query}", headers=REST)
    assert status == 200
    assert list(body["results"]) == ["urn%3Ali%3Ashare%3A7100000000000000001"]
    assert body["results"]["urn%3Ali%3Ashare%3A7100000000000000001"]["id"] == POST_1
    assert list(body["errors"]) == ["urn%3Ali%3Ashare%3A9"]


async def test_form_tunneled_batch_get(client: Client) -> None:
    headers = {
        **REST,
        "X-HTTP-Method-Override": "GET",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, body = await body_of(
        client, "POST", "/rest/organizations", headers=headers, data=b"ids=List(1,3)"
    )
    assert status == 200
    assert sorted(body["results"]) == ["1", "3"]
    assert (await stats(client))["by_method"] == {"BATCH_GET": 1}


async def test_create_read_update_patch_delete(client: Client) -> None:
    async with client.post(
        "/rest/adAccounts", headers=REST, json={"name": "Fresh", "test": True}
    ) as response:
        assert response.status == 201
        assert await response.read() == b""
        assert "Content-Type" not in response.headers
        new_id = response.headers["x-restli-id"]
        assert response.headers["Location"] == f"/rest/adAccounts/{new_id}"
    assert new_id.isdigit()
    assert int(new_id) not in (500001, 500002, 500003)

    path = f"/rest/adAccounts/{new_id}"
    status, created = await body_of(client, "GET", path, headers=REST)
    assert (status, created) == (200, {"name": "Fresh", "test": True, "id": int(new_id)})

    async with client.put(path, headers=REST, json={"name": "Replaced", "id": 1}) as response:
        assert response.status == 204
    status, replaced = await body_of(client, "GET", path, headers=REST)
    assert replaced == {"name": "Replaced", "id": int(new_id)}

    patch = {"patch": {"$set": {"status": "DRAFT"}, "$delete": ["name"]}}
    async with client.post(path, headers=REST, json=patch) as response:
        assert response.status == 204
    status, patched = await body_of(client, "GET", path, headers=REST)
    assert patched == {"status": "DRAFT", "id": int(new_id)}

    async with client.delete(path, headers=REST) as response:
        assert response.status == 204
    assert await body_of(client, "GET", path, headers=REST) == (404, NOT_FOUND)
    assert await body_of(client, "DELETE", path, headers=REST) == (404, NOT_FOUND)


async def test_created_posts_get_share_urns_and_a_usable_location(client: Client) -> None:
    ids = []
    for text in ("first", "second"):
        async with client.post("/rest/posts", headers=REST, json={"commentary": text}) as response:
            assert response.status == 201
            ids.append(response.headers["x-restli-id"])
            location = response.headers["Location"]
    assert all(i.startswith("urn:li:share:") for i in ids)
    assert len(set(ids) | set(FIXTURE_POSTS)) == 5
    status, post = await body_of(client, "GET", location, headers=REST)
    assert (status, post["id"], post["commentary"]) == (200, ids[1], "second")


@pytest.mark.parametrize(
    ("method", "restli_method", "data"),
    [
        ("PUT", "UPDATE", b"{}"),
        ("POST", "PARTIAL_UPDATE", b'{"patch": {"$set": {"name": "x"}}}'),
        ("DELETE", "DELETE", None),
    ],
)
async def test_writes_to_unknown_entities_are_404(
    client: Client, method: str, restli_method: str, data: bytes | None
) -> None:
    headers = {**REST, "X-RestLi-Method": restli_method}
    result = await body_of(client, method, "/rest/adAccounts/424242", headers=headers, data=data)
    assert result == (404, NOT_FOUND)


async def test_update_creates_a_missing_event_subscription(client: Client) -> None:
    key = (
        "(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
        "user:urn%3Ali%3Aperson%3Asandbox-member,entity:urn%3Ali%3Aorganization%3A1,"
        "eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)"
    )
    path = f"/rest/eventSubscriptions/{key}"
    hook = {"webhook": "https://example.com/hook"}
    async with client.put(path, headers=REST, json=hook) as response:
        assert response.status == 201
    async with client.put(path, headers=REST, json=hook) as response:
        assert response.status == 204
    assert await body_of(client, "GET", path, headers=REST) == (200, hook)


async def test_batch_writes(client: Client) -> None:
    groups = "/rest/adAccounts/500001/adCampaignGroups"
    status, created = await body_of(
        client,
        "POST",
        groups,
        headers={**REST, "X-RestLi-Method": "BATCH_CREATE"},
        json={"elements": [{"name": "A"}, {"name": "B"}]},
    )
    assert status == 200
    assert [e["status"] for e in created["elements"]] == [201, 201]
    new_ids = [e["id"] for e in created["elements"]]
    _, listed = await body_of(client, "GET", groups, headers=REST)
    assert [e["id"] for e in listed["elements"]] == [600001, *new_ids]

    status, patched = await body_of(
        client,
        "POST",
        "/rest/organizations?ids=List(1,99)",
        headers=REST,
        json={
            "entities": {"1": {"patch": {"$set": {"localizedName": "One"}}}, "99": {"patch": {}}}
        },
    )
    assert status == 200
    assert patched == {"results": {"1": {"status": 204}}, "errors": {"99": NOT_FOUND}}
    assert (await body_of(client, "GET", "/rest/organizations/1", headers=REST))[1][
        "localizedName"
    ] == "One"

    status, updated = await body_of(
        client,
        "PUT",
        "/rest/organizations?ids=List(2)",
        headers=REST,
        json={"entities": {"2": {"localizedName": "Two"}}},
    )
    assert (status, updated) == (200, {"results": {"2": {"status": 204}}, "errors": {}})
    _, two = await body_of(client, "GET", "/rest/organizations/2", headers=REST)
    assert two == {"localizedName": "Two", "id": 2}

    query = "ids=List(urn%3Ali%3Ashare%3A7100000000000000001,urn%3Ali%3Ashare%3A5)"
    status, deleted = await body_of(client, "DELETE", f"/rest/posts?{query}", headers=REST)
    assert status == 200
    assert deleted == {
        "results": {"urn%3Ali%3Ashare%3A7100000000000000001": {"status": 204}},
        "errors": {"urn%3Ali%3Ashare%3A5": NOT_FOUND},
    }
    _, posts = await body_of(client, "GET", "/rest/posts?q=author", headers=REST)
    assert [p["id"] for p in posts["elements"]] == [POST_2, POST_3]


async def test_multipart_tunneled_batch_partial_update(client: Client) -> None:
    boundary = "xYzBoundary"
    body = (
        f"--{boundary}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
        "ids=List(500001,500002)\r\n"
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n"
        '{"entities": {"500001": {"patch": {"$set": {"status": "PAUSED"}}},'
        ' "500002": {"patch": {"$set": {"status": "PAUSED"}}}}}\r\n'
        f"--{boundary}--"
    ).encode()
    headers = {
        **REST,
        "X-HTTP-Method-Override": "POST",
        "X-RestLi-Method": "BATCH_PARTIAL_UPDATE",
        "Content-Type": f"multipart/mixed; boundary={boundary}",
    }
    status, result = await body_of(client, "POST", "/rest/adAccounts", headers=headers, data=body)
    assert status == 200
    assert result["results"] == {"500001": {"status": 204}, "500002": {"status": 204}}
    _, accounts = await body_of(client, "GET", "/rest/adAccounts?q=search", headers=REST)
    assert [a["status"] for a in accounts["elements"]] == ["PAUSED", "PAUSED", "ACTIVE"]


async def test_action_echoes_its_call(client: Client) -> None:
    params = {"criteria": {"reach": 1000}}
    status, body = await body_of(
        client,
        "POST",
        "/rest/mediaPlanning?action=forecastReaches",
        headers=REST,
        json=params,
    )
    assert status == 200
    assert body == {
        "value": {"action": "forecastReaches", "resource": "mediaPlanning", "parameters": params}
    }


# --- Test knobs and sandbox endpoints -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "service_error_code", "message"),
    [
        (
            429,
            "TOO_MANY_REQUESTS",
            101,
            "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this "
            "resource is reached.",
        ),
        (403, "ACCESS_DENIED", 100, f"Not enough permissions to access: adAccounts.GET.{VERSION}"),
        (401, "INVALID_ACCESS_TOKEN", 65600, "Invalid access token"),
        (500, "INTERNAL_SERVER_ERROR", None, "Internal Server Error"),
        (503, "SERVICE_UNAVAILABLE", None, "Service Unavailable"),
    ],
)
async def test_status_knob_answers_linkedin_shaped(
    client: Client, status: int, code: str, service_error_code: int | None, message: str
) -> None:
    headers = {**REST, "X-Sandbox-Status": str(status)}
    seen, body = await body_of(client, "GET", "/rest/adAccounts/500001", headers=headers)
    assert seen == status
    assert body.pop("serviceErrorCode", None) == service_error_code
    assert body == {"status": status, "code": code, "message": message}


async def test_status_knob_applies_before_the_token_check(client: Client) -> None:
    seen, body = await body_of(client, "GET", "/rest/me", headers={"X-Sandbox-Status": "502"})
    assert (seen, body["code"]) == (502, "BAD_GATEWAY")


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Sandbox-Status", "teapot"),
        ("X-Sandbox-Status", "200"),
        ("X-Sandbox-Status", "600"),
        ("X-Sandbox-Delay", "-1"),
        ("X-Sandbox-Delay", "30.5"),
        ("X-Sandbox-Delay", "nan"),
        ("X-Sandbox-Delay", "soon"),
    ],
)
async def test_bad_knob_values_are_400(client: Client, header: str, value: str) -> None:
    seen, body = await body_of(client, "GET", "/rest/me", headers={**REST, header: value})
    assert (seen, body["code"]) == (400, "BAD_REQUEST")
    assert header in body["message"]


async def test_delay_knob_holds_the_answer(client: Client) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, body = await body_of(
        client, "GET", "/rest/me", headers={**REST, "X-Sandbox-Delay": "0.3"}
    )
    assert loop.time() - started >= 0.3
    assert (status, body["id"]) == (200, "sandbox-member")


async def test_stats_count_api_requests_and_reset(client: Client) -> None:
    assert await stats(client) == {"requests": 0, "by_method": {}}
    await body_of(client, "GET", "/rest/me", headers=REST)
    await body_of(client, "GET", "/rest/adAccounts/500001", headers=REST)
    await body_of(client, "GET", "/rest/adAccounts?q=search", headers={})
    await body_of(client, "POST", "/rest/posts", headers=REST, json={"commentary": "x"})
    await body_of(client, "GET", "/nowhere")
    assert await body_of(client, "GET", "/__sandbox/nothing") == (404, NOT_FOUND)
    assert await stats(client) == {
        "requests": 5,
        "by_method": {"CREATE": 1, "FINDER": 1, "GET": 2, "GET_ALL": 1},
    }
    async with client.post("/__sandbox/reset") as response:
        assert response.status == 204
    assert await stats(client) == {"requests": 0, "by_method": {}}


async def test_reset_with_data_restores_the_fixtures(client: Client) -> None:
    await body_of(client, "DELETE", "/rest/organizations/1", headers=REST)
    assert (await body_of(client, "GET", "/rest/organizations/1", headers=REST))[0] == 404
    async with client.post("/__sandbox/reset?data=true") as response:
        assert response.status == 204
    assert (await body_of(client, "GET", "/rest/organizations/1", headers=REST))[0] == 200


async def test_state_belongs_to_each_app(aiohttp_client: AiohttpClient) -> None:
    first = await aiohttp_client(make_sandbox_app())
    second = await aiohttp_client(make_sandbox_app())
    await body_of(first, "DELETE", "/rest/organizations/3", headers=REST)
    await body_of(first, "GET", "/rest/me", headers=REST)
    assert (await body_of(first, "GET", "/rest/organizations/3", headers=REST))[0] == 404
    assert (await body_of(second, "GET", "/rest/organizations/3", headers=REST))[0] == 200
    assert (await stats(second))["requests"] == 1


# --- LinkedIn's official SDK ----------------------------------------------------------------


@pytest.fixture
def sdk(server: TestServer) -> Iterator[Callable[..., Any]]:
    """Call a RestliClient method in a thread, with the SDK pointed at the sandbox."""
    saved = (constants.VERSIONED_BASE_URL, constants.NON_VERSIONED_BASE_URL)
    base = str(server.make_url("")).rstrip("/")
    # The SDK reads these module constants at call time.
    constants.VERSIONED_BASE_URL = f"{base}/rest"
    constants.NON_VERSIONED_BASE_URL = f"{base}/v2"

    def call(method: str, **kwargs: Any) -> Any:
        client = RestliClient()
        try:
            return getattr(client, method)(access_token="sandbox-token", **kwargs)
        finally:
            client.session.close()

    yield call
    constants.VERSIONED_BASE_URL, constants.NON_VERSIONED_BASE_URL = saved


@pytest.fixture
def run_sdk(sdk: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """The SDK is synchronous (requests): run it off the event loop serving the sandbox."""

    async def run(method: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(sdk, method, **kwargs)

    return run


async def test_sdk_reads(run_sdk: Callable[..., Awaitable[Any]]) -> None:
    got = await run_sdk(
        "get", resource_path="/adAccounts/{id}", path_keys={"id": 500002}, version_string=VERSION
    )
    assert got.status_code == 200
    assert got.entity["name"] == "Sandbox Ad Account 500002"
    assert got.headers["x-li-fabric"] == "sandbox"

    me = await run_sdk("get", resource_path="/me")
    assert (me.status_code, me.entity["localizedFirstName"]) == (200, "Sandy")

    found = await run_sdk(
        "finder",
        resource_path="/adAccounts",
        finder_name="search",
        query_params={"search": {"status": {"values": ["ACTIVE"]}}, "start": 1, "count": 1},
        version_string=VERSION,
    )
    assert [e["id"] for e in found.elements] == [500002]
    assert (found.paging.start, found.paging.count, found.paging.total) == (1, 1, 3)

    every = await run_sdk("get_all", resource_path="/organizations", version_string=VERSION)
    assert [e["localizedName"] for e in every.elements] == [
        "Sandbox Org 1",
        "Sandbox Org 2",
        "Sandbox Org 3",
    ]

    batch = await run_sdk(
        "batch_get", resource_path="/organizations", ids=[1, 3, 77], version_string=VERSION
    )
    assert batch.status_code == 200
    assert sorted(batch.results) == ["1", "3"]
    assert batch.statuses == {"1": 200, "3": 200}
    assert batch.errors == {"77": NOT_FOUND}


async def test_sdk_complex_keys_and_batch_finder(run_sdk: Callable[..., Awaitable[Any]]) -> None:
    acl = {"organization": "urn:li:organization:2", "role": "ADMINISTRATOR", "roleAssignee": MEMBER}
    missing = {**acl, "role": "ANALYST"}
    batch = await run_sdk(
        "batch_get", resource_path="/organizationAcls", ids=[acl, missing], version_string=VERSION
    )
    assert batch.status_code == 200
    assert list(batch.results) == [encode(acl)]
    assert batch.results[encode(acl)]["state"] == "APPROVED"
    assert list(batch.errors) == [encode(missing)]

    found = await run_sdk(
        "batch_finder",
        resource_path="/adAccounts/{account}/adCampaigns",
        path_keys={"account": 500001},
        finder_name="search",
        finder_criteria=("criteria", [{"status": "ACTIVE"}, {"status": "PAUSED"}]),
        version_string=VERSION,
    )
    assert found.status_code == 200
    assert len(found.results) == 2
    assert [[e["id"] for e in r.elements] for r in found.results] == [[700001, 700002]] * 2


async def test_sdk_create_then_get_by_urn(run_sdk: Callable[..., Awaitable[Any]]) -> None:
    created = await run_sdk(
        "create",
        resource_path="/posts",
        entity={"author": "urn:li:organization:1", "commentary": "hello from the SDK"},
        version_string=VERSION,
    )
    assert created.status_code == 201
    assert created.entity is None
    assert created.entity_id.startswith("urn:li:share:")
    assert created.decoded_entity_id == created.entity_id
    post = await run_sdk(
        "get",
        resource_path="/posts/{id}",
        path_keys={"id": created.entity_id},
        version_string=VERSION,
    )
    assert post.entity["commentary"] == "hello from the SDK"


async def test_sdk_long_batch_get_is_tunneled(run_sdk: Callable[..., Awaitable[Any]]) -> None:
    unknown = [f"urn:li:share:{8000000000000000000 + i}" for i in range(597)]
    ids = [*unknown[:300], *FIXTURE_POSTS, *unknown[300:]]
    batch = await run_sdk("batch_get", resource_path="/posts", ids=ids, version_string=VERSION)
    sent = batch.response.request
    assert sent.method == "POST"
    assert sent.headers["X-HTTP-Method-Override"] == "GET"
    assert len(sent.body) > 4000
    assert batch.status_code == 200
    assert set(batch.results) == {encode(urn) for urn in FIXTURE_POSTS}
    assert batch.results[encode(POST_3)]["id"] == POST_3
    assert set(batch.errors) == {encode(urn) for urn in unknown}


async def test_sdk_writes(run_sdk: Callable[..., Awaitable[Any]], client: Client) -> None:
    patched = await run_sdk(
        "partial_update",
        resource_path="/adAccounts/{id}",
        path_keys={"id": 500001},
        patch_set_object={"name": "Renamed by the SDK"},
        version_string=VERSION,
    )
    assert patched.status_code == 204
    got = await run_sdk(
        "get", resource_path="/adAccounts/{id}", path_keys={"id": 500001}, version_string=VERSION
    )
    assert got.entity["name"] == "Renamed by the SDK"

    deleted = await run_sdk(
        "delete", resource_path="/posts/{id}", path_keys={"id": POST_2}, version_string=VERSION
    )
    assert deleted.status_code == 204
    gone = await run_sdk(
        "get", resource_path="/posts/{id}", path_keys={"id": POST_2}, version_string=VERSION
    )
    assert (gone.status_code, gone.entity) == (404, NOT_FOUND)

    many = await run_sdk(
        "batch_partial_update",
        resource_path="/organizations",
        ids=[1, 2],
        patch_set_objects=[{"vanityName": "one"}, {"vanityName": "two"}],
        version_string=VERSION,
    )
    assert {k: v.status for k, v in many.results.items()} == {"1": 204, "2": 204}

    created = await run_sdk(
        "batch_create",
        resource_path="/adAccounts/{account}/adCampaigns",
        path_keys={"account": 500003},
        entities=[{"name": "C1"}, {"name": "C2"}],
        version_string=VERSION,
    )
    assert [r.status for r in created.elements] == [201, 201]
    assert all(isinstance(r.id, int) for r in created.elements)

    removed = await run_sdk(
        "batch_delete", resource_path="/posts", ids=[POST_1, POST_3], version_string=VERSION
    )
    assert {k: v.status for k, v in removed.results.items()} == {
        encode(POST_1): 204,
        encode(POST_3): 204,
    }

    acted = await run_sdk(
        "action",
        resource_path="/mediaPlanning",
        action_name="forecastReaches",
        action_params={"targeting": {"include": []}},
        version_string=VERSION,
    )
    assert acted.status_code == 200
    assert acted.value["action"] == "forecastReaches"
    assert acted.value["parameters"] == {"targeting": {"include": []}}

    counted = (await stats(client))["by_method"]
    assert counted == {
        "ACTION": 1,
        "BATCH_CREATE": 1,
        "BATCH_DELETE": 1,
        "BATCH_PARTIAL_UPDATE": 1,
        "DELETE": 1,
        "GET": 2,
        "PARTIAL_UPDATE": 1,
    }


# --- Running it on its own ------------------------------------------------------------------


async def test_module_runs_a_sandbox_and_prints_its_url() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.sandbox", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert match is not None, line
        assert int(match.group(2)) > 0
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{match.group(1)}/v2/userinfo", headers=AUTH) as response,
        ):
            assert response.status == 200
            assert (await response.json())["sub"] == "sandbox-member"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=20)
