"""``linkedin-gateway ad-accounts list|reset`` on the ledger a running gateway keeps in Redis."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.adaccounts.keys import persistent_keys
from gateway.cli import main
from gateway.runtime import RUNTIME
from tests.functional.adaccounts_harness import (
    ServerFactory,
    ads_yaml,
    campaign_group,
    load,
    new_account,
    send,
    start,
)
from tests.functional.gateway_harness import write_config
from tests.redis_server import PATIENT, with_query


async def cli(action: str, app: str, config: str) -> int:
    # The command runs its own event loop, as it does from a shell.
    yes = ["--yes"] if action == "reset" else []
    return await asyncio.to_thread(main, ["ad-accounts", action, app, "--config", config, *yes])


@pytest.mark.redis
async def test_list_and_reset_the_ledger_of_a_running_gateway(
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suffix = "-" + uuid.uuid4().hex[:12]
    app = "ads" + suffix
    text = ads_yaml(str(sandbox.make_url("")), store=with_query(redis_url, PATIENT), suffix=suffix)
    config = write_config(tmp_path, text, "cli.yaml")
    gateway = await start(aiohttp_server, load(tmp_path, text))
    try:
        async with aiohttp.ClientSession() as session:
            for account in (500002, 17):
                path = f"/rest/adAccounts/{account}/adCampaignGroups"
                body = campaign_group(account)
                assert (await send(session, gateway, "POST", path, body=body)).status == 201
            created = await send(session, gateway, "POST", "/rest/adAccounts", body=new_account())
            assert created.status == 201
        test_id = created.headers["x-restli-id"]

        assert await cli("list", app, config) == 0
        listed = capsys.readouterr().out
        assert listed == (
            f"app {app} has 2 edited ad account(s) (of 5)\n"
            "  urn:li:sponsoredAccount:17\n"
            "  urn:li:sponsoredAccount:500002\n"
            f"app {app} has 1 test ad account create(s) (of 1)\n"
            f"  urn:li:sponsoredAccount:{test_id}\n"
        )

        assert await cli("reset", app, config) == 0
        assert capsys.readouterr().out.startswith(f"app {app} forgot 2 edited ad account(s)")
        # The running gateway sees the reset at once: the ledger lives in the shared store.
        view = await gateway.app[RUNTIME].ad_accounts.ledger.view(app)
        assert (view.edited, view.test_slots) == ((), 0)
        assert await cli("list", app, config) == 0
        assert f"app {app} has 0 edited ad account(s)" in capsys.readouterr().out
    finally:
        await gateway.app[RUNTIME].store.client.delete(*persistent_keys(app))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("argv", "status", "error"),
    [
        (["ad-accounts", "list", "nobody"], 1, "unknown app 'nobody'"),
        (["ad-accounts", "list", "ads"], 1, "the store is memory://"),
        (["ad-accounts", "reset", "ads", "--yes"], 1, "the store is memory://"),
        (["ad-accounts", "reset", "ads"], 2, "stdin is not a terminal to ask on, so pass --yes"),
        (["ad-accounts", "list"], 2, "usage:"),
        (["ad-accounts", "forget", "ads"], 2, "usage:"),
    ],
)
def test_cli_refuses_what_it_cannot_do(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    status: int,
    error: str,
) -> None:
    config = write_config(tmp_path, ads_yaml("sandbox"))
    try:
        code = main([*argv, "--config", config])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    assert code == status
    assert error in capsys.readouterr().err
