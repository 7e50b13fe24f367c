"""Benchmark: the gateway beside nginx and a bare aiohttp proxy, driven by wrk.

    .venv/bin/python bench/run.py [--seconds S] [--rounds R] [--connections C] [--json]

One run starts every server as its own process on a free loopback port:

- the upstream: nginx answering every call with the same small JSON, so the upstream costs
  almost nothing and what each proxy in front of it spends is what shows;
- ``nginx reverse proxy``: nginx with keep-alive to that upstream, the reference a user knows;
- ``aiohttp pass-through``: ``bench/passthrough.py``, the smallest honest aiohttp reverse
  proxy, on the same event loop as the gateway;
- ``gateway, memory store`` and ``gateway, Redis`` (``REDIS_URL``, else 127.0.0.1:6379, else a
  private ``redis-server``): a Standard-tier Community Management app, counted, never refused;
- ``gateway, Redis, 429 over quota``: a Development-tier member whose 10 calls of the day are
  already spent, so every call is refused without reaching the upstream;
- ``gateway, Redis, N workers`` when ``serve`` has ``--workers``.

Each is loaded with ``GET /rest/organizationAcls?q=roleAssignee`` by wrk (one thread,
``--connections`` keep-alive connections, ``--latency``): a native load generator, because a
Python driver saturates a core before the server does and squeezes every ratio toward 1.
Rounds interleave the targets so slow drift in the machine's other load hits each alike; a
warm-up run (not recorded) precedes each measurement. The table shows each target's medians
over the rounds; every ratio is the median of per-round ratios of two targets measured in
the same round. "Server CPU us/req" is the user+system CPU of the server's processes (from
/proc, around warm-up and measurement) over the requests of both: the cost of one call, much
less sensitive to a noisy neighbour than requests/s. An error is a socket error or a status
other than the expected one (200, or 429 for the refusal target).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from call_profile import Profile, profile, render
from servers import (
    REPO,
    BenchError,
    Server,
    Servers,
    choose_redis,
    cpu_seconds,
    free_port,
    until_interrupted,
    wait_ready,
)
from wrk import WrkError, run_wrk

PATH = "/rest/organizationAcls?q=roleAssignee"
VERSION = "202505"
# Bearer tokens of the throw-away config written below, not credentials of anything real.
STANDARD_TOKEN = "tok-std"  # noqa: S105
MEMBER_TOKEN = "tok-social-m00"  # noqa: S105
MEMBER_DAILY_CALLS = 10
REQUEST_TIMEOUT = 10.0

DEFAULT_SECONDS = 5.0
DEFAULT_ROUNDS = 3
DEFAULT_WARMUP = 1.0
DEFAULT_CONNECTIONS = 32
DEFAULT_WORKERS = 2

MEMBER = "urn:li:person:m00"
STANDARD_MEMBER = "urn:li:person:std"
SCOPES = "[r_organization_social, w_organization_social, rw_organization_admin, r_basicprofile]"

NGINX = "nginx reverse proxy"
PASSTHROUGH = "aiohttp pass-through"
MEMORY = "gateway, memory store"
REDIS = "gateway, Redis"
REDIS_PY = "gateway, Redis via redis-py+hiredis"
REFUSING = "gateway, Redis, 429 over quota"


@dataclass(frozen=True)
class Goal:
    """A ratio of two targets' figures, measured in the same round, and its target."""

    name: str
    numerator: str
    denominator: str
    figure: str  # "rps" or "p99"
    target: float
    at_least: bool

    def value(self, named: dict[str, Row]) -> float | None:
        top, bottom = named.get(self.numerator), named.get(self.denominator)
        if top is None or bottom is None:
            return None
        a, b = (
            (top.requests_per_second, bottom.requests_per_second)
            if self.figure == "rps"
            else (top.p99_ms, bottom.p99_ms)
        )
        return a / b if b else None

    def met(self, value: float) -> bool:
        return value >= self.target if self.at_least else value <= self.target

    def shortfall(self, value: float) -> float:
        """How far ``value`` misses the target, as a fraction of it; 0 when met."""
        if self.met(value) or not self.target:
            return 0.0
        return 1 - value / self.target if self.at_least else value / self.target - 1


