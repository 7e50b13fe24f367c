"""RateLimit / RateLimit-Policy / X-RateLimit-* / Retry-After arithmetic."""

from __future__ import annotations

import pytest

from gateway.quota.headers import rate_limit_headers, retry_after, sf_string
from gateway.quota.model import BucketSpec, BucketState, Window

NOW = 1_717_000_000.0

APP = BucketSpec("app", "lgw:{acme}:app", 100, Window.UTC_DAY)
MEMBER = BucketSpec("member", "lgw:{acme}:member:m1", 10, Window.ROLLING_24H)
APP_UNLIMITED = BucketSpec("app", "lgw:{acme}:app", None, Window.UTC_DAY)
MEMBER_UNLIMITED = BucketSpec("member", "lgw:{acme}:member:m1", None, Window.UTC_DAY)
BOTH = '"app";q=100;w=86400, "member";q=10;w=86400'


def _state(spec: BucketSpec, used: int, reset_in: float) -> BucketState:
    return BucketState(spec=spec, used=used, reset_at=NOW + reset_in)


def _headers(
    policy: str, rate_limit: str, limit: str, remaining: str, reset_in: int
) -> dict[str, str]:
    return {
        "RateLimit-Policy": policy,
        "RateLimit": rate_limit,
        "X-RateLimit-Limit": limit,
        "X-RateLimit-Remaining": remaining,
        "X-RateLimit-Reset": str(int(NOW) + reset_in),
    }


@pytest.mark.parametrize(
    "states",
    [
        (),
        (_state(APP_UNLIMITED, 5, 60),),
        (_state(APP_UNLIMITED, 5, 60), _state(MEMBER_UNLIMITED, 1, 60)),
    ],
    ids=["none", "app", "app-and-member"],
)
def test_unlimited_buckets_send_no_headers(states: tuple[BucketState, ...]) -> None:
    assert rate_limit_headers(states, NOW) == {}


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (
            (_state(APP, 3, 5400),),
            _headers('"app";q=100;w=86400', '"app";r=97;t=5400', "100", "97", 5400),
        ),
        (
            (_state(APP, 3, 5400), _state(MEMBER, 7, 5400)),
            _headers(BOTH, '"app";r=97;t=5400, "member";r=3;t=5400', "10", "3", 5400),
        ),
        (
            (_state(APP_UNLIMITED, 3, 5400), _state(MEMBER, 7, 120)),
            _headers('"member";q=10;w=86400', '"member";r=3;t=120', "10", "3", 120),
        ),
        (
            (_state(APP, 130, 10), _state(MEMBER, 2, 10)),
            _headers(BOTH, '"app";r=0;t=10, "member";r=8;t=10', "100", "0", 10),
        ),
    ],
    ids=["one-bucket", "two-buckets", "unlimited-skipped", "overused-saturates"],
)
def test_rate_limit_headers(states: tuple[BucketState, ...], expected: dict[str, str]) -> None:
    headers = rate_limit_headers(states, NOW)
    assert headers == expected
    assert all(value.isascii() for value in headers.values())


TIGHT_APP = BucketSpec("app", "a", 10, Window.UTC_DAY)


@pytest.mark.parametrize(
    "states",
    [
        (_state(TIGHT_APP, 7, 100), _state(MEMBER, 7, 200)),
        (_state(MEMBER, 7, 200), _state(TIGHT_APP, 7, 100)),
    ],
    ids=["member-last", "member-first"],
)
def test_tie_picks_the_bucket_resetting_later(states: tuple[BucketState, ...]) -> None:
    headers = rate_limit_headers(states, NOW)
    assert headers["X-RateLimit-Remaining"] == "3"
    assert headers["X-RateLimit-Reset"] == str(int(NOW) + 200)


@pytest.mark.parametrize(
    ("reset_in", "t", "reset"),
    [
        (10.2, 11, int(NOW) + 11),
        (0.0, 0, int(NOW)),
        (-5.0, 0, int(NOW) - 5),
        (0.001, 1, int(NOW) + 1),
    ],
    ids=["fraction-up", "zero", "already-past", "tiny"],
)
def test_reset_rounding(reset_in: float, t: int, reset: int) -> None:
    headers = rate_limit_headers((_state(APP, 1, reset_in),), NOW)
    assert headers["RateLimit"] == f'"app";r=99;t={t}'
    assert headers["X-RateLimit-Reset"] == str(reset)


def test_reset_rounding_with_fractional_now() -> None:
    now = NOW + 0.75
    headers = rate_limit_headers((BucketState(APP, 1, NOW + 60),), now)
    assert headers["RateLimit"] == '"app";r=99;t=60'
    assert headers["X-RateLimit-Reset"] == str(int(NOW) + 60)


@pytest.mark.parametrize(
    ("states", "exhausted", "expected"),
    [
        ((_state(APP, 100, 100.5), _state(MEMBER, 10, 3000.1)), (APP, MEMBER), 3001),
        ((_state(APP, 100, 100.5), _state(MEMBER, 2, 3000.1)), (APP,), 101),
        ((_state(APP, 5, 100.5), _state(MEMBER, 10, 3000.1)), (MEMBER,), 3001),
        ((_state(APP, 100, -3),), (APP,), 1),
        ((_state(APP, 100, 0.2),), (APP,), 1),
        ((_state(APP, 3, 500),), (), 1),
    ],
    ids=["both", "app-only", "member-only", "already-reset", "under-a-second", "none"],
)
def test_retry_after(
    states: tuple[BucketState, ...], exhausted: tuple[BucketSpec, ...], expected: int
) -> None:
    assert retry_after(states, exhausted, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("app", '"app"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("", '""')],
    ids=["plain", "quote", "backslash", "empty"],
)
def test_sf_string(value: str, expected: str) -> None:
    assert sf_string(value) == expected


@pytest.mark.parametrize("value", ["é", "a\nb", "\x7f"], ids=["non-ascii", "newline", "del"])
def test_sf_string_refuses_non_printable(value: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        sf_string(value)
