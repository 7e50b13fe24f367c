"""`linkedin-gateway serve` as a newcomer runs it: the demo defaults, logs, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited early"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on {port}")


def start_demo(port: int, admin: int, **extra: str) -> subprocess.Popen[str]:
    """``serve`` on the shipped demo config, listening on ``port`` (admin on ``admin``)."""
    env = {
        **os.environ,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_ADMIN_LISTEN": f"127.0.0.1:{admin}",
        **extra,
    }
    env.pop("GATEWAY_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_on_demo_defaults_answers_logs_and_stops_cleanly() -> None:
    port, admin = free_port(), free_port()
    proc = start_demo(port, admin)
    try:
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
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
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
    proc = start_demo(port, admin, GATEWAY_EVENT_LOOP="asyncio")
    try:
        wait_listening(port, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
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
