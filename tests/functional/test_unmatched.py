"""Calls the catalog does not know, over real sockets: forwarded (or denied) as configured,
logged once per path and day, counted by family, and listed with counts by the admin
listener and by `linkedin-gateway catalog --unmatched`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.catalog.unmatched import day_key
from gateway.catalog.unmatched_report import fetch_from_admin
from gateway.cli import main
from gateway.http.admin import build_admin_app
from gateway.quota.keys import utc_day
from gateway.quota.redis_store import RedisStore
from gateway.runtime import RUNTIME
from gateway.settings.model import HostPort
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.redis_server import PATIENT, with_query

Start = Callable[..., Awaitable[TestServer]]
ServerFactory = Callable[..., Awaitable[TestServer]]
HEADERS = {"LinkedIn-Version": "202505", "Authorization": f"Bearer {member_token(1)}"}


async def get(session: aiohttp.ClientSession, server: TestServer, path: str) -> int:
    async with session.get(server.make_url(path), headers=HEADERS) as response:
        await response.read()
        return response.status


async def test_unmatched_calls_are_logged_once_counted_and_listed(
    sandbox: TestServer,
    start_gateway: Start,
    aiohttp_server: ServerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tag = "probe" + uuid.uuid4().hex[:8]
    gateway = await start_gateway(str(sandbox.make_url("")))
    admin = await aiohttp_server(build_admin_app(gateway.app))
    async with aiohttp.ClientSession() as session:
        with caplog.at_level(logging.WARNING, logger="gateway"):
            statuses = [await get(session, gateway, f"/rest/{tag}/{n}/things") for n in (1, 2, 3)]
            statuses.append(await get(session, gateway, "/rest/adAccounts/5/notAThing"))
            # A catalogued call is not noted.
            statuses.append(await get(session, gateway, "/rest/organizationAcls?q=roleAssignee"))
        async with session.get(admin.make_url("/unmatched")) as response:
            listed = await response.json()
        async with session.get(admin.make_url("/metrics")) as response:
            metrics = await response.text()

    assert statuses == [200, 200, 200, 200, 200]
    logged = [r.getMessage() for r in caplog.records if "outside the catalog" in r.getMessage()]
    assert logged == [
        f"call outside the catalog: GET /rest/{tag}/{{key}}/things (family rest/other; logged "
        "once a day per path)",
        "call outside the catalog: GET /rest/adAccounts/{key}/notAThing (family "
        "rest/adaccounts; logged once a day per path)",
    ]
    assert listed["paths"] == [
        {"path": f"/rest/{tag}/{{key}}/things", "calls": 3},
        {"path": "/rest/adAccounts/{key}/notAThing", "calls": 1},
    ]
    # What `catalog --unmatched` reads from a gateway on a memory:// store.
    assert admin.port is not None
    where = HostPort("127.0.0.1", admin.port)
    fetched = await asyncio.wait_for(asyncio.to_thread(fetch_from_admin, where, None), timeout=30)
    assert fetched == listed
    assert 'gateway_unmatched_calls_total{family="rest/other"} 3' in metrics
    assert 'gateway_unmatched_calls_total{family="rest/adaccounts"} 1' in metrics
    assert tag not in metrics


async def test_denied_unmatched_calls_are_counted_too(
    sandbox: TestServer, start_gateway: Start
) -> None:
    gateway = await start_gateway(str(sandbox.make_url("")), extra="unmatched_routes: deny")
    async with aiohttp.ClientSession() as session:
        status = await get(session, gateway, "/rest/unknownResource/1")
    runtime = gateway.app[RUNTIME]
    assert status == 403
    assert await runtime.unmatched.today(runtime.clock()) == {"/rest/unknownResource/{key}": 1}


@pytest.mark.redis
async def test_the_cli_lists_what_every_replica_counted_in_redis(
    request: pytest.FixtureRequest,
    sandbox: TestServer,
    start_gateway: Start,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = with_query(request.getfixturevalue("redis_url"), PATIENT)
    tag = "probe" + uuid.uuid4().hex[:8]
    suffix = "-" + uuid.uuid4().hex[:8]
    upstream = str(sandbox.make_url(""))
    replicas = [await start_gateway(upstream, store=url, suffix=suffix) for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as session:
            for replica in replicas:
                for n in range(2):
                    assert await get(session, replica, f"/rest/{tag}/{n}/things") == 200
        for replica in replicas:
            runtime = replica.app[RUNTIME]
            await runtime.unmatched.flush(runtime.clock())
        config = write_config(
            tmp_path, gateway_yaml(upstream, store=url, suffix=suffix), "cli.yaml"
        )

        # The command runs its own event loop, as from a shell.
        cli = ["catalog", "--unmatched", "--config", config]
        assert await asyncio.wait_for(asyncio.to_thread(main, cli), timeout=30) == 0
        printed = capsys.readouterr().out
    finally:
        store = RedisStore.from_url(url)
        try:
            day = utc_day(replicas[0].app[RUNTIME].clock())
            await store.client.hdel(day_key(day), f"/rest/{tag}/{{key}}/things")
            for app in ("social", "social-std", "ads"):
                keys = [k async for k in store.client.scan_iter(match=f"lgw:{{{app}{suffix}}}*")]
                if keys:
                    await store.client.delete(*keys)
        finally:
            await store.close()
    assert printed.startswith("Calls outside the catalog on ")
    assert f"       4  /rest/{tag}/{{key}}/things\n" in printed


def test_a_memory_store_without_admin_listener_has_nowhere_to_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, gateway_yaml("sandbox"), "memory.yaml")
    assert main(["catalog", "--unmatched", "--config", config]) == 1
    assert "admin_listen is off: nowhere to read it from" in capsys.readouterr().err