def workers_target(workers: int) -> str:
    return f"gateway, Redis, {workers} workers"


def goals(workers: int) -> list[Goal]:
    return [
        Goal("gateway on Redis / pass-through, requests/s", REDIS, PASSTHROUGH, "rps", 0.80, True),
        Goal("gateway on Redis / pass-through, p99", REDIS, PASSTHROUGH, "p99", 2.0, False),
        Goal("429 refusals / pass-through, requests/s", REFUSING, PASSTHROUGH, "rps", 1.3, True),
        Goal(
            f"{workers} workers / 1 worker on Redis, requests/s",
            workers_target(workers),
            REDIS,
            "rps",
            1.3,
            True,
        ),
        Goal("gateway on Redis / nginx, requests/s", REDIS, NGINX, "rps", 0.0, True),
        # The pipelined client stays only while it is >= 15 % faster end to end.
        Goal("pipelined client / redis-py+hiredis, requests/s", REDIS, REDIS_PY, "rps", 1.15, True),
    ]


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
    server_cpu_us_per_request: float | None


def headers_for(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "LinkedIn-Version": VERSION}


def measure(target: Target, args: argparse.Namespace) -> Row:
    """Warm ``target`` up, then measure it, each with one wrk run."""
    headers = headers_for(target.token)
    cpu_before = cpu_seconds(target.server.process.pid)
    warm = (
        run_wrk(target.url + PATH, headers, seconds=args.warmup, connections=args.connections)
        if args.warmup > 0
        else None
    )
    report = run_wrk(target.url + PATH, headers, seconds=args.seconds, connections=args.connections)
    cpu_after = cpu_seconds(target.server.process.pid)
    served = report.requests + (warm.requests if warm else 0)
    cpu_per_request = (
        (cpu_after - cpu_before) / served * 1e6
        if cpu_before is not None and cpu_after is not None and served
        else None
    )
    # wrk counts statuses only as 2xx/3xx or not: the refusal target expects "not".
    wrong = report.non_2xx if target.expect < 300 else report.requests - report.non_2xx
    return Row(
        target=target.name,
        requests_per_second=report.requests_per_second,
        p50_ms=report.p50_ms,
        p99_ms=report.p99_ms,
        errors=wrong + report.socket_errors,
        requests=report.requests,
        seconds=report.seconds,
        server_cpu_us_per_request=cpu_per_request,
    )


def get_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers=headers_for(token))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def serve_has_workers() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return "--workers" in done.stdout


def start_gateway(
    servers: Servers, name: str, config: str, log_level: str, extra: Sequence[str] = ()
) -> Server:
    port = free_port()
    path = servers.workdir / f"{name}.yaml"
    path.write_text(config)
    argv = [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--config",
        str(path),
        "--log-level",
        log_level,
        *extra,
    ]
    return servers.start(name, argv, port, env={"GATEWAY_LISTEN": f"127.0.0.1:{port}"})


