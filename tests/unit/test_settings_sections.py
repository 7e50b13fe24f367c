"""The readers every optional mapping of gateway.yaml shares: its shape and a bucket pair."""

from __future__ import annotations

from gateway.settings.guards import IntrospectionLimit
from gateway.settings.public_limits import StateLimit
from gateway.settings.sections import read_bucket_limit, read_section


def _no_problem(path: str, message: str) -> None:
    raise AssertionError(f"{path}: {message}")


def test_a_section_reports_each_unknown_key_and_keeps_the_mapping() -> None:
    problems: list[tuple[str, str]] = []
    got = read_section(
        {"a": 1, "z": 2, "b": 3}, "s", frozenset({"a", "b"}), "nope", lambda *p: problems.append(p)
    )
    assert got == {"a": 1, "z": 2, "b": 3}
    assert problems == [("s.z", "unknown key (allowed: a, b)")]


def test_an_absent_section_is_silent_and_a_wrong_one_is_reported() -> None:
    problems: list[tuple[str, str]] = []
    allowed = frozenset({"a"})
    assert read_section(None, "s", allowed, "nope", lambda *p: problems.append(p)) is None
    assert problems == []
    assert (
        read_section([1], "s", allowed, "must be a mapping", lambda *p: problems.append(p)) is None
    )
    assert problems == [("s", "must be a mapping")]


def test_a_bucket_limit_keeps_its_kind_and_the_defaults_of_bad_numbers() -> None:
    problems: list[tuple[str, str]] = []
    got = read_bucket_limit(
        {"per_second": float("inf"), "burst": 5},
        "lim",
        "states",
        StateLimit(),
        lambda *p: problems.append(p),
    )
    assert got == StateLimit(per_second=1.0, burst=5)
    assert type(got) is StateLimit
    assert problems == [("lim.per_second", "must be a positive number of states per second")]
    problems.clear()
    got_calls = read_bucket_limit(
        {"per_second": 3, "burst": True},
        "lim",
        "calls",
        IntrospectionLimit(),
        lambda *p: problems.append(p),
    )
    assert got_calls == IntrospectionLimit(per_second=3.0, burst=20)
    assert problems == [("lim.burst", "must be a whole number of calls, 1 or more")]


def test_an_absent_bucket_limit_is_the_default() -> None:
    assert read_bucket_limit(
        None, "lim", "calls", IntrospectionLimit(), print
    ) == IntrospectionLimit(10.0, 20)
