"""The introspection budget: a token bucket per app, on an injected clock."""

from __future__ import annotations

import pytest

from gateway.settings.guards import IntrospectionLimit
from gateway.tokens.budget import IntrospectionBudget

NOW = 1_800_000_000.0


def test_a_burst_then_one_call_per_refill() -> None:
    budget = IntrospectionBudget(IntrospectionLimit(per_second=2, burst=3))

    assert [budget.take("a", NOW) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take("a", NOW) == pytest.approx(0.5)
    assert budget.take("a", NOW + 0.25) == pytest.approx(0.25)
    assert budget.take("a", NOW + 0.5) == 0.0
    assert budget.take("a", NOW + 0.5) == pytest.approx(0.5)


def test_apps_have_buckets_of_their_own_and_refill_stops_at_the_burst() -> None:
    budget = IntrospectionBudget(IntrospectionLimit(per_second=1, burst=2))
    for _ in range(2):
        assert budget.take("a", NOW) == 0.0
    assert budget.take("a", NOW) > 0
    assert budget.take("b", NOW) == 0.0

    later = NOW + 3600
    assert [budget.take("a", later) for _ in range(3)] == [0.0, 0.0, 1.0]


def test_a_clock_stepping_back_refills_nothing() -> None:
    budget = IntrospectionBudget(IntrospectionLimit(per_second=1, burst=1))
    assert budget.take("a", NOW) == 0.0
    assert budget.take("a", NOW - 100) == pytest.approx(1.0)
    assert budget.take("a", NOW + 0.5) == pytest.approx(0.5)
    assert budget.take("a", NOW + 1) == 0.0
