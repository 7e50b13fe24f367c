"""LinkedIn-Version rules: the forms, the sunset boundary, the refusals, RFC 9745 headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.policy.versions import (
    MarketingVersion,
    deprecation_headers,
    parse_version,
    version_refusal,
)

SUNSET_THROUGH = "202304"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("202305", MarketingVersion(2023, 5)),
        ("202305.01", MarketingVersion(2023, 5, revision=1)),
        ("202305.1", MarketingVersion(2023, 5, revision=1)),
        ("20230501", MarketingVersion(2023, 5, day=1)),
        (" 202505 ", MarketingVersion(2025, 5)),
        ("20240229", MarketingVersion(2024, 2, day=29)),
        ("202313", None),
        ("202300", None),
        ("20230231", None),
        ("20230229", None),
        ("2023-05", None),
        ("202305.", None),
        ("202305.123", None),
        ("2023051", None),
        ("v202305", None),
        ("", None),
        ("\uff12\uff10\uff12\uff13\uff10\uff15", None),  # fullwidth digits
    ],
)
def test_parse_version(raw: str, expected: MarketingVersion | None) -> None:
    assert parse_version(raw) == expected


@pytest.mark.parametrize(
    ("raw", "status", "reason", "code"),
    [
        (None, 400, "version_missing", "VERSION_MISSING"),
        ("", 400, "version_missing", "VERSION_MISSING"),
        ("  ", 400, "version_missing", "VERSION_MISSING"),
        ("latest", 400, "version_malformed", "BAD_REQUEST"),
        ("202313", 400, "version_malformed", "BAD_REQUEST"),
        ("20230431", 400, "version_malformed", "BAD_REQUEST"),
        ("202304", 426, "version_sunset", "NONEXISTENT_VERSION"),
        ("202304.99", 426, "version_sunset", "NONEXISTENT_VERSION"),
        ("20230430", 426, "version_sunset", "NONEXISTENT_VERSION"),
        ("202212", 426, "version_sunset", "NONEXISTENT_VERSION"),
        ("202305", None, None, None),
        ("202305.01", None, None, None),
        ("20230501", None, None, None),
        ("202505", None, None, None),
    ],
)
def test_rest_versions(
    raw: str | None, status: int | None, reason: str | None, code: str | None
) -> None:
    refusal = version_refusal("rest", raw, SUNSET_THROUGH)
    if status is None:
        assert refusal is None
        return
    assert refusal is not None
    assert (refusal.status, refusal.reason, refusal.code) == (status, reason, code)


@pytest.mark.parametrize("raw", [None, "202304", "nonsense"])
def test_unversioned_api_ignores_the_header(raw: str | None) -> None:
    assert version_refusal("v2", raw, SUNSET_THROUGH) is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("202304", "20230401"), ("20230415", "20230415"), ("202304.02", "20230401")],
)
def test_sunset_message_names_the_version_as_linkedin_does(raw: str, shown: str) -> None:
    refusal = version_refusal("rest", raw, SUNSET_THROUGH)
    assert refusal is not None
    assert refusal.message == f"Requested version {shown} is not active"


def test_the_sunset_boundary_follows_the_catalog() -> None:
    assert version_refusal("rest", "202305", "202305") is not None
    assert version_refusal("rest", "202306", "202305") is None


def test_a_malformed_value_is_echoed_safely() -> None:
    refusal = version_refusal("rest", "x\x07" + "9" * 100, SUNSET_THROUGH)
    assert refusal is not None
    assert "\x07" not in refusal.message
    assert len(refusal.message) < 150


def test_deprecation_is_an_rfc9745_date_on_v2_only() -> None:
    headers = deprecation_headers("v2")
    value = headers["Deprecation"]
    assert value.startswith("@")
    assert datetime.fromtimestamp(int(value[1:]), tz=UTC) == datetime(2022, 6, 1, tzinfo=UTC)
    assert 'rel="deprecation"' in headers["Link"]
    assert deprecation_headers("rest") == {}
