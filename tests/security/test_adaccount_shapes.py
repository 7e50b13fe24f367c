"""The Advertising Development five-account limit counts every write that names an ad
account, whatever the endpoint's shape.

Before, only writes on routes marked ``ad_account_scoped`` were counted: ``POST
/rest/adCampaignGroups`` or ``POST /rest/adCampaigns`` naming the account in the body
(uncatalogued, so forwarded), an insight tag, a conversion event with the account in the
query, a tunneled write with the account in its entity part, all reached LinkedIn for a
sixth account. Real sockets; the upstream records what reached it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from gateway.app import build_gateway_app
from tests.functional.adaccounts_harness import ads_yaml, campaign_group, headers, load, sponsored
from tests.security.recording_upstream import RecordingUpstream

ServerFactory = Callable[..., Awaitable[TestServer]]
SIXTH = 6
EDITED = 3
BOUNDARY = "xYzBoundary42"


def _multipart(entity: dict[str, object]) -> bytes:
    return (
        f"--{BOUNDARY}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
        f"fields=id\r\n--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n"
        f"{json.dumps(entity)}\r\n--{BOUNDARY}--\r\n"
    ).encode()


Shape = tuple[str, str, dict[str, str], bytes]


def shape(name: str, account: int) -> Shape:
    """(method, path, extra headers, body) of a write naming ``account`` one way."""
    urn = sponsored(account)
    encoded = urn.replace(":", "%3A")
    as_json = {"Content-Type": "application/json"}
    shapes: dict[str, Shape] = {
        "campaign group, account in the body": (
            "POST",
            "/rest/adCampaignGroups",
            as_json,
            json.dumps(campaign_group(account)).encode(),
        ),
        "campaign, account in the body": (
            "POST",
            "/rest/adCampaigns",
            as_json,
            json.dumps(
                {"account": urn, "campaignGroup": "urn:li:sponsoredCampaignGroup:1"}
            ).encode(),
        ),
        "campaign, account JSON-escaped": (
            "POST",
            "/rest/adCampaigns",
            as_json,
            json.dumps({"account": urn}).replace("Account", "\\u0041ccount").encode(),
        ),
        "insight tag, account in the body": (
            "POST",
            "/rest/insightTags",
            as_json,
            json.dumps({"account": urn, "name": "tag"}).encode(),
        ),
        "conversion event, account in the query": (
            "POST",
            f"/rest/conversionEvents?account={encoded}",
            as_json,
            b'{"conversion":"urn:lla:llaPartnerConversion:1"}',
        ),
        "account in an uncatalogued path": (
            "POST",
            f"/rest/adAccounts/{account}/adBudgets",
            as_json,
            b"{}",
        ),
        "tunneled, account in the entity part": (
            "POST",
            "/rest/insightTags",
            {
                "X-HTTP-Method-Override": "POST",
                "Content-Type": f"multipart/mixed; boundary={BOUNDARY}",
            },
            _multipart({"account": urn}),
        ),
        "batch create, account in an element": (
            "POST",
            "/rest/adCampaigns",
            {**as_json, "X-RestLi-Method": "BATCH_CREATE"},
            json.dumps({"elements": [{"name": "a"}, {"account": urn}]}).encode(),
        ),
    }
    return shapes[name]


SHAPES = [
    "campaign group, account in the body",
    "campaign, account in the body",
    "campaign, account JSON-escaped",
    "insight tag, account in the body",
    "conversion event, account in the query",
    "account in an uncatalogued path",
    "tunneled, account in the entity part",
    "batch create, account in an element",
]


async def _gateway(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> TestServer:
    settings = load(tmp_path, ads_yaml(upstream.url))
    return await aiohttp_server(build_gateway_app(settings, clock=time.time))


async def _send(
    session: aiohttp.ClientSession, gw: TestServer, write: Shape
) -> tuple[int, str | None]:
    method, path, extra, body = write
    sent = {**headers("tok-ads"), **extra}
    # Sent as written: yarl would otherwise decode %3A in the query.
    url = URL(str(gw.make_url("")).rstrip("/") + path, encoded=True)
    async with session.request(
        method, url, headers=sent, data=body, skip_auto_headers=["Content-Type"]
    ) as response:
        await response.read()
        return response.status, response.headers.get("X-Gateway-Reason")


async def _edit_five(session: aiohttp.ClientSession, gw: TestServer) -> None:
    for account in range(1, 6):
        status, reason = await _send(
            session,
            gw,
            (
                "POST",
                f"/rest/adAccounts/{account}/adCampaignGroups",
                {"Content-Type": "application/json"},
                json.dumps(campaign_group(account)).encode(),
            ),
        )
        assert status == 200, (account, reason)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def five_edited(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    upstream: RecordingUpstream,
    session: aiohttp.ClientSession,
) -> TestServer:
    """A gateway whose app has already edited its five ad accounts."""
    gw = await _gateway(aiohttp_server, tmp_path, upstream)
    await _edit_five(session, gw)
    return gw


@pytest.mark.parametrize("name", SHAPES)
async def test_a_sixth_account_is_refused_whatever_the_shape(
    five_edited: TestServer, session: aiohttp.ClientSession, upstream: RecordingUpstream, name: str
) -> None:
    before = len(upstream.requests)

    status, reason = await _send(session, five_edited, shape(name, SIXTH))

    assert (status, reason) == (403, "ad_account_edit_limit")
    assert len(upstream.requests) == before


@pytest.mark.parametrize("name", SHAPES)
async def test_the_same_shape_for_an_edited_account_goes_through_byte_for_byte(
    five_edited: TestServer, session: aiohttp.ClientSession, upstream: RecordingUpstream, name: str
) -> None:
    write = shape(name, EDITED)

    status, reason = await _send(session, five_edited, write)

    assert (status, reason) == (200, None)
    seen = upstream.requests[-1]
    assert (seen.method, seen.target, seen.body) == (write[0], write[1], write[3])


async def test_a_malformed_account_in_any_write_is_refused(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> None:
    gw = await _gateway(aiohttp_server, tmp_path, upstream)
    async with aiohttp.ClientSession() as session:
        status, reason = await _send(
            session,
            gw,
            (
                "POST",
                "/rest/adCampaigns",
                {"Content-Type": "application/json"},
                b'{"account":"urn:li:sponsoredAccount:12ab"}',
            ),
        )

    assert (status, reason) == (400, "bad_request")
    assert upstream.requests == []


async def test_a_write_naming_no_account_off_the_ad_account_routes_is_not_limited(
    five_edited: TestServer, session: aiohttp.ClientSession
) -> None:
    status, reason = await _send(
        session,
        five_edited,
        (
            "POST",
            "/rest/conversionEvents",
            {"Content-Type": "application/json"},
            b'{"conversion":"urn:lla:llaPartnerConversion:1"}',
        ),
    )

    assert (status, reason) == (200, None)