def start_all(servers: Servers, redis_url: str, args: argparse.Namespace) -> list[Target]:
    upstream = servers.json_upstream()
    nginx = servers.nginx_proxy(upstream)
    proxy_port = free_port()
    proxy = servers.start(
        "passthrough",
        [
            sys.executable,
            str(REPO / "bench" / "passthrough.py"),
            "--upstream",
            upstream.url,
            "--port",
            str(proxy_port),
        ],
        proxy_port,
    )
    # A fresh suffix per run: the apps' counters never meet another run's keys in Redis.
    suffix = f"-bench-{uuid.uuid4().hex[:12]}"
    level = args.gateway_log_level
    memory = start_gateway(
        servers, "gateway-memory", gateway_config(upstream.url, "memory://", suffix), level
    )
    on_redis = start_gateway(
        servers, "gateway-redis", gateway_config(upstream.url, redis_url, suffix), level
    )
    # A query parameter the pipelined client does not read hands the quota calls to redis-py
    # (with hiredis's parser): the same gateway on the library client, for comparison.
    library_url = f"{redis_url}{'&' if '?' in redis_url else '?'}health_check_interval=0"
    on_redis_py = start_gateway(
        servers, "gateway-redis-py", gateway_config(upstream.url, library_url, suffix), level
    )
    workers = None
    if serve_has_workers():
        workers = start_gateway(
            servers,
            "gateway-workers",
            gateway_config(upstream.url, redis_url, suffix),
            level,
            ["--workers", str(args.workers)],
        )
    started = (upstream, nginx, proxy, memory, on_redis, on_redis_py)
    for server in (*started, *([workers] if workers else [])):
        wait_ready(server, PATH)
    targets = [
        Target(NGINX, nginx, STANDARD_TOKEN, 200),
        Target(PASSTHROUGH, proxy, STANDARD_TOKEN, 200),
        Target(MEMORY, memory, STANDARD_TOKEN, 200),
        Target(REDIS, on_redis, STANDARD_TOKEN, 200),
        Target(REDIS_PY, on_redis_py, STANDARD_TOKEN, 200),
        Target(REFUSING, on_redis, MEMBER_TOKEN, 429),
    ]
    if workers is not None:
        targets.append(Target(workers_target(args.workers), workers, STANDARD_TOKEN, 200))
    return targets


def check_answers(target: Target) -> None:
    """Each target answers as the benchmark assumes before it is measured."""
    if target.expect == 429:
        statuses = [
            get_status(target.url + PATH, target.token) for _ in range(MEMBER_DAILY_CALLS + 1)
        ]
        if statuses != [200] * MEMBER_DAILY_CALLS + [429]:
            raise BenchError(f"expected {MEMBER_DAILY_CALLS} x 200 then 429, got {statuses}")
        return
    status = get_status(target.url + PATH, target.token)
    if status != target.expect:
        raise BenchError(f"{target.name} answered {status}, expected {target.expect}")


def merged(rows: Sequence[Row]) -> Row:
    """One target over all rounds: medians of rates and latencies, sums of counts."""
    cpu = [r.server_cpu_us_per_request for r in rows if r.server_cpu_us_per_request is not None]
    return Row(
        target=rows[0].target,
        requests_per_second=statistics.median(r.requests_per_second for r in rows),
        p50_ms=statistics.median(r.p50_ms for r in rows),
        p99_ms=statistics.median(r.p99_ms for r in rows),
        errors=sum(r.errors for r in rows),
        requests=sum(r.requests for r in rows),
        seconds=sum(r.seconds for r in rows),
        server_cpu_us_per_request=statistics.median(cpu) if cpu else None,
    )


def summary(rounds: list[list[Row]], workers: int) -> dict[str, Any]:
    rows = [merged(per_target) for per_target in zip(*rounds, strict=True)]
    named_rounds = [{row.target: row for row in round_rows} for round_rows in rounds]
    ratios = []
    for goal in goals(workers):
        per_round = [goal.value(named) for named in named_rounds]
        values = [v for v in per_round if v is not None]
        if not values:
            continue
        value = statistics.median(values)
        ratios.append(
            {
                "name": goal.name,
                "value": value,
                "per_round": values,
                "target": goal.target if goal.target else None,
                "at_least": goal.at_least,
                "met": goal.met(value) if goal.target else None,
                "shortfall": goal.shortfall(value) if goal.target else None,
            }
        )
    return {"rows": [asdict(row) for row in rows], "ratios": ratios}


