"""``linkedin-gateway serve`` as a child process: start it, wait for it, stop it."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from tests.redis_server import free_port

__all__ = ["answering", "demo_env", "free_port", "launched", "stop", "wait_listening"]


def demo_env(port: int, admin: int, **extra: str) -> dict[str, str]:
    """This environment for ``serve`` on the shipped demo config, listening on ``port``
    (admin on ``admin``), with ``extra``; no inherited config, listen or store variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_LISTEN=f"127.0.0.1:{port}", GATEWAY_ADMIN_LISTEN=f"127.0.0.1:{admin}")
    env.update(extra)
    return env


@contextlib.contextmanager
def launched(
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    *,
    stdout: int | IO[str] | None = subprocess.PIPE,
    stderr: int | IO[str] | None = subprocess.PIPE,
) -> Iterator[subprocess.Popen[str]]:
    """``python -m gateway serve *args``; killed at the end if it is still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", *args],
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stderr_lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """The process's stderr, line by line, read by a thread of its own (so a full pipe never
    blocks the process); None once it closes. The thread is returned for joining."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def stop(proc: subprocess.Popen[str], timeout: float = 30.0) -> tuple[str, str]:
    """SIGTERM (when still running), then everything the process printed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=timeout)
    return out or "", err or ""


def wait_listening(port: int, proc: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """Until something accepts on ``port``; fails when the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited early with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on {port} within {timeout}s")


def answering(admin: int, proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    """Until the admin listener answers (serve is then past its start-up, its signal
    handlers in place) or the process has exited; bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz", timeout=2),
        ):
            return
        time.sleep(0.05)
