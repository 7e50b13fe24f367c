"""Running ``linkedin-gateway`` as a real process, as an operator's shell does."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.serve_process import stderr_lines

START_SECONDS = 30.0
STOP_SECONDS = 20.0
API = "/rest/organizationAcls?q=roleAssignee"
LISTENING = re.compile(r"listening on http://(?P<host>[^ ]+):(?P<port>\d+) ")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any GATEWAY_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run the command to its end; a command that would not end fails the test by timeout."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Serving:
    proc: subprocess.Popen[str]
    port: int
    stderr_lines: list[str] = field(default_factory=list)
    stdout: str = ""


@contextmanager
def serving(args: Sequence[str], env: Mapping[str, str] | None = None) -> Iterator[Serving]:
    """``serve`` with ``args`` until it logs where it listens; SIGTERM and a wait at the end.

    The port comes from its own log line, so ``--listen 127.0.0.1:0`` works and no test
    guesses a free port.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", *args],
        env=dict(env) if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines, reader = stderr_lines(proc)
    seen: list[str] = []
    port = None
    deadline = time.monotonic() + START_SECONDS
    try:
        while port is None:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"serve exited before listening: {''.join(seen)}")
            seen.append(line)
            found = LISTENING.search(line)
            if found:
                port = int(found["port"])
        running = Serving(proc, port, seen)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # stderr has one reader, the pump thread; stdout carries only the demo's few lines.
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        reader.join(timeout=STOP_SECONDS)
        proc.stderr.close()
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                seen.append(line)
        if port is not None:
            running.stdout = out


def listening_socket() -> socket.socket:
    """A socket listening on a loopback port of its own: that port is in use."""
    sock = socket.create_server(("127.0.0.1", 0))
    return sock


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    """GET ``url`` as an SDK would (with ``token`` as bearer); status and body, 4xx too."""
    headers = {"LinkedIn-Version": "202505"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:  # noqa: S310 - loopback http
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