def render_table(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"GET {PATH}  wrk 1 thread, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds:g} s per target after {args.warmup:g} s warm-up, "
        f"{os.cpu_count()} CPUs; medians",
        "",
        f"{'target':<34} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU us/req':>18}",
    ]
    for row in result["rows"]:
        cpu = row["server_cpu_us_per_request"]
        lines.append(
            f"{row['target']:<34} {row['requests_per_second']:>11.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7d} "
            f"{'n/a' if cpu is None else format(cpu, '.0f'):>18}"
        )
    lines.append("")
    for ratio in result["ratios"]:
        rounds = ", ".join(format(v, ".2f") for v in ratio["per_round"])
        verdict = ""
        if ratio["target"] is not None:
            sign = ">=" if ratio["at_least"] else "<="
            state = "met" if ratio["met"] else f"NOT met, short by {100 * ratio['shortfall']:.0f} %"
            verdict = f" (target {sign} {ratio['target']:.2f}: {state})"
        lines.append(f"{ratio['name']}: {ratio['value']:.2f}{verdict}; rounds: {rounds}")
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
            targets = start_all(servers, redis_url, args)
            for target in targets:
                check_answers(target)
            rounds: list[list[Row]] = []
            for number in range(1, args.rounds + 1):
                rounds.append([measure(target, args) for target in targets])
                print(f"measured round {number} of {args.rounds}", file=sys.stderr, flush=True)
            profiles = profile_targets(targets, args) if args.profile else []
        except (BenchError, WrkError) as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()
    result = summary(rounds, args.workers)
    table = render_table(result, args)
    if profiles:
        result["profiles"] = [asdict(found) for found in profiles]
        table += (
            "\n\nWhere a call's CPU goes (py-spy, "
            f"{args.seconds:g} s each; every sample given to one step):\n\n{render(profiles)}"
        )
    if args.json:
        # The table for people on stderr, the numbers for programs on stdout.
        print(table, file=sys.stderr)
        print(json.dumps({"settings": settings_of(args), **result}, indent=2))
    else:
        print(table)
    return 0


# The calls whose CPU ``--profile`` splits into the request path's steps.
PROFILED = (REDIS, REFUSING)


def profile_targets(targets: Sequence[Target], args: argparse.Namespace) -> list[Profile]:
    """py-spy on the Redis gateway forwarding, then refusing, each under wrk."""
    found = []
    for target in targets:
        if target.name in PROFILED:
            found.append(
                profile(
                    target.name,
                    target.server.process.pid,
                    target.url + PATH,
                    headers_for(target.token),
                    args.seconds,
                    args.connections,
                )
            )
            print(f"profiled {target.name}", file=sys.stderr, flush=True)
    return found


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "path": PATH,
        "load_generator": "wrk",
        "seconds": args.seconds,
        "warmup": args.warmup,
        "connections": args.connections,
        "rounds": args.rounds,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "gateway_log_level": args.gateway_log_level,
        "profile": args.profile,
    }


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark the gateway beside nginx and a bare aiohttp proxy, with wrk."
    )
    numbers: list[tuple[str, Callable[[str], float], float, str]] = [
        ("--seconds", positive, DEFAULT_SECONDS, "measured seconds per target, whole"),
        ("--warmup", float, DEFAULT_WARMUP, "unrecorded seconds before each, 0 for none"),
        ("--rounds", int, DEFAULT_ROUNDS, "rounds over every target, interleaved"),
        ("--connections", int, DEFAULT_CONNECTIONS, "wrk's keep-alive connections"),
        ("--workers", int, DEFAULT_WORKERS, "worker processes of the multi-worker target"),
    ]
    for flag, kind, default, meaning in numbers:
        help_text = f"{meaning} (default {default:g})"
        parser.add_argument(flag, type=kind, default=default, help=help_text)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as JSON on stdout (the table goes to stderr)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the rounds, split the CPU of a forwarded and of a refused call into the "
        "request path's steps with py-spy (pip install py-spy)",
    )
    parser.add_argument(
        "--gateway-log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the gateways' --log-level; INFO keeps the access log on",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.connections < 1 or args.warmup < 0 or args.rounds < 1 or args.workers < 2:
        parser.error("--connections, --rounds >= 1; --workers >= 2; --warmup >= 0")
    return until_interrupted("bench", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
