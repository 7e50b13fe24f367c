"""Soak: the gateway stays up. Memory stays flat under long load, descriptors under failures.

    .venv/bin/python bench/soak.py [--minutes 10] [--failures 10000] [--store redis] [--json]

1. Capacity: wrk at full speed against the gateway (Standard-tier app, nginx upstream
   answering fixed JSON) for a few seconds.
2. Soak: wrk paced at half that capacity for ``--minutes``; the gateway's resident memory
   (VmRSS) is sampled every few seconds. The first fifth of the run (at most a minute) is
   warm-up; after it, RSS must stay within 5 % of its value at the end of warm-up.
3. Failures: for each way an upstream fails — connection refused, connection reset, no
   answer until ``upstream_timeout`` — a gateway of its own takes ``--failures`` failing calls;
   its open file descriptors (/proc/PID/fd) are counted after a warm-up batch and again after
   the failures, once in-flight calls have ended. They must not grow.

It prints its figures and a verdict per check, exits 0 either way (1 only when it could not
run), and is not part of the test suite (a smoke test runs it in seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from run import PATH, STANDARD_TOKEN, gateway_config, headers_for, start_gateway
from servers import (
    REPO,
    BenchError,
    Server,
    Servers,
    choose_redis,
    free_port,
    until_interrupted,
    wait_ready,
)
from wrk import WrkError, run_wrk

RSS_TOLERANCE = 0.05
CONNECTIONS = 32
CAPACITY_SECONDS = 5.0
SAMPLE_SECONDS = 5.0
WARMUP_SHARE = 0.2
WARMUP_MAX_SECONDS = 60.0
FAILURE_WARMUP_CALLS = 200
# The timeout phase's upstream_timeout: short, so ten thousand timeouts take seconds.
FAILURE_TIMEOUT = 0.2
FAILURE_BATCH_SECONDS = 1.0
SETTLE_SECONDS = 1.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class SoakResult:
    capacity_rps: float
    paced_rps: float
    seconds: float
    errors: int
    rss_after_warmup_kib: int
    rss_max_after_warmup_kib: int
    rss_end_kib: int
    rss_growth_percent: float
    rss_flat: bool


@dataclass
class FailureResult:
    kind: str
    failures: int
    socket_errors: int
    fds_before: int
    fds_after: int
    fds_flat: bool


class Sampler(threading.Thread):
    """Samples a process's RSS every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.halt.is_set():
            self.samples.append((time.monotonic() - started, rss_kib(self.pid)))
            self.halt.wait(self.every)


def soak(
    gateway: Server, minutes: float, sample_every: float, capacity_seconds: float
) -> SoakResult:
    url, headers = gateway.url + PATH, headers_for(STANDARD_TOKEN)
    capacity = run_wrk(url, headers, seconds=capacity_seconds, connections=CONNECTIONS)
    seconds = minutes * 60
    # Each connection sends one call per pause (plus the call's own latency).
    pace_ms = CONNECTIONS / (capacity.requests_per_second / 2) * 1000
    sampler = Sampler(gateway.process.pid, sample_every)
    sampler.start()
    try:
        paced = run_wrk(url, headers, seconds=seconds, connections=CONNECTIONS, pace_ms=pace_ms)
    finally:
        sampler.halt.set()
        sampler.join()
    samples = [*sampler.samples, (seconds, rss_kib(gateway.process.pid))]
    warmup = min(seconds * WARMUP_SHARE, WARMUP_MAX_SECONDS)
    after = [rss for at, rss in samples if at >= warmup]
    baseline = after[0]
    growth = (max(after) - baseline) / baseline
    return SoakResult(
        capacity_rps=capacity.requests_per_second,
        paced_rps=paced.requests_per_second,
        seconds=paced.seconds,
        errors=paced.non_2xx + paced.socket_errors,
        rss_after_warmup_kib=baseline,
        rss_max_after_warmup_kib=max(after),
        rss_end_kib=after[-1],
        rss_growth_percent=growth * 100,
        rss_flat=growth <= RSS_TOLERANCE,
    )


