"""The processes a benchmark run starts, each on a free loopback port, and stops again."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
LOG_TAIL_BYTES = 4000
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
# What the upstream answers to every call: a LinkedIn-shaped collection of one element.
UPSTREAM_BODY = (
    '{"paging":{"start":0,"count":10,"links":[]},"elements":[{"role":"ADMINISTRATOR",'
    '"roleAssignee":"urn:li:person:std","state":"APPROVED",'
    '"organization":"urn:li:organization:1"}]}'
)


def until_interrupted(name: str, run: Callable[[], int]) -> int:
    """Run a bench to its end; Ctrl-C stops it the usual way (130), every server stopped by
    the run's own clean-up on the way out."""
    try:
        return run()
    except KeyboardInterrupt:
        print(f"{name}: interrupted; every server was stopped", file=sys.stderr)
        return 130


class BenchError(Exception):
    """A server did not start, or a target did not behave as the benchmark needs."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        try:
            data = self.log.read_bytes()
        except OSError:
            return ""
        return data[-LOG_TAIL_BYTES:].decode(errors="replace")


class Servers:
    """Every process this run started; ``stop_all`` ends them, gently first."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[Server] = []

    def start(
        self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None
    ) -> Server:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            # A session of its own: a terminal's Ctrl-C reaches this script only, which
            # then stops the servers in order instead of racing them.
            process = subprocess.Popen(
                argv,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        server = Server(name, f"http://127.0.0.1:{port}", process, log)
        self.running.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.running:
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.running:
            try:
                server.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=STOP_TIMEOUT)
        self.running.clear()

    def nginx(self, name: str, port: int, location: str, backend: str = "") -> Server:
        """One single-process nginx in the foreground serving ``location`` on ``port``."""
        binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
        )
        if binary is None:
            raise BenchError("nginx is not installed (Debian: apt-get install nginx-light)")
        home = self.workdir / name
        home.mkdir()
        temp = "\n".join(
            f"    {kind}_temp_path {home}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # One process doing the work, like each Python server it is compared with.
        (home / "nginx.conf").write_text(
            f"""daemon off;
master_process off;
worker_processes 1;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temp}
    keepalive_requests 1000000;
{backend}
    server {{
        listen 127.0.0.1:{port} reuseport;
        {location}
    }}
}}
"""
        )
        return self.start(name, [binary, "-p", str(home), "-c", str(home / "nginx.conf")], port)

    def json_upstream(self) -> Server:
        """nginx answering every call with the same small JSON: an upstream that costs
        almost nothing, so what the proxies in front of it spend is what shows."""
        port = free_port()
        body = UPSTREAM_BODY.replace("'", "\\'")
        return self.nginx(
            "upstream",
            port,
            f"location / {{ default_type application/json; return 200 '{body}'; }}",
        )

    def nginx_proxy(self, upstream: Server) -> Server:
        """nginx as a keep-alive reverse proxy: the reference a user knows."""
        address = upstream.url.removeprefix("http://")
        return self.nginx(
            "nginx-proxy",
            free_port(),
            "location / { proxy_pass http://backend; proxy_http_version 1.1; "
            'proxy_set_header Connection ""; }',
            backend=f"    upstream backend {{ server {address}; keepalive 64; }}",
        )


def wait_ready(server: Server, probe_path: str) -> None:
    """Return once ``server`` answers HTTP on ``probe_path`` (any status)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + probe_path, timeout=1.0):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            # The process is still importing or binding; the deadline bounds the wait.
            time.sleep(0.05)
    raise BenchError(f"{server.name} did not answer within {START_TIMEOUT} s:\n{server.log_tail()}")


def redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def choose_redis(servers: Servers) -> str:
    """``REDIS_URL`` if set; else the local default if it answers; else a private one."""
    given = os.environ.get("REDIS_URL")
    if given:
        return given
    if redis_answers(DEFAULT_REDIS):
        return DEFAULT_REDIS
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError(
            f"no Redis: REDIS_URL is unset, {DEFAULT_REDIS} does not answer, "
            "and redis-server is not on PATH"
        )
    port = free_port()
    servers.start(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(servers.workdir),
        ],
        port,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + START_TIMEOUT
    while not redis_answers(url):
        if time.monotonic() > deadline:
            raise BenchError(f"the private redis-server on {port} did not answer")
        time.sleep(0.05)
    return url


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its children so far (Linux ``/proc``).

    Children count so that a server with worker processes is charged for all of them.
    """
    total = _own_cpu_seconds(pid)
    if total is None:
        return None
    for child in _children(pid):
        total += _own_cpu_seconds(child) or 0.0
    return total


def _own_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            listed = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, listed):
            found += [child, *_children(child)]
    return found
