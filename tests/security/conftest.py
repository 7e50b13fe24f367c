"""Fixtures every attack class uses: a recording upstream and the built-in sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from gateway.sandbox.app import make_sandbox_app
from tests.security.recording_upstream import RecordingUpstream

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def upstream() -> AsyncIterator[RecordingUpstream]:
    """An upstream that records each request exactly as it read it off the socket."""
    recording = RecordingUpstream()
    await recording.start()
    yield recording
    await recording.close()


@pytest.fixture
async def sandbox(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(make_sandbox_app())
