"""Benchmark: the gateway against the sandbox it fronts and a bare pass-through proxy.

    .venv/bin/python bench/run.py [--seconds S] [--rounds R] [--concurrency C] [--json]

One run starts every server as its own process on a free loopback port, then measures, in
``rounds`` interleaved rounds of one target after the other,
``GET /rest/organizationAcls?q=roleAssignee`` on:

1. the LinkedIn sandbox directly;
2. ``bench/passthrough.py``, a bare aiohttp reverse proxy in front of that sandbox;
3. the gateway on the memory store, a Standard-tier app (counted, never refused);
4. the gateway on Redis (``REDIS_URL``, else 127.0.0.1:6379, else a private
   ``redis-server``), same app;
5. the gateway on Redis refusing a Development-tier member whose 10 calls of the day are
   already spent: every call is a 429 that never reaches the upstream.

How it is measured: the load generator is a separate process (this script with
``--drive``), so client and server never share an event loop or a GIL. It opens
``concurrency`` keep-alive connections with one aiohttp ``ClientSession`` and runs that many
workers, each sending its next request as soon as the previous answer is read in full.
A warm-up phase (not recorded) fills the connection pools of the client, the proxy and the
gateway and Redis's script cache; then the workers run for ``seconds``. Requests per second
is every completed request over the measured wall time; p50/p99 are nearest-rank
percentiles of per-request latency; an error is a transport failure or an unexpected status
(anything but 200 for targets 1-4, anything but 429 for target 5). "Server CPU us/req" is
the user+system CPU time of the target's own process (sandbox, proxy or gateway; read from
/proc around warm-up and measurement) over the requests of both phases: the cost of one
call, much less sensitive to a noisy neighbour than requests/s. Each run is bounded both
by time and by ``MAX_REQUESTS`` per phase. Every server writes its output to a temporary log
file (the gateway at its default INFO level, so its access log is part of its cost); all
processes are stopped on exit, error, Ctrl-C or SIGTERM.

On a 2-core machine the client, the proxy (or gateway) and the sandbox share two cores
(and Redis, for targets 4-5): the proxied targets are measured under the same contention,
so their ratio is the number to read, not the absolute figures. The table shows each
target's medians over the rounds; the headline ratio is the median of the per-round ratios
of the gateway on Redis to the proxy measured in the same round. When requests/s swing from
run to run, compare the CPU column.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
PATH = "/rest/organizationAcls?q=roleAssignee"
VERSION = "202505"
# Bearer tokens of the throw-away config written below, not credentials of anything real.
STANDARD_TOKEN = "tok-std"  # noqa: S105
MEMBER_TOKEN = "tok-social-m00"  # noqa: S105
MEMBER_DAILY_CALLS = 10
RATIO_TARGET = 0.80
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

DEFAULT_SECONDS = 4.0
DEFAULT_ROUNDS = 3
DEFAULT_WARMUP = 1.0
DEFAULT_CONCURRENCY = 16
MAX_REQUESTS = 2_000_000
REQUEST_TIMEOUT = 10.0
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
LOG_TAIL_BYTES = 4000

MEMBER = "urn:li:person:m00"
STANDARD_MEMBER = "urn:li:person:std"
SCOPES = "[r_organization_social, w_organization_social, rw_organization_admin, r_basicprofile]"


class BenchError(Exception):
    """A server did not start, or a target did not behave as the benchmark needs."""


# --- the load generator (runs in its own process) -----------------------------------------


@dataclass
class Measurement:
    """What one target did during the measured phase."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    warmup_requests: int = 0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values; 0.0 for none."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil without float surprises
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    started: int = 0

    def count(self, status: str, *, error: bool) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.errors += error


