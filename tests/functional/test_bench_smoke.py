"""bench/run.py end to end with a tiny duration: it starts everything, drives it with wrk,
stops by itself and reports every target. No timing is asserted: shared machines are too
noisy for that. Marked ``slow``: ``pytest -m "not slow"`` leaves it out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "run.py"
TARGETS = [
    "nginx reverse proxy",
    "aiohttp pass-through",
    "gateway, memory store",
    "gateway, Redis",
    "gateway, Redis via redis-py+hiredis",
    "gateway, Redis, 429 over quota",
]


def native_tools() -> None:
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing:
        # .ci/run installs both: there, a missing tool is a failure, not a skip.
        where = f"{', '.join(missing)} not installed (Debian: apt-get install wrk nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(where)
        pytest.skip(where)


def run_script(script: Path, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A bench script with ``--json``, after checking wrk and nginx are there."""
    native_tools()
    return subprocess.run(
        [sys.executable, str(script), *args, "--json"],
        cwd=REPO,
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(110)
def test_bench_measures_every_target_and_exits_by_itself(redis_url: str) -> None:
    done = run_script(BENCH, redis_url, "--seconds", "1", "--warmup", "0",
                      "--connections", "4", "--rounds", "1", "--profile")  # fmt: skip

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["settings"]["load_generator"] == "wrk"
    rows = result["rows"]
    names = [row["target"] for row in rows]
    # The multi-worker target joins the table once `serve --workers` exists.
    assert names[: len(TARGETS)] == TARGETS
    assert all(name.endswith(" workers") for name in names[len(TARGETS) :])
    for row in rows:
        assert row["requests"] > 0, row
        assert row["requests_per_second"] > 0, row
        # Every answer had the status its target must give: 200 forwarded, 429 refused.
        assert row["errors"] == 0, row
    ratios = {ratio["name"]: ratio for ratio in result["ratios"]}
    headline = ratios["gateway on Redis / pass-through, requests/s"]
    assert headline["value"] > 0 and headline["target"] == 0.8
    # A missed target says by how much: the fraction of the target still to go.
    for ratio in ratios.values():
        if ratio["met"] is False:
            assert ratio["shortfall"] == pytest.approx(
                1 - ratio["value"] / ratio["target"]
                if ratio["at_least"]
                else ratio["value"] / ratio["target"] - 1
            )
            assert f"NOT met, short by {100 * ratio['shortfall']:.0f} %" in done.stderr
        elif ratio["met"]:
            assert ratio["shortfall"] == 0
    assert "429 refusals / pass-through, requests/s" in ratios
    assert "pipelined client / redis-py+hiredis, requests/s" in ratios
    table_lines = done.stderr.splitlines()
    for target in names:
        assert any(line.startswith(target + " ") for line in table_lines), done.stderr
    # --profile: py-spy's samples of a forwarded and of a refused call, split into steps.
    profiles = {found["target"]: found for found in result["profiles"]}
    assert set(profiles) == {"gateway, Redis", "gateway, Redis, 429 over quota"}
    forwarded, refused = profiles["gateway, Redis"], profiles["gateway, Redis, 429 over quota"]
    for found in (forwarded, refused):
        assert found["cpu_us_per_request"] > 0
        assert sum(found["samples"].values()) > 0
    client = "upstream client (aiohttp): send the call, read the answer"
    assert forwarded["samples"][client] > 0
    # A refusal never reaches the upstream: no sample of it is in the upstream client.
    assert refused["samples"][client] == 0
    assert "| CPU per call, from /proc |" in done.stderr


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(120)
def test_soak_reports_memory_and_descriptors_and_exits_by_itself(redis_url: str) -> None:
    done = run_script(REPO / "bench" / "soak.py", redis_url, "--minutes", "0.05",
                      "--failures", "50", "--sample-seconds", "0.5",
                      "--capacity-seconds", "1")  # fmt: skip

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    soaked = result["soak"]
    assert soaked["capacity_rps"] > 0 and soaked["paced_rps"] > 0
    assert soaked["errors"] == 0
    assert soaked["rss_after_warmup_kib"] > 0
    kinds = {failure["kind"]: failure for failure in result["failures"]}
    assert set(kinds) == {"refused", "reset", "timeout"}
    for failure in kinds.values():
        assert failure["failures"] >= 50
        assert failure["fds_before"] > 0 and failure["fds_after"] > 0