def fail_many(kind: str, gateway: Server, failures: int) -> FailureResult:
    url, headers = gateway.url + PATH, headers_for(STANDARD_TOKEN)
    # Warm-up: pools, caches and lazily opened files exist before the first count.
    warm = 0
    while warm < min(FAILURE_WARMUP_CALLS, failures):
        warm += run_wrk(url, headers, seconds=1, connections=CONNECTIONS).non_2xx
    time.sleep(SETTLE_SECONDS)
    before = open_fds(gateway.process.pid)
    failed = socket_errors = 0
    while failed < failures:
        report = run_wrk(url, headers, seconds=FAILURE_BATCH_SECONDS, connections=CONNECTIONS * 2)
        failed += report.non_2xx
        socket_errors += report.socket_errors
    # wrk's own connections close when it exits; in-flight upstream calls end by their timeout.
    time.sleep(SETTLE_SECONDS + FAILURE_TIMEOUT)
    after = open_fds(gateway.process.pid)
    return FailureResult(kind, failed, socket_errors, before, after, after <= before)


def failing_gateways(servers: Servers, store: str, level: str) -> dict[str, Server]:
    """One gateway per way of failing, each in front of an upstream that fails that way."""
    upstreams = {"refused": f"http://127.0.0.1:{free_port()}"}
    for kind, mode in (("reset", "reset"), ("timeout", "hang")):
        port = free_port()
        server = servers.start(
            f"upstream-{kind}",
            [sys.executable, str(REPO / "bench" / "failing_upstream.py"),
             "--port", str(port), "--mode", mode],
            port,
        )  # fmt: skip
        upstreams[kind] = server.url
    suffix = f"-soak-{uuid.uuid4().hex[:12]}"
    gateways = {}
    for kind, upstream in upstreams.items():
        config = gateway_config(upstream, store, suffix) + (
            f"upstream_timeout: {FAILURE_TIMEOUT}\nupstream_connect_timeout: {FAILURE_TIMEOUT}\n"
        )
        gateways[kind] = start_gateway(servers, f"gateway-{kind}", config, level)
    return gateways


def render(soaked: SoakResult, failed: list[FailureResult]) -> str:
    verdict = {True: "flat", False: "GREW"}
    lines = [
        f"capacity {soaked.capacity_rps:.0f} requests/s; soaked at {soaked.paced_rps:.0f} "
        f"requests/s for {soaked.seconds:.0f} s, {soaked.errors} errors",
        f"RSS after warm-up {soaked.rss_after_warmup_kib} KiB, highest after "
        f"{soaked.rss_max_after_warmup_kib} KiB, at the end {soaked.rss_end_kib} KiB: "
        f"{soaked.rss_growth_percent:+.1f} % "
        f"(limit +{RSS_TOLERANCE * 100:.0f} %: {verdict[soaked.rss_flat]})",
    ]
    for result in failed:
        lines.append(
            f"{result.failures} upstream failures ({result.kind}): open descriptors "
            f"{result.fds_before} -> {result.fds_after} ({verdict[result.fds_flat]}); "
            f"{result.socket_errors} client socket errors"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gateway-soak-") as workdir:
        servers = Servers(Path(workdir))
        try:
            store = choose_redis(servers) if args.store == "redis" else "memory://"
            upstream = servers.json_upstream()
            suffix = f"-soak-{uuid.uuid4().hex[:12]}"
            gateway = start_gateway(
                servers, "gateway", gateway_config(upstream.url, store, suffix), args.log_level
            )
            failing = failing_gateways(servers, store, args.log_level)
            for server in (upstream, gateway, *failing.values()):
                wait_ready(server, PATH)
            soaked = soak(gateway, args.minutes, args.sample_seconds, args.capacity_seconds)
            failed = [fail_many(kind, server, args.failures) for kind, server in failing.items()]
        except (BenchError, WrkError) as exc:
            print(f"soak: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()
    table = render(soaked, failed)
    if args.json:
        print(table, file=sys.stderr)
        result: dict[str, Any] = {"soak": asdict(soaked), "failures": [asdict(f) for f in failed]}
        print(json.dumps(result, indent=2))
    else:
        print(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak the gateway: memory and descriptors.")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length (default 10)")
    parser.add_argument(
        "--failures", type=int, default=10_000, help="upstream failures of each kind"
    )
    parser.add_argument("--store", choices=["memory", "redis"], default="redis")
    parser.add_argument("--sample-seconds", type=float, default=SAMPLE_SECONDS)
    parser.add_argument("--capacity-seconds", type=float, default=CAPACITY_SECONDS)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    if min(args.minutes, args.sample_seconds, args.capacity_seconds) <= 0 or args.failures < 1:
        parser.error("--minutes, --sample-seconds, --capacity-seconds > 0; --failures >= 1")
    return until_interrupted("soak", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
