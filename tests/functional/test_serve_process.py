"""`linkedin-gateway serve` as a newcomer runs it: the demo defaults, logs, SIGTERM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from tests.serve_process import demo_env, free_port, launched, stop, wait_listening


def test_serve_on_demo_defaults_answers_logs_and_stops_cleanly() -> None:
    port, admin = free_port(), free_port()
    with launched(env=demo_env(port, admin)) as proc:
        wait_listening(port, proc)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/rest/organizationAcls?q=roleAssignee",
            headers={"Authorization": "Bearer demo-alice", "LinkedIn-Version": "202505"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            assert resp.status == 200
            assert resp.headers["RateLimit-Policy"] == '"app";q=100;w=86400, "member";q=10;w=86400'
            assert json.loads(resp.read())["elements"]
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=10) as resp:
            assert json.loads(resp.read())["ready"] is True
        out, err = stop(proc, timeout=20)
    assert proc.returncode == 0
    assert "Bearer demo-alice" in out  # the demo hint a newcomer copies
    access = [line for line in err.splitlines() if " gateway.access " in line]
    assert len(access) == 1
    assert "path=/rest/organizationAcls app=acme-social member=urn:li:person:alice" in access[0]
    assert "status=200" in access[0]
    assert "demo-alice" not in err
    assert "stopped" in err
    # uvloop is a dependency on this platform: the gateway runs on it unless told otherwise.
    assert "uvloop loop)" in err


def test_serve_runs_on_the_loop_the_environment_names() -> None:
    port, admin = free_port(), free_port()
    with launched(env=demo_env(port, admin, GATEWAY_EVENT_LOOP="asyncio")) as proc:
        wait_listening(port, proc)
        _, err = stop(proc, timeout=20)
    assert proc.returncode == 0
    assert "asyncio loop)" in err


def test_an_unknown_loop_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        env={**os.environ, "GATEWAY_EVENT_LOOP": "twisted"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "linkedin-gateway: GATEWAY_EVENT_LOOP='twisted': expected one of auto, uvloop, asyncio"
    ]


def test_serve_freezes_its_start_up_heap() -> None:
    port, admin = free_port(), free_port()
    with launched(["--log-level", "DEBUG"], env=demo_env(port, admin)) as proc:
        wait_listening(port, proc)
        _, err = stop(proc, timeout=20)
    frozen = [line for line in err.splitlines() if "start-up heap frozen:" in line]
    assert len(frozen) == 1, err
    # The catalog, settings and modules alone are tens of thousands of objects.
    assert int(frozen[0].rsplit(" ", 2)[-2]) > 10_000
