"""``ad-accounts``: `list` needs no app secret; `reset` asks on a terminal, refuses without one.

Real processes on a real Redis; the terminal is a real pseudo-terminal (``pty``).
"""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.adaccounts.keys import persistent_keys
from gateway.backends import Backends
from tests.functional.cli_process import clean_env, run_cli
from tests.redis_server import PATIENT, unique_app, with_query

pytestmark = pytest.mark.redis

ANSWER_SECONDS = 30.0


def config_text(app: str, store: str) -> str:
    # The other app names a secret variable nobody set: ad-accounts must not need it.
    return f"""\
store: {store}
admin_listen: off
apps:
  {app}:
    client_id: c-{app}
    client_secret_env: ADS_SECRET_NOT_SET_HERE
    products: {{advertising: {{tier: development}}}}
  other-{app}:
    client_id: c-other-{app}
    client_secret_env: OTHER_SECRET_NOT_SET_HERE
    products: {{community_management: {{tier: development}}}}
"""


@pytest.fixture
async def ledger_app(redis_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """An app with two edited ad accounts in Redis, and a config naming it."""
    app = unique_app("ads")
    store_url = with_query(redis_url, PATIENT)
    backends = Backends.open(store_url)
    assert backends.redis is not None
    ledger = backends.ad_account_ledger()
    try:
        assert (await ledger.claim_edit(app, ["500002", "17"], 5)).admitted
        config = tmp_path / "ads.yaml"
        config.write_text(config_text(app, store_url), encoding="utf-8")
        yield app, str(config)
    finally:
        await backends.redis.delete(*persistent_keys(app))
        await backends.close()


async def edited(redis_url: str, app: str) -> tuple[str, ...]:
    backends = Backends.open(redis_url)
    try:
        return (await backends.ad_account_ledger().view(app)).edited
    finally:
        await backends.close()


def test_list_reads_without_any_app_secret(ledger_app: tuple[str, str]) -> None:
    app, config = ledger_app
    done = run_cli(["ad-accounts", "list", app, "--config", config])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"app {app} has 2 edited ad account(s) (of 5)\n")
    # check-config still insists on them: serving needs them.
    checked = run_cli(["check-config", config])
    assert checked.returncode == 1
    assert "ADS_SECRET_NOT_SET_HERE is not set" in checked.stderr


async def test_reset_without_a_terminal_refuses_unless_yes(
    ledger_app: tuple[str, str], redis_url: str
) -> None:
    app, config = ledger_app
    refused = await asyncio.to_thread(run_cli, ["ad-accounts", "reset", app, "--config", config])
    assert refused.returncode == 2
    assert "stdin is not a terminal to ask on, so pass --yes" in refused.stderr
    assert len(await edited(redis_url, app)) == 2

    done = await asyncio.to_thread(
        run_cli, ["ad-accounts", "reset", app, "--config", config, "--yes"]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"app {app} forgot 2 edited ad account(s)")
    assert await edited(redis_url, app) == ()


def answer_on_a_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin and stdout; type ``answer`` once it asks."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.STDOUT,
        env=clean_env(),
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    answered = False
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(leader, answer.encode() + b"\n")
                answered = True
        return proc.wait(timeout=ANSWER_SECONDS), seen.decode(errors="replace")
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("answer", ["n", "", "nope"])
async def test_reset_on_a_terminal_keeps_everything_unless_confirmed(
    ledger_app: tuple[str, str], redis_url: str, answer: str
) -> None:
    app, config = ledger_app
    args = ["ad-accounts", "reset", app, "--config", config]
    code, screen = await asyncio.wait_for(
        asyncio.to_thread(answer_on_a_terminal, args, answer), ANSWER_SECONDS
    )
    assert code == 1, screen
    assert f"app {app} has 2 edited ad account(s) (of 5)" in screen  # shown before asking
    assert f"Forget these for app {app}?" in screen
    assert "nothing changed" in screen
    assert len(await edited(redis_url, app)) == 2


async def test_reset_on_a_terminal_forgets_when_confirmed(
    ledger_app: tuple[str, str], redis_url: str
) -> None:
    app, config = ledger_app
    args = ["ad-accounts", "reset", app, "--config", config]
    code, screen = await asyncio.wait_for(
        asyncio.to_thread(answer_on_a_terminal, args, "y"), ANSWER_SECONDS
    )
    assert code == 0, screen
    assert f"app {app} forgot 2 edited ad account(s)" in screen
    assert await edited(redis_url, app) == ()