async def _phase(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    expect: int,
    seconds: float,
    concurrency: int,
) -> tuple[_Tally, float]:
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline and tally.started < MAX_REQUESTS:
            tally.started += 1
            sent = time.perf_counter()
            try:
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                tally.count(type(exc).__name__, error=True)
                continue
            tally.latencies.append(time.perf_counter() - sent)
            tally.count(str(status), error=status != expect)

    # Workers stop starting requests at the deadline; this bounds the in-flight tail.
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(concurrency))),
        seconds + REQUEST_TIMEOUT + 5,
    )
    return tally, time.perf_counter() - started


async def drive(
    url: str, token: str, *, expect: int, seconds: float, warmup: float, concurrency: int
) -> Measurement:
    """Load ``url`` with ``concurrency`` keep-alive workers; warm up, then measure."""
    headers = {"Authorization": f"Bearer {token}", "LinkedIn-Version": VERSION}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        warm = _Tally()
        if warmup > 0:
            warm, _ = await _phase(session, url, headers, expect, warmup, concurrency)
        tally, elapsed = await _phase(session, url, headers, expect, seconds, concurrency)
    latencies = sorted(tally.latencies)
    return Measurement(
        requests=sum(tally.statuses.values()),
        errors=tally.errors,
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        statuses=tally.statuses,
        warmup_requests=sum(warm.statuses.values()),
    )


# --- servers (each its own process) -------------------------------------------------------


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


def get_status(url: str, token: str) -> int:
    request = urllib.request.Request(  # noqa: S310
        url, headers={"Authorization": f"Bearer {token}", "LinkedIn-Version": VERSION}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def gateway_config(upstream: str, store: str, suffix: str) -> str:
    """Two apps of Community Management: Development (100/app, 10/member a day) for the
    refusal target, Standard (unlimited, counted) for the forwarding targets.
    """
    return f"""\
listen: 127.0.0.1:0
admin_listen: null
upstream: {upstream}
store: {store}
apps:
  social{suffix}:
    client_id: c-social{suffix}
    client_secret: s-social
    products:
      community_management: {{tier: development, since: 2026-06-01}}
  social-std{suffix}:
    client_id: c-social-std{suffix}
    client_secret: s-social-std
    products:
      community_management: {{tier: standard}}
tokens:
  - {{token: {MEMBER_TOKEN}, app: social{suffix}, member: '{MEMBER}', scopes: {SCOPES}}}
  - {{token: {STANDARD_TOKEN}, app: social-std{suffix}, member: '{STANDARD_MEMBER}',
      scopes: {SCOPES}}}
"""


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


# --- the run ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    server: Server
    token: str
    expect: int

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Row:
    target: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    seconds: float
    statuses: dict[str, int]
    server_cpu_us_per_request: float | None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux ``/proc``; None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: Target, args: argparse.Namespace) -> Row:
    """Run the load generator for ``target`` in a process of its own."""
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--drive",
        target.url + PATH,
        "--token",
        target.token,
        "--expect",
        str(target.expect),
        "--seconds",
        str(args.seconds),
        "--warmup",
        str(args.warmup),
        "--concurrency",
        str(args.concurrency),
    ]
    limit = args.seconds + args.warmup + 2 * (REQUEST_TIMEOUT + 5) + 30
    cpu_before = cpu_seconds(target.server.process.pid)
    try:
        done = subprocess.run(argv, capture_output=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"load generator for {target.name} ran past {limit:g} s") from None
    cpu_after = cpu_seconds(target.server.process.pid)
    if done.returncode != 0:
        raise BenchError(f"load generator for {target.name} failed:\n{done.stderr.decode()}")
    result = json.loads(done.stdout)
    measured = Measurement(**result)
    # CPU time is sampled around warm-up and measurement together, so it is divided by
    # both phases' requests: the server's own cost per call, whatever the machine's noise.
    served = measured.requests + measured.warmup_requests
    cpu_per_request = (
        (cpu_after - cpu_before) / served * 1e6
        if cpu_before is not None and cpu_after is not None and served
        else None
    )
    return Row(
        target=target.name,
        requests_per_second=measured.requests_per_second,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        errors=measured.errors,
        requests=measured.requests,
        seconds=measured.seconds,
        statuses=measured.statuses,
        server_cpu_us_per_request=cpu_per_request,
    )


