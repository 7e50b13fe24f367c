"""bench/run.py end to end with a tiny duration: it starts everything, stops by itself and
reports every target. No timing is asserted: shared machines are too noisy for that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "run.py"
TARGETS = [
    "sandbox (direct)",
    "pass-through proxy",
    "gateway, memory store",
    "gateway, Redis",
    "gateway, Redis, 429 over quota",
]


@pytest.mark.redis
@pytest.mark.timeout(40)
def test_bench_measures_every_target_and_exits_by_itself(redis_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--seconds", "0.5", "--warmup", "0.2",
         "--concurrency", "4", "--json"],
        cwd=REPO,
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=35,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rows = result["rows"]
    assert [row["target"] for row in rows] == TARGETS
    for row in rows:
        assert row["requests"] > 0, row
        assert row["requests_per_second"] > 0, row
        # Every answer had the status its target must give: 200 forwarded, 429 refused.
        assert row["errors"] == 0, row
    assert set(rows[-1]["statuses"]) == {"429"}
    assert all(set(row["statuses"]) == {"200"} for row in rows[:-1])
    assert result["ratio_redis_over_passthrough"] > 0
    table_lines = done.stderr.splitlines()
    for target in TARGETS:
        assert any(line.startswith(target + " ") for line in table_lines), done.stderr
