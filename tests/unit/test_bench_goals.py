"""The benchmark's verdict on each target says by how much a missed one falls short."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
bench_run = importlib.import_module("run")
sys.path.remove(str(BENCH))


@pytest.mark.parametrize(
    ("target", "at_least", "value", "shortfall"),
    [
        (0.80, True, 0.52, 0.35),
        (1.3, True, 1.235, 0.05),
        (1.3, True, 1.56, 0.0),
        (2.0, False, 2.5, 0.25),
        (2.0, False, 1.24, 0.0),
    ],
)
def test_a_missed_target_says_how_far_it_is(
    target: float, at_least: bool, value: float, shortfall: float
) -> None:
    goal = bench_run.Goal("ratio", "a", "b", "rps", target, at_least)
    assert goal.shortfall(value) == pytest.approx(shortfall)
    assert goal.met(value) is (shortfall == 0)
