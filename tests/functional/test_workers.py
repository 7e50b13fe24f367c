"""``serve --workers N`` as real processes: one port, N workers, one admin listener, drain.

Each test runs ``linkedin-gateway serve`` in a subprocess against a real upstream server
on port 0 and the real Redis, and watches its stderr; no test depends on how fast anything
is: every wait is for a line, an answer or an exit, bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.settings.loader import available_cores, load_settings
from tests.functional.cli_process import clean_env, run_cli
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.functional.test_quota_exactness import burst, check_exact
from tests.redis_server import PATIENT, unique_app, with_query

PATH = "/rest/organizationAcls?q=roleAssignee"
HEADERS = {"LinkedIn-Version": "202505"}
WAIT = 30.0
SERVING = re.compile(r"worker (?P<index>\d+) \(pid (?P<pid>\d+)\) serving")
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(?P<port>\d+) \(2 workers")
ADMIN = re.compile(r"admin listener on http://127\.0\.0\.1:(?P<port>\d+)")
WORKER_FIELD = re.compile(r" worker=(\d+)$")


class Gateway:
    """A ``serve`` process and every stderr line it wrote so far."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self.port = 0
        self.admin = 0

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode())
                self._changed.notify_all()
        async with self._changed:
            self.lines.append("")  # end of stream
            self._changed.notify_all()

    async def matches(
        self, pattern: re.Pattern[str], after: int = 0, count: int = 1
    ) -> list[re.Match[str]]:
        """The first ``count`` lines from index ``after`` on that match; fails if serve
        ends first."""

        async def find() -> list[re.Match[str]]:
            async with self._changed:
                while True:
                    found = [m for m in map(pattern.search, self.lines[after:]) if m]
                    if len(found) >= count:
                        return found[:count]
                    if self.lines and self.lines[-1] == "":
                        raise AssertionError(f"serve ended first: {''.join(self.lines)}")
                    await self._changed.wait()

        return await asyncio.wait_for(find(), WAIT)

    async def line(self, pattern: re.Pattern[str], after: int = 0) -> re.Match[str]:
        return (await self.matches(pattern, after))[0]

    async def serving(self) -> dict[int, int]:
        """Worker number -> pid of the two workers serving at start."""
        found = await self.matches(SERVING, count=2)
        return {int(m["index"]): int(m["pid"]) for m in found}

    async def ended(self) -> int:
        code = await asyncio.wait_for(self.proc.wait(), WAIT)
        await asyncio.wait_for(self._reader, WAIT)
        return code

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await self.ended()

    def access(self) -> list[str]:
        return [line for line in self.lines if " gateway.access " in line]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start(config: str, *args: str, **env: str) -> Gateway:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--config",
        config,
        "--admin-listen",
        "127.0.0.1:0",
        *args,
        env=clean_env(**env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    gateway = Gateway(proc)
    gateway.port = int((await gateway.line(LISTENING))["port"])
    gateway.admin = int((await gateway.line(ADMIN))["port"])
    return gateway


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, asyncio.Event, asyncio.Event]]:
    """LinkedIn stand-in: fixed JSON; ``?hold=1`` answers only once ``release`` is set
    (``held`` says the call arrived)."""
    held, release = asyncio.Event(), asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        if request.query.get("hold"):
            held.set()
            await release.wait()
        return web.json_response({"elements": [{"role": "ADMINISTRATOR"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), held, release
    finally:
        release.set()
        await server.close()


@pytest.fixture
def config(
    tmp_path: Path, upstream: tuple[str, asyncio.Event, asyncio.Event], redis_url: str
) -> str:
    store = with_query(redis_url, PATIENT)
    suffix = "-" + unique_app("workers")
    return write_config(
        tmp_path, gateway_yaml(upstream[0], store=store, suffix=suffix, upstream_timeout=WAIT)
    )


async def calls(url: str, count: int, concurrency: int = 20) -> collections.Counter[int]:
    """``count`` calls, each on a connection of its own; statuses counted."""
    statuses: collections.Counter[int] = collections.Counter()
    queue = list(range(count))
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while queue:
                member = queue.pop() % 20
                headers = {"Authorization": f"Bearer {member_token(member)}", **HEADERS}
                async with session.get(url + PATH, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), WAIT)
    return statuses


async def get_json(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, json.loads(await resp.read())


def children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in text.split()}


async def test_two_workers_share_the_port_answer_and_drain_on_sigterm(config: str) -> None:
    gateway = await start(config, "--workers", "2")
    try:
        pids = await gateway.serving()
        assert set(pids) == {0, 1}
        assert children(gateway.proc.pid) >= set(pids.values())
        status, ready = await get_json(f"http://127.0.0.1:{gateway.admin}/readyz")
        assert status == 200
        assert ready["workers"] == {"ready": 2, "expected": 2}
        # 20 members x 10 calls: all within the Development tier's quota.
        statuses = await calls(gateway.url, 100)
        assert statuses == {200: 100}
    finally:
        code = await gateway.stop()
    assert code == 0, "".join(line for line in gateway.lines if "gateway.access" not in line)
    # Both workers answered calls on the one port, each line whole and tagged.
    access = gateway.access()
    assert len(access) == 100
    served = collections.Counter(WORKER_FIELD.search(line.rstrip("\n"))[1] for line in access)  # type: ignore[index]
    assert set(served) == {"0", "1"}, served
    text = "".join(gateway.lines)
    for index, pid in pids.items():
        assert f"worker {index} (pid {pid}) drained" in text
    assert "stopped: every worker drained" in text


async def test_sigterm_finishes_a_call_in_flight_and_readiness_turns_false_first(
    config: str, upstream: tuple[str, asyncio.Event, asyncio.Event]
) -> None:
    _, held, release = upstream
    gateway = await start(config, "--workers", "2")
    try:
        await gateway.serving()
        headers = {"Authorization": f"Bearer {member_token(0)}", **HEADERS}
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.create_task(
                session.get(gateway.url + PATH + "&hold=1", headers=headers)
            )
            await asyncio.wait_for(held.wait(), WAIT)
            mark = len(gateway.lines)
            gateway.proc.send_signal(signal.SIGTERM)
            await gateway.line(re.compile("draining: finishing in-flight requests"), mark)
            # The worker holding the call waits for it; the admin listener says not ready.
            status, ready = await get_json(f"http://127.0.0.1:{gateway.admin}/readyz")
            assert status == 503
            assert ready["ready"] is False
            assert gateway.proc.returncode is None
            release.set()
            resp = await asyncio.wait_for(in_flight, WAIT)
            assert resp.status == 200
            await resp.read()
            resp.release()
    finally:
        code = await gateway.stop()
    assert code == 0


async def test_burst_with_two_workers_admits_exactly_100(config: str) -> None:
    gateway = await start(config, "--workers", "2")
    try:
        await gateway.serving()
        check_exact(await burst([gateway.url]))
    finally:
        assert await gateway.stop() == 0
    served = {WORKER_FIELD.search(line.rstrip("\n"))[1] for line in gateway.access()}  # type: ignore[index]
    assert served == {"0", "1"}


async def test_metrics_on_the_admin_listener_add_up_both_workers(config: str) -> None:
    gateway = await start(config, "--workers", "2")
    try:
        await gateway.serving()
        assert await calls(gateway.url, 60) == {200: 60}
        admin = f"http://127.0.0.1:{gateway.admin}/metrics"
        async with aiohttp.ClientSession() as session, session.get(admin) as resp:
            text = await resp.text()
    finally:
        assert await gateway.stop() == 0
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gateway_requests_total{")
    )
    assert total == 60
    served = {WORKER_FIELD.search(line.rstrip("\n"))[1] for line in gateway.access()}  # type: ignore[index]
    assert served == {"0", "1"}


async def test_a_killed_worker_is_restarted_on_the_same_port(config: str) -> None:
    gateway = await start(config, "--workers", "2")
    try:
        pids = await gateway.serving()
        mark = len(gateway.lines)
        os.kill(pids[1], signal.SIGKILL)
        await gateway.line(
            re.compile(rf"worker 1 \(pid {pids[1]}\) died \(killed by SIGKILL\); restarting it"),
            mark,
        )
        match = await gateway.line(re.compile(r"worker 1 \(pid (\d+)\) serving"), mark)
        new_pid = int(match[1])
        assert new_pid != pids[1]
        assert children(gateway.proc.pid) == {pids[0], new_pid}
        status, ready = await get_json(f"http://127.0.0.1:{gateway.admin}/readyz")
        assert (status, ready["workers"]) == (200, {"ready": 2, "expected": 2})
        assert await calls(gateway.url, 20) == {200: 20}
    finally:
        assert await gateway.stop() == 0


async def test_workers_that_keep_dying_stop_serve_with_exit_1(config: str) -> None:
    gateway = await start(config, "--workers", "2")
    pids = await gateway.serving()
    victim = pids[1]
    for _ in range(5):
        mark = len(gateway.lines)
        os.kill(victim, signal.SIGKILL)
        victim = int((await gateway.line(re.compile(r"worker 1 \(pid (\d+)\) serving"), mark))[1])
    os.kill(victim, signal.SIGKILL)
    assert await gateway.ended() == 1
    text = "".join(gateway.lines)
    assert "the 6-th restart in 60 s: stopping" in text
    assert f"worker 0 (pid {pids[0]}) drained" in text


def test_memory_store_with_two_workers_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, gateway_yaml("sandbox"))
    done = run_cli(["serve", "--config", path, "--workers", "2"])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "workers: 2 needs a shared store" in done.stderr
    assert "memory://" in done.stderr
    by_env = run_cli(["serve", "--config", path], env=clean_env(GATEWAY_WORKERS="2"))
    assert by_env.returncode == 2
    assert "workers: 2 needs a shared store" in by_env.stderr


def test_workers_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, gateway_yaml("sandbox") + "workers: 3\n")
    assert load_settings(path, environ={}).workers == 3
    assert load_settings(path, environ={"GATEWAY_WORKERS": "4"}).workers == 4
    flag = load_settings(path, environ={"GATEWAY_WORKERS": "4"}, overrides={"workers": "auto"})
    assert flag.workers == available_cores()
    done = run_cli(["check-config", path], env=clean_env(GATEWAY_WORKERS="0"))
    assert done.returncode == 1
    assert "workers" in done.stderr and "1 or more" in done.stderr
    shared = write_config(tmp_path, gateway_yaml("sandbox") + "workers: 2\n", "two.yaml")
    checked = run_cli(["check-config", shared])
    assert checked.returncode == 1
    assert "workers: 2 needs a shared store" in checked.stderr
