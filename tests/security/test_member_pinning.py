"""X-Gateway-Member: a token's member is pinned the first time a header names it, and the
header is believed only from the sources ``member_header`` trusts.

Before, any client could name a different member on each call and get a fresh 10-call
member budget every time.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.sandbox.app import make_sandbox_app
from gateway.settings.loader import load_settings
from tests.functional import oauth_support as support
from tests.functional.gateway_harness import write_config
from tests.redis_server import PATIENT, redis_url, unique_app, with_query

HEADER = "X-Gateway-Member"
SECRET_HEADER = "X-Gateway-Member-Secret"
SECRET = "sidecar-4f0b9c2e7d1a"
TRUSTING = {"social": {"trusted_member_header": True}}
WAIT = 30.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def upstream(
    aiohttp_server: support.ServerFactory,
) -> tuple[TestServer, list[dict[str, str]]]:
    """The sandbox, recording the headers of every API call that reaches it."""
    seen: list[dict[str, str]] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(("/rest/", "/v2/")):
            seen.append({k.lower(): v for k, v in request.headers.items()})
        return await handler(request)

    app = make_sandbox_app()
    app.middlewares.append(record)
    return await aiohttp_server(app), seen


@pytest.fixture
async def gw(
    upstream: tuple[TestServer, list[dict[str, str]]],
    aiohttp_server: support.ServerFactory,
    tmp_path: Path,
) -> TestServer:
    """The gateway in front of the recording sandbox, trusting the member header."""
    sandbox, _ = upstream
    return await support.start_oauth_gateway(
        aiohttp_server, tmp_path, str(sandbox.make_url("")), apps=TRUSTING
    )


def member_limits(headers: Any) -> str:
    return str(headers.get("RateLimit", ""))


async def test_a_token_keeps_the_member_its_first_header_named(
    upstream: tuple[TestServer, list[dict[str, str]]], gw: TestServer
) -> None:
    sandbox, seen = upstream
    token = support.sandbox_oauth(sandbox).issue(
        "c-social", "urn:li:person:x", ("rw_organization_admin",)
    )
    async with aiohttp.ClientSession() as session:
        status, _, headers = await support.call(
            session, gw, token, headers={HEADER: "urn:li:person:first"}
        )
        assert status == 200 and '"member";r=9;' in member_limits(headers)

        # Each call names a new member: before pinning, each got a fresh member budget.
        answers = [
            await support.call(session, gw, token, headers={HEADER: f"urn:li:person:other{i}"})
            for i in range(12)
        ]
        for status, body, headers in answers:
            assert status == 403, body
            assert headers["X-Gateway-Reason"] == "member_mismatch"
            assert body["code"] == "ACCESS_DENIED" and body["status"] == 403

        status, _, headers = await support.call(
            session, gw, token, headers={HEADER: "urn:li:person:first"}
        )
    assert status == 200 and '"member";r=8;' in member_limits(headers)
    assert '"app";r=98;' in member_limits(headers)
    assert len(seen) == 2
    assert all(HEADER.lower() not in h for h in seen)


async def test_a_header_contradicting_the_looked_up_member_is_refused(
    upstream: tuple[TestServer, list[dict[str, str]]], gw: TestServer
) -> None:
    sandbox, _ = upstream
    scopes = ("rw_organization_admin", "openid")
    token = support.sandbox_oauth(sandbox).issue("c-social", "urn:li:person:real", scopes)
    async with aiohttp.ClientSession() as session:
        status, body, headers = await support.call(
            session, gw, token, headers={HEADER: "urn:li:person:someone-else"}
        )
        assert status == 403 and headers["X-Gateway-Reason"] == "member_mismatch", body
        status, _, _ = await support.call(
            session, gw, token, headers={HEADER: "urn:li:person:real"}
        )
        assert status == 200


@pytest.mark.parametrize(
    ("member_header", "sent", "admitted"),
    [
        # Loopback is not listed: the test client's 127.0.0.1 is an untrusted source.
        ({"trusted_sources": ["10.0.0.0/8", "fd00::/8"]}, {}, False),
        ({"secret_env": "MEMBER_SECRET"}, {}, False),
        ({"secret_env": "MEMBER_SECRET"}, {SECRET_HEADER: SECRET[:-1] + "x"}, False),
        ({"secret_env": "MEMBER_SECRET"}, {SECRET_HEADER: SECRET + "x"}, False),
        ({"secret_env": "MEMBER_SECRET"}, {SECRET_HEADER: SECRET}, True),
        ({"trusted_sources": ["127.0.0.1", "::1"]}, {}, True),
        ({}, {}, True),  # the default: loopback only
    ],
)
async def test_the_header_is_believed_only_from_trusted_sources(
    upstream: tuple[TestServer, list[dict[str, str]]],
    aiohttp_server: support.ServerFactory,
    tmp_path: Path,
    member_header: dict[str, Any],
    sent: dict[str, str],
    admitted: bool,
) -> None:
    sandbox, seen = upstream
    config = yaml.safe_load(support.oauth_yaml(str(sandbox.make_url("")), apps=TRUSTING))
    config["member_header"] = member_header
    path = write_config(tmp_path, yaml.safe_dump(config, sort_keys=False))
    settings = load_settings(path, environ={"MEMBER_SECRET": SECRET})
    gw = await aiohttp_server(build_gateway_app(settings))
    token = support.sandbox_oauth(sandbox).issue(
        "c-social", "urn:li:person:x", ("rw_organization_admin",)
    )
    async with aiohttp.ClientSession() as session:
        status, body, headers = await support.call(
            session, gw, token, headers={HEADER: "urn:li:person:sidecar", **sent}
        )
    if admitted:
        assert status == 200, body
        assert len(seen) == 1
        assert not {HEADER.lower(), SECRET_HEADER.lower()} & set(seen[0])
    else:
        assert status == 403, body
        assert headers["X-Gateway-Reason"] == "member_header_untrusted"
        assert SECRET not in body["message"]
        assert seen == []
        assert support.metric(gw, "gateway_quota_consumed_total", app="social") == 0


@pytest.fixture
def shared_redis() -> Iterator[str]:
    with redis_url() as url:
        yield url


@pytest.mark.redis
async def test_two_replicas_racing_with_different_headers_pin_one_member(
    upstream: tuple[TestServer, list[dict[str, str]]],
    aiohttp_server: support.ServerFactory,
    tmp_path: Path,
    shared_redis: str,
) -> None:
    sandbox, _ = upstream
    suffix = "-" + unique_app("pin")
    store = with_query(shared_redis, PATIENT)
    replicas = [
        await support.start_oauth_gateway(
            aiohttp_server,
            tmp_path,
            str(sandbox.make_url("")),
            apps={f"social{suffix}": {"trusted_member_header": True}},
            store=store,
            suffix=suffix,
            name=f"replica{i}.yaml",
        )
        for i in range(2)
    ]
    token = support.sandbox_oauth(sandbox).issue(
        f"c-social{suffix}", "urn:li:person:x", ("rw_organization_admin",)
    )
    start = asyncio.Event()
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> tuple[str, int]:
            await start.wait()
            member = f"urn:li:person:{'ab'[i % 2]}"
            status, _, _ = await support.call(
                session, replicas[i % 2], token, headers={HEADER: member}
            )
            return member, status

        tasks = [asyncio.create_task(one(i)) for i in range(8)]
        await asyncio.sleep(0)
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    by_member = collections.defaultdict(set)
    for member, status in results:
        by_member[member].add(status)
    # One member won the pin: all its calls passed; every call naming the other was refused.
    assert sorted(map(frozenset, by_member.values()), key=min) == [
        frozenset({200}),
        frozenset({403}),
    ], results
