from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from linkedin_api.common import constants

from gateway.app import build_gateway_app
from gateway.quota.store import QuotaStore
from gateway.runtime import Clock
from gateway.sandbox.app import make_sandbox_app
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import FIXED_NOW, FakeClock, gateway_yaml, write_config
from tests.functional.oauth_support import start_oauth_gateway

ServerFactory = Callable[..., Awaitable[TestServer]]
GatewayFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def sandbox(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(make_sandbox_app())


@pytest.fixture
def start_gateway(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> Callable[..., Awaitable[TestServer]]:
    """Start a gateway on a real socket: start_gateway(upstream_url, clock=..., **yaml_options).

    ``quota_store`` injects a store object; the ``store`` option sets the config URL.
    """

    async def start(
        upstream: str,
        *,
        clock: Clock | None = None,
        quota_store: QuotaStore | None = None,
        **options: Any,
    ) -> TestServer:
        path = write_config(tmp_path, gateway_yaml(upstream, **options))
        settings = load_settings(path, environ={})
        app = build_gateway_app(settings, clock=clock or time.time, store=quota_store)
        return await aiohttp_server(app)

    return start


@pytest.fixture
def oauth_gateway(
    aiohttp_server: ServerFactory, tmp_path: Path, sandbox: TestServer
) -> GatewayFactory:
    """Start a gateway whose API upstream and OAuth side are both the test's sandbox:
    oauth_gateway(**options) takes start_oauth_gateway's options."""

    async def start(**options: Any) -> TestServer:
        upstream = str(sandbox.make_url(""))
        return await start_oauth_gateway(aiohttp_server, tmp_path, upstream, **options)

    return start


@pytest.fixture
async def gw(oauth_gateway: GatewayFactory) -> TestServer:
    """The OAuth gateway in front of the sandbox, with the default config (as the test
    module's oauth_gateway makes it, where the module narrows that fixture)."""
    return await oauth_gateway()


@pytest.fixture
def start_config(aiohttp_server: ServerFactory, tmp_path: Path) -> GatewayFactory:
    """Start a gateway from a whole config text: start_config(text, clock=None), on a fake
    clock at FIXED_NOW unless one is given. Each call writes its own file, so one test can
    run several gateways."""

    async def start_one(text: str, clock: Clock | None = None) -> TestServer:
        path = tmp_path / f"gateway-{time.monotonic_ns()}.yaml"
        path.write_text(text)
        settings = load_settings(str(path), environ={})
        return await aiohttp_server(build_gateway_app(settings, clock=clock or FakeClock(FIXED_NOW)))

    return start_one


@pytest.fixture
def point_sdk() -> Iterator[Callable[[TestServer], None]]:
    """Point the official SDK at a gateway; the SDK's base URLs are restored afterwards."""
    saved = (constants.VERSIONED_BASE_URL, constants.NON_VERSIONED_BASE_URL)

    def point(gateway: TestServer) -> None:
        base = str(gateway.make_url("")).rstrip("/")
        # The SDK reads these module constants at call time (linkedin-facts §8).
        constants.VERSIONED_BASE_URL = f"{base}/rest"
        constants.NON_VERSIONED_BASE_URL = f"{base}/v2"

    yield point
    constants.VERSIONED_BASE_URL, constants.NON_VERSIONED_BASE_URL = saved
