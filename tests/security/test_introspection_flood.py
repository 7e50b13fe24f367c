"""A flood of random tokens must not spend the apps' introspection calls at LinkedIn.

Every token the cache lacks costs one introspectToken call per configured app; the
gateway bounds them with a token bucket per app and answers 503 beyond it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.errors import ConfigError
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import FakeClock, write_config
from tests.functional.oauth_support import ACLS, call, metric, oauth_yaml, sandbox_oauth

ServerFactory = Callable[..., Awaitable[TestServer]]
APPS = ("social", "social-std", "ads")  # the harness config, asked in this order
BURST = 4
FLOOD = 30


async def start(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    sandbox: TestServer,
    clock: FakeClock,
    limit: dict[str, float] | None,
) -> TestServer:
    config = yaml.safe_load(oauth_yaml(str(sandbox.make_url(""))))
    if limit is not None:
        config["introspection_limit"] = limit
    settings = load_settings(
        write_config(tmp_path, yaml.safe_dump(config, sort_keys=False)), environ={}
    )
    return await aiohttp_server(build_gateway_app(settings, clock=clock))


async def test_a_flood_of_random_tokens_is_cut_off_at_the_budget(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    clock = FakeClock(1_800_000_000.0)
    gw = await start(aiohttp_server, tmp_path, sandbox, clock, {"per_second": 0.5, "burst": BURST})
    oauth = sandbox_oauth(sandbox)
    async with aiohttp.ClientSession() as session:
        answers = [await call(session, gw, secrets.token_urlsafe(24)) for _ in range(FLOOD)]

        statuses = [status for status, _, _ in answers]
        # Each garbage token asks every app in turn: BURST tokens spend every bucket.
        assert statuses[:BURST] == [401] * BURST
        assert statuses[BURST:] == [503] * (FLOOD - BURST)
        for _, body, headers in answers[BURST:]:
            assert headers["X-Gateway-Reason"] == "introspection_rate_limited"
            assert body["status"] == 503 and body["code"] == "SERVICE_UNAVAILABLE"
            assert headers["Retry-After"] == "2"  # one call back at 0.5 per second
        assert oauth.calls["introspectToken"] == BURST * len(APPS)
        assert metric(gw, "gateway_introspection_calls_total", app="social", result="limited") == (
            FLOOD - BURST
        )

        # A real token now waits for the budget too; the refill lets it through.
        scopes = ("rw_organization_admin", "r_basicprofile")
        token = oauth.issue("c-social", "urn:li:person:late", scopes)
        status, _, headers = await call(session, gw, token, ACLS)
        assert status == 503 and headers["X-Gateway-Reason"] == "introspection_rate_limited"
        clock.now += 2
        assert (await call(session, gw, token, ACLS))[0] == 200
    assert oauth.calls["introspectToken"] == BURST * len(APPS) + 1


async def test_repeats_of_one_dead_token_cost_one_call_per_app_whatever_the_budget(
    sandbox: TestServer, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    clock = FakeClock(1_800_000_000.0)
    gw = await start(aiohttp_server, tmp_path, sandbox, clock, None)
    oauth = sandbox_oauth(sandbox)
    dead = secrets.token_urlsafe(24)
    async with aiohttp.ClientSession() as session:
        statuses = {(await call(session, gw, dead))[0] for _ in range(50)}
    assert statuses == {401}
    # The negative cache answers the repeats: no budget is spent on them.
    assert oauth.calls["introspectToken"] == len(APPS)


@pytest.mark.parametrize(
    ("limit", "path"),
    [
        ({"per_second": 0}, "introspection_limit.per_second"),
        ({"per_second": "fast"}, "introspection_limit.per_second"),
        ({"burst": 0}, "introspection_limit.burst"),
        ({"burst": 2.5}, "introspection_limit.burst"),
        ({"rate": 3}, "introspection_limit.rate"),
    ],
)
def test_a_bad_introspection_limit_is_a_config_error(
    tmp_path: Path, limit: dict[str, object], path: str
) -> None:
    config = yaml.safe_load(oauth_yaml("sandbox"))
    config["introspection_limit"] = limit
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, yaml.safe_dump(config, sort_keys=False)), environ={})
    assert any(p.path == path for p in caught.value.problems), caught.value
