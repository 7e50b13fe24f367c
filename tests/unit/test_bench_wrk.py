"""The benchmark reads wrk's report into the right numbers and units."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wrk = load("wrk")

REPORT = """Running 5s test @ http://127.0.0.1:8080/rest/organizationAcls?q=roleAssignee
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.21ms    1.03ms  31.52ms   91.20%
    Req/Sec     6.17k   312.44     6.60k    82.00%
  Latency Distribution
     50%  850.00us
     75%    5.40ms
     90%    6.01ms
     99%    1.20s
  30712 requests in 5.00s, 12.33MB read
  Non-2xx or 3xx responses: 17
  Socket errors: connect 1, read 2, write 0, timeout 3
Requests/sec:   6142.40
Transfer/sec:      2.47MB
"""


def test_a_report_becomes_numbers_in_milliseconds() -> None:
    report = wrk.parse_report(REPORT)

    assert report.requests == 30712
    assert report.seconds == 5.0
    assert report.p50_ms == pytest.approx(0.85)
    assert report.p99_ms == pytest.approx(1200.0)
    assert report.non_2xx == 17
    assert report.socket_errors == 6
    assert report.requests_per_second == pytest.approx(6142.4)


def test_a_clean_report_has_no_errors() -> None:
    clean = REPORT.replace("  Non-2xx or 3xx responses: 17\n", "").replace(
        "  Socket errors: connect 1, read 2, write 0, timeout 3\n", ""
    )
    report = wrk.parse_report(clean)

    assert (report.non_2xx, report.socket_errors) == (0, 0)


def test_output_it_does_not_understand_is_an_error() -> None:
    with pytest.raises(wrk.WrkError, match="unexpected wrk output"):
        wrk.parse_report(REPORT.replace("     99%    1.20s\n", ""))
