"""/metrics as Prometheus scrapes it: histograms per route family and decision, labels that
never carry a member, a token or a path, and several processes adding up in multiprocess
mode."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from gateway.http.admin import build_admin_app
from gateway.support.metrics import CONTENT_TYPE
from tests.functional.gateway_harness import member_token
from tests.serve_process import answering, demo_env, free_port, launched, stop, wait_listening
from tests.unit.test_metrics import samples

Start = Callable[..., Awaitable[TestServer]]
ServerFactory = Callable[..., Awaitable[TestServer]]
ADMITTED = "/rest/organizationAcls?q=roleAssignee"
HEADERS = {"LinkedIn-Version": "202505"}


async def get(server: TestServer, path: str, token: str | None = None) -> tuple[int, str, str]:
    headers = {**HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url(path), headers=headers) as resp,
    ):
        return resp.status, await resp.text(), resp.headers.get("Content-Type", "")


async def test_histograms_by_family_and_decision_with_bounded_labels(
    sandbox: TestServer, start_gateway: Start, aiohttp_server: ServerFactory
) -> None:
    gw = await start_gateway(str(sandbox.make_url("")))
    admin = await aiohttp_server(build_admin_app(gw.app))
    assert (await get(gw, ADMITTED, member_token(3)))[0] == 200
    assert (await get(gw, ADMITTED, member_token(3)))[0] == 200
    # Refused: no token; a path with an id in it; a token nobody knows.
    assert (await get(gw, "/rest/posts/urn%3Ali%3Ashare%3A7777"))[0] == 401
    assert (await get(gw, "/rest/posts?q=author", "never-seen-token-31337"))[0] == 401

    status, text, content_type = await get(admin, "/metrics")
    assert status == 200
    assert content_type == CONTENT_TYPE
    exposed = samples(text)
    family = 'decision="admit",family="organizationAcls"'
    assert exposed[f"gateway_request_duration_seconds_count{{{family}}}"] == 2
    assert exposed['gateway_request_duration_seconds_count{decision="refuse",family="-"}'] == 2
    assert (
        exposed['gateway_upstream_duration_seconds_count{family="organizationAcls",status="2xx"}']
        == 2
    )
    assert exposed['gateway_store_duration_seconds_count{operation="consume",result="ok"}'] == 2
    assert (
        exposed['gateway_requests_total{app="social",decision="admit",reason="-",status="200"}']
        == 2
    )
    # Present from the start, still 0.
    assert exposed['gateway_quota_consumed_total{app="ads"}'] == 0
    for secret_or_unbounded in ("urn:li:person", "m03", "7777", "never-seen-token", "/rest/"):
        assert secret_or_unbounded not in text


def call(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{ADMITTED}",
        headers={**HEADERS, "Authorization": "Bearer demo-alice"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        return int(resp.status)


def scrape(admin: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10) as resp:
        return str(resp.read().decode())


ADMITTED_SAMPLE = (
    'gateway_requests_total{app="acme-social",decision="admit",reason="-",status="200"}'
)


def scrape_when_counted(admin: int, calls: int, timeout: float = 10.0) -> str:
    """A scrape once ``calls`` are counted: a process counts a call right after answering
    it, so the caller may be a moment ahead of the count. Bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        text = scrape(admin)
        if samples(text).get(ADMITTED_SAMPLE) == calls or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_two_processes_writing_one_directory_scrape_as_one(tmp_path: Path) -> None:
    ports = [(free_port(), free_port()) for _ in range(2)]
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(
                launched(
                    ["--log-level", "WARNING"],
                    demo_env(port, admin, PROMETHEUS_MULTIPROC_DIR=str(tmp_path)),
                    stdout=subprocess.DEVNULL,
                )
            )
            for port, admin in ports
        ]
        for (port, admin), proc in zip(ports, procs, strict=True):
            wait_listening(port, proc)
            answering(admin, proc)
        assert [call(ports[0][0]) for _ in range(2)] == [200, 200]
        assert [call(ports[1][0]) for _ in range(3)] == [200, 200, 200]
        texts = [scrape_when_counted(admin, 5) for _, admin in ports]
        for proc in procs:
            stop(proc, timeout=20)
    assert sorted(p.name for p in tmp_path.iterdir())  # the values live in the directory
    for text in texts:  # either process answers for both
        exposed = samples(text)
        assert exposed[ADMITTED_SAMPLE] == 5
        family = 'decision="admit",family="organizationAcls"'
        assert exposed[f"gateway_request_duration_seconds_count{{{family}}}"] == 5
        assert exposed['gateway_quota_consumed_total{app="acme-social"}'] == 5
        assert exposed['gateway_token_cache_total{result="miss"}'] == 0
        builds = [key for key in exposed if key.startswith("gateway_build_info{")]
        assert len(builds) == 1 and exposed[builds[0]] == 1
        pids = {key for key in exposed if key.startswith("gateway_worker_resident_memory_bytes{")}
        assert {f'gateway_worker_resident_memory_bytes{{pid="{p.pid}"}}' for p in procs} == pids
        assert all(exposed[key] > 0 for key in pids)
