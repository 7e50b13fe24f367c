"""Exactness of the Development-tier quota through real sockets: bursts, replicas, midnight."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.functional import gateway_harness as harness
from tests.serve_process import free_port, wait_listening

PATH = "/rest/organizationAcls?q=roleAssignee"
HEADERS = {"LinkedIn-Version": "202505"}


async def burst(urls: list[str]) -> list[tuple[int, int]]:
    """20 members x 10 calls, all at once, spread over the given gateways: (member, status)."""
    calls = [
        (m, urls[(m * 10 + k) % len(urls)]) for m in range(len(harness.MEMBERS)) for k in range(10)
    ]
    start = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(member: int, base: str) -> tuple[int, int]:
            await start.wait()
            headers = {"Authorization": f"Bearer {harness.member_token(member)}", **HEADERS}
            async with session.get(base + PATH, headers=headers) as resp:
                await resp.read()
                return member, resp.status

        tasks = [asyncio.create_task(one(m, u)) for m, u in calls]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), 60)


def check_exact(results: list[tuple[int, int]]) -> None:
    statuses = collections.Counter(status for _, status in results)
    assert statuses == {200: 100, 429: 100}, statuses
    per_member = collections.Counter(m for m, status in results if status == 200)
    assert max(per_member.values()) <= 10, per_member


async def sandbox_requests(base: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(base + "/__sandbox/stats") as resp:
        return int((await resp.json())["requests"])


async def test_burst_on_memory_store_admits_exactly_100(
    sandbox: TestServer, start_gateway: harness.Start
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    check_exact(await burst([str(gw.make_url("")).rstrip("/")]))
    assert await sandbox_requests(str(sandbox.make_url("")).rstrip("/")) == 100


async def test_burst_on_real_redis_admits_exactly_100(
    sandbox: TestServer, start_gateway: harness.Start, redis_url: str
) -> None:
    gw = await start_gateway(
        str(sandbox.make_url("")), store=redis_url, suffix=uuid.uuid4().hex[:8]
    )
    check_exact(await burst([str(gw.make_url("")).rstrip("/")]))
    assert await sandbox_requests(str(sandbox.make_url("")).rstrip("/")) == 100


@contextlib.contextmanager
def gateway_processes(
    tmp_path: Path,
    store: str,
    count: int = 3,
    extra: str = "",
    social_quotas: str = "",
    admin_ports: list[int] | None = None,
) -> Iterator[tuple[str, list[str]]]:
    """A sandbox process and ``count`` gateway processes sharing the store ``store``; with
    ``admin_ports``, gateway i's admin listener is on 127.0.0.1:admin_ports[i]."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        sandbox_port = free_port()
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "gateway", "sandbox", "--port", str(sandbox_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(sandbox)
        wait_listening(sandbox_port, sandbox)
        upstream = f"http://127.0.0.1:{sandbox_port}"
        config = harness.write_config(
            tmp_path,
            harness.gateway_yaml(
                upstream,
                store=store,
                suffix=uuid.uuid4().hex[:8],
                extra=extra,
                social_quotas=social_quotas,
            ),
        )
        urls = []
        for i in range(count):
            port = free_port()
            admin = {"GATEWAY_ADMIN_LISTEN": f"127.0.0.1:{admin_ports[i]}"} if admin_ports else {}
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", config],
                env={**env, "GATEWAY_LISTEN": f"127.0.0.1:{port}", **admin},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            wait_listening(port, proc)
            urls.append(f"http://127.0.0.1:{port}")
        yield upstream, urls
        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        for proc in procs[1:]:
            # Graceful shutdown on SIGTERM: a clean exit, not a kill.
            assert proc.wait(timeout=15) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def three_gateways(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, list[str]]]:
    """A sandbox process and three gateway processes sharing one real Redis."""
    with gateway_processes(tmp_path, redis_url) as made:
        yield made


async def test_burst_through_three_gateway_processes_sharing_redis(
    three_gateways: tuple[str, list[str]],
) -> None:
    upstream, urls = three_gateways
    check_exact(await burst(urls))
    assert await sandbox_requests(upstream) == 100


async def test_utc_midnight_boundary_with_injected_clock(
    sandbox: TestServer, start_gateway: harness.Start
) -> None:
    midnight = 20_600 * 86400.0
    clock = harness.FakeClock(midnight - 1)  # 23:59:59 UTC
    gw = await start_gateway(str(sandbox.make_url("")), clock=clock)
    headers = {"Authorization": f"Bearer {harness.member_token(0)}", **HEADERS}
    async with aiohttp.ClientSession() as session:
        for _ in range(10):
            async with session.get(gw.make_url(PATH), headers=headers) as resp:
                assert resp.status == 200
        async with session.get(gw.make_url(PATH), headers=headers) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
            assert resp.headers["X-RateLimit-Reset"] == str(int(midnight))
        clock.now = midnight  # 00:00:00 UTC: LinkedIn's counters reset, so do ours
        async with session.get(gw.make_url(PATH), headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["X-RateLimit-Remaining"] == "9"


async def test_rolling_window_frees_each_call_24h_after_it(
    sandbox: TestServer, start_gateway: harness.Start
) -> None:
    t0 = 20_600 * 86400.0 + 3600
    clock = harness.FakeClock(t0)
    gw = await start_gateway(
        str(sandbox.make_url("")), clock=clock, social_quotas="{window: rolling-24h}"
    )
    headers = {"Authorization": f"Bearer {harness.member_token(0)}", **HEADERS}
    async with aiohttp.ClientSession() as session:
        for i in range(10):
            clock.now = t0 + i
            async with session.get(gw.make_url(PATH), headers=headers) as resp:
                assert resp.status == 200
        clock.now = t0 + 86399
        async with session.get(gw.make_url(PATH), headers=headers) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
        clock.now = t0 + 86400  # the first call is exactly 24 h old
        async with session.get(gw.make_url(PATH), headers=headers) as resp:
            assert resp.status == 200
        async with session.get(gw.make_url(PATH), headers=headers) as resp:
            assert resp.status == 429  # the second call is still inside its 24 h


async def test_redis_store_is_shared_between_gateways_in_one_process(
    sandbox: TestServer, start_gateway: harness.Start, redis_url: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    first = await start_gateway(str(sandbox.make_url("")), store=redis_url, suffix=suffix)
    second = await start_gateway(str(sandbox.make_url("")), store=redis_url, suffix=suffix)
    headers = {"Authorization": f"Bearer {harness.member_token(3)}", **HEADERS}
    async with aiohttp.ClientSession() as session:
        for i in range(10):
            target = first if i % 2 else second
            async with session.get(target.make_url(PATH), headers=headers) as resp:
                assert resp.status == 200
        async with session.get(first.make_url(PATH), headers=headers) as resp:
            assert resp.status == 429