def start_all(servers: Servers, redis_url: str, gateway_log_level: str) -> list[Target]:
    python = sys.executable
    sandbox_port, proxy_port, memory_port, redis_port = (free_port() for _ in range(4))
    sandbox = servers.start(
        "sandbox",
        [python, "-m", "gateway", "sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
        sandbox_port,
    )
    proxy = servers.start(
        "passthrough",
        [
            python,
            str(REPO / "bench" / "passthrough.py"),
            "--upstream",
            sandbox.url,
            "--port",
            str(proxy_port),
        ],
        proxy_port,
    )
    # A fresh suffix per run: the apps' counters never meet another run's keys in Redis.
    suffix = f"-bench-{uuid.uuid4().hex[:12]}"
    gateways = []
    for name, store, port in (
        ("gateway-memory", "memory://", memory_port),
        ("gateway-redis", redis_url, redis_port),
    ):
        config = servers.workdir / f"{name}.yaml"
        config.write_text(gateway_config(sandbox.url, store, suffix))
        gateways.append(
            servers.start(
                name,
                [
                    python,
                    "-m",
                    "gateway",
                    "serve",
                    "--config",
                    str(config),
                    "--log-level",
                    gateway_log_level,
                ],
                port,
                env={"GATEWAY_LISTEN": f"127.0.0.1:{port}"},
            )
        )
    wait_ready(sandbox, "/__sandbox/stats")
    wait_ready(proxy, "/__sandbox/stats")
    for gateway in gateways:
        wait_ready(gateway, PATH)
    memory, on_redis = gateways
    return [
        Target("sandbox (direct)", sandbox, STANDARD_TOKEN, 200),
        Target("pass-through proxy", proxy, STANDARD_TOKEN, 200),
        Target("gateway, memory store", memory, STANDARD_TOKEN, 200),
        Target("gateway, Redis", on_redis, STANDARD_TOKEN, 200),
        Target("gateway, Redis, 429 over quota", on_redis, MEMBER_TOKEN, 429),
    ]


def exhaust_member_quota(target: Target) -> None:
    """Spend the member's 10 Development-tier calls so every later call is refused."""
    statuses = [get_status(target.url + PATH, target.token) for _ in range(MEMBER_DAILY_CALLS + 1)]
    if statuses != [200] * MEMBER_DAILY_CALLS + [429]:
        raise BenchError(f"expected {MEMBER_DAILY_CALLS} x 200 then 429, got {statuses}")


def merged(rows: Sequence[Row]) -> Row:
    """One target over all rounds: medians of rates and latencies, sums of counts."""
    cpu = [r.server_cpu_us_per_request for r in rows if r.server_cpu_us_per_request is not None]
    statuses: dict[str, int] = {}
    for row in rows:
        for status, count in row.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return Row(
        target=rows[0].target,
        requests_per_second=statistics.median(r.requests_per_second for r in rows),
        p50_ms=statistics.median(r.p50_ms for r in rows),
        p99_ms=statistics.median(r.p99_ms for r in rows),
        errors=sum(r.errors for r in rows),
        requests=sum(r.requests for r in rows),
        seconds=sum(r.seconds for r in rows),
        statuses=statuses,
        server_cpu_us_per_request=statistics.median(cpu) if cpu else None,
    )


def summary(rounds: list[list[Row]]) -> dict[str, Any]:
    rows = [merged(per_target) for per_target in zip(*rounds, strict=True)]
    by_name = {row.target: row for row in rows}

    def paired_ratio(round_rows: list[Row]) -> float:
        named = {row.target: row for row in round_rows}
        proxy = named["pass-through proxy"].requests_per_second
        return named["gateway, Redis"].requests_per_second / proxy if proxy else 0.0

    ratios = [paired_ratio(round_rows) for round_rows in rounds]
    ratio = statistics.median(ratios)
    refused = by_name["gateway, Redis, 429 over quota"]
    return {
        "rows": [asdict(row) for row in rows],
        "ratio_redis_over_passthrough": ratio,
        "ratio_per_round": ratios,
        "ratio_target": RATIO_TARGET,
        "ratio_met": ratio >= RATIO_TARGET,
        "rejections_faster": refused.p50_ms < by_name["gateway, Redis"].p50_ms,
    }


def render_table(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"GET {PATH}  concurrency {args.concurrency}, {args.rounds} rounds of {args.seconds:g} s "
        f"per target after {args.warmup:g} s warm-up, {os.cpu_count()} CPUs; medians",
        "",
        f"{'target':<32} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU us/req':>18}",
    ]
    for row in result["rows"]:
        cpu = row["server_cpu_us_per_request"]
        lines.append(
            f"{row['target']:<32} {row['requests_per_second']:>11.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7d} "
            f"{'n/a' if cpu is None else format(cpu, '.0f'):>18}"
        )
    ratio = result["ratio_redis_over_passthrough"]
    lines += [
        "",
        f"gateway on Redis / pass-through requests/s: {ratio:.2f} "
        f"(target >= {RATIO_TARGET:.2f}: {'met' if result['ratio_met'] else 'NOT met'}; "
        f"median of {len(result['ratio_per_round'])} paired rounds: "
        f"{', '.join(format(r, '.2f') for r in result['ratio_per_round'])})",
        "rejections faster than forwarding (p50 429 < p50 Redis): "
        f"{'yes' if result['rejections_faster'] else 'no'}",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops its processes."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    with (
        terminate_as_interrupt(),
        tempfile.TemporaryDirectory(prefix="gateway-bench-") as workdir,
    ):
        servers = Servers(Path(workdir))
        try:
            redis_url = choose_redis(servers)
            targets = start_all(servers, redis_url, args.gateway_log_level)
            for target in targets:
                if target.expect == 429:
                    exhaust_member_quota(target)
            # Rounds interleave the targets, so slow drift in the machine's other load
            # hits every target alike; each round pairs the gateway with the proxy.
            rounds: list[list[Row]] = []
            for number in range(1, args.rounds + 1):
                rounds.append([measure(target, args) for target in targets])
                print(f"measured round {number} of {args.rounds}", file=sys.stderr, flush=True)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()
    result = summary(rounds)
    table = render_table(result, args)
    if args.json:
        # The table for people on stderr, the numbers for programs on stdout.
        print(table, file=sys.stderr)
        print(json.dumps({"settings": settings_of(args), **result}, indent=2))
    else:
        print(table)
    return 0


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "path": PATH,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "gateway_log_level": args.gateway_log_level,
    }


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark the gateway against the sandbox and a bare pass-through proxy."
    )
    parser.add_argument(
        "--seconds",
        type=positive,
        default=DEFAULT_SECONDS,
        help=f"measured seconds per target (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=DEFAULT_WARMUP,
        help=f"unrecorded seconds before each (default {DEFAULT_WARMUP:g})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"rounds over every target, interleaved (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"concurrent keep-alive workers (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as JSON on stdout (the table goes to stderr)",
    )
    parser.add_argument(
        "--gateway-log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the gateways' --log-level; INFO keeps the access log on",
    )
    # The load generator's own entry point: this script re-run in a separate process.
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--token", default=STANDARD_TOKEN, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, default=200, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--concurrency and --rounds must be >= 1, --warmup >= 0")
    if args.drive:
        measured = asyncio.run(
            drive(
                args.drive,
                args.token,
                expect=args.expect,
                seconds=args.seconds,
                warmup=args.warmup,
                concurrency=args.concurrency,
            )
        )
        print(json.dumps(asdict(measured)))
        return 0
    try:
        return run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; every server was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
