"""Load from wrk, a native HTTP load generator, and its report read into numbers.

A Python load driver is itself the bottleneck on a small machine: it saturates a core
before the server under test does and squeezes every ratio toward 1. wrk (C, epoll) costs a
fraction of the server's CPU per request, so the servers' differences show.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# wrk prints latencies with a unit; these turn each into milliseconds.
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_TOTAL = re.compile(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m),", re.M)
_NON_2XX = re.compile(r"^\s+Non-2xx or 3xx responses: (\d+)", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M)


PACE_SCRIPT = Path(__file__).resolve().parent / "pace.lua"


class WrkError(Exception):
    """wrk is missing, failed, or printed a report this parser does not understand."""


@dataclass(frozen=True)
class WrkReport:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not on PATH (Debian: apt-get install wrk)")
    return found


def parse_report(text: str) -> WrkReport:
    """The numbers of one ``wrk --latency`` report."""
    total = _TOTAL.search(text)
    latencies = {
        m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)] for m in _LATENCY.finditer(text)
    }
    if total is None or set(latencies) != {"50", "99"}:
        raise WrkError(f"unexpected wrk output:\n{text}")
    non_2xx = _NON_2XX.search(text)
    socket = _SOCKET.search(text)
    return WrkReport(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNIT_MS[total.group(3)] / 1000,
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def run_wrk(
    url: str,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    pace_ms: float | None = None,
) -> WrkReport:
    """One wrk run against ``url``; keep-alive connections, every request alike.

    ``pace_ms`` makes each connection wait that long before its next request, which holds
    the rate near ``connections * 1000 / (pace_ms + latency)`` instead of the maximum.
    """
    argv = [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        "--latency",
    ]
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    if pace_ms is not None:
        argv += ["--script", str(PACE_SCRIPT)]
    argv.append(url)
    if pace_ms is not None:
        argv += ["--", str(round(pace_ms))]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk against {url} ran past {seconds + 30:g} s") from None
    if done.returncode != 0:
        raise WrkError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_report(done.stdout)
