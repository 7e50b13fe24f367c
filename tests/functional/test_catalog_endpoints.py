"""Media uploads, events and offline conversions are checked like any other call: refused
without their permission, admitted with it, answered by the sandbox. Real sockets."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.functional.adaccounts_harness import ServerFactory, load, send, start

CONFIG = """\
listen: 127.0.0.1:0
admin_listen: null
upstream: {upstream}
store: memory://
upstream_connect_timeout: 2
upstream_timeout: 5
max_body_bytes: 65536
apps:
  social:
    client_id: c-social
    client_secret: s-social
    products:
      community_management: {{tier: standard}}
  leads:
    client_id: c-leads
    client_secret: s-leads
    products:
      lead_sync: {{}}
  offline:
    client_id: c-offline
    client_secret: s-offline
    products:
      offline_conversions: {{}}
tokens:
  - {{token: tok-media, app: social, member: 'urn:li:person:m', scopes: [w_member_social]}}
  - {{token: tok-profile, app: social, member: 'urn:li:person:p', scopes: [r_basicprofile]}}
  - {{token: tok-events, app: leads, member: 'urn:li:person:e', scopes: [r_events]}}
  - {{token: tok-leads, app: leads, member: 'urn:li:person:l', scopes: [r_marketing_leadgen_automation]}}
  - {{token: tok-offline, app: offline, member: 'urn:li:person:o', scopes: [rw_offlineConversions]}}
  - {{token: tok-offline-none, app: offline, member: 'urn:li:person:n', scopes: []}}
"""


@pytest.fixture
async def gateway(sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    settings = load(tmp_path, CONFIG.format(upstream=str(sandbox.make_url("")).rstrip("/")))
    return await start(aiohttp_server, settings)


async def upstream_requests(session: aiohttp.ClientSession, sandbox: TestServer) -> int:
    async with session.get(sandbox.make_url("/__sandbox/stats")) as response:
        stats = await response.json()
    return int(stats["requests"])


def initialize(owner: str) -> dict[str, object]:
    return {"initializeUploadRequest": {"owner": owner}}


@pytest.mark.parametrize(("collection", "kind"), [("images", "image"), ("documents", "document")])
async def test_media_upload_needs_a_posting_scope_and_is_served(
    gateway: TestServer, sandbox: TestServer, collection: str, kind: str
) -> None:
    path = f"/rest/{collection}?action=initializeUpload"
    async with aiohttp.ClientSession() as session:
        before = await upstream_requests(session, sandbox)
        refused = await send(
            session, gateway, "POST", path, "tok-profile", body=initialize("urn:li:person:p")
        )
        refused_body = await refused.json()
        assert await upstream_requests(session, sandbox) == before

        admitted = await send(
            session, gateway, "POST", path, "tok-media", body=initialize("urn:li:person:m")
        )
        value = (await admitted.json())["value"]
        urn, upload_url = value[kind], value["uploadUrl"]
        waiting = await send(
            session, gateway, "GET", f"/rest/{collection}/{quote(urn, safe='')}", "tok-media"
        )
        waiting_body = await waiting.json()
        # The bytes go straight to the upload URL, never through the gateway.
        async with session.put(upload_url, data=b"\x89PNG...") as put:
            assert put.status == 201
        ready = await send(
            session, gateway, "GET", f"/rest/{collection}/{quote(urn, safe='')}", "tok-media"
        )
        ready_body = await ready.json()

    assert refused.status == 403
    assert refused.headers["X-Gateway-Reason"] == "insufficient_scope"
    assert "w_member_social" in refused_body["message"]
    assert admitted.status == 200
    assert urn.startswith(f"urn:li:{kind}:")
    assert upload_url.startswith(str(sandbox.make_url("/__sandbox/upload/")))
    assert (waiting.status, waiting_body["status"]) == (200, "WAITING_UPLOAD")
    assert (ready.status, ready_body["status"], ready_body["owner"]) == (
        200,
        "AVAILABLE",
        "urn:li:person:m",
    )


async def test_video_upload_initializes_and_finalizes(gateway: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        started = await send(
            session,
            gateway,
            "POST",
            "/rest/videos?action=initializeUpload",
            "tok-media",
            body=initialize("urn:li:person:m"),
        )
        value = (await started.json())["value"]
        finished = await send(
            session,
            gateway,
            "POST",
            "/rest/videos?action=finalizeUpload",
            "tok-media",
            body={
                "finalizeUploadRequest": {
                    "video": value["video"],
                    "uploadToken": "",
                    "uploadedPartIds": [],
                }
            },
        )
        refused = await send(
            session, gateway, "POST", "/rest/videos?action=finalizeUpload", "tok-profile", body={}
        )
    assert started.status == 200
    assert value["uploadInstructions"][0]["uploadUrl"]
    assert finished.status == 200
    assert refused.status == 403


async def test_events_are_read_with_r_events(gateway: TestServer, sandbox: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        one = await send(session, gateway, "GET", "/rest/events/810001", "tok-events")
        one_body = await one.json()
        by_organizer = await send(
            session,
            gateway,
            "GET",
            "/rest/events?q=eventsByOrganizer&organizer=urn%3Ali%3Aorganization%3A1",
            "tok-events",
        )
        before = await upstream_requests(session, sandbox)
        refused = await send(session, gateway, "GET", "/rest/events/810001", "tok-leads")
        after = await upstream_requests(session, sandbox)
    assert (one.status, one_body["organizer"]) == (200, "urn:li:organization:1")
    assert by_organizer.status == 200
    assert refused.status == 403
    assert refused.headers["X-Gateway-Reason"] == "insufficient_scope"
    assert after == before


async def test_offline_conversions_stream_events_with_their_own_scope(
    gateway: TestServer, sandbox: TestServer
) -> None:
    event = {
        "conversion": "urn:lla:llaPartnerConversion:820001",
        "conversionHappenedAt": 1733300000000,
        "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": "ab" * 32}]},
    }
    async with aiohttp.ClientSession() as session:
        admitted = await send(
            session, gateway, "POST", "/rest/conversionEvents", "tok-offline", body=event
        )
        rule = await send(session, gateway, "GET", "/rest/conversions/820001", "tok-offline")
        before = await upstream_requests(session, sandbox)
        refused = await send(
            session, gateway, "POST", "/rest/conversionEvents", "tok-offline-none", body=event
        )
        after = await upstream_requests(session, sandbox)
        refused_body = await refused.json()
    assert admitted.status == 201
    assert admitted.headers["x-restli-id"]
    assert rule.status == 200
    assert refused.status == 403
    assert "rw_offlineConversions (granted by Offline Conversions)" in refused_body["message"]
    assert after == before
