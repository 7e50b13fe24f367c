"""The Development tier's 12-month window: end date, the 30-day notice, warn and block."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.catalog.loader import load_catalog
from gateway.errors import GatewayError
from gateway.policy.development_window import (
    EXPIRES_HEADER,
    NOTICE_HEADER,
    SUNSET_HEADER,
    OncePerDay,
    add_months,
    check_expiry,
    in_notice,
    is_expired,
    notice_headers,
    noticed_windows,
    window_end,
)
from gateway.settings.model import AppConfig, OnDevelopmentExpiry, ProductGrant

CATALOG = load_catalog()
SINCE = date(2026, 6, 1)
CM = "community_management"
WARN, BLOCK = OnDevelopmentExpiry.WARN, OnDevelopmentExpiry.BLOCK


def at(year: int, month: int, day: int, hour: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, 0, second, tzinfo=UTC).timestamp()


def app(**grants: ProductGrant) -> AppConfig:
    return AppConfig("acme", "cid", "secret", grants, None)


CM_DEV = ProductGrant(CM, "development", SINCE)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 6, 1), 12, date(2027, 6, 1)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2027, 1, 31), 13, date(2028, 2, 29)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("now", "noticed", "expired"),
    [
        (at(2027, 5, 1, 23, 59), False, False),  # 31 days before the end
        (at(2027, 5, 2), True, False),  # exactly 30 days before
        (at(2027, 5, 31), True, False),  # the day before the end
        (at(2027, 5, 31, 23) + 3599, True, False),  # the last second of the window
        (at(2027, 6, 1), True, True),  # the end day
        (at(2027, 6, 2), True, True),  # the day after
    ],
)
def test_notice_and_expiry_boundaries(now: float, noticed: bool, expired: bool) -> None:
    assert window_end(SINCE, 12) == date(2027, 6, 1)
    assert in_notice(SINCE, 12, now) is noticed
    assert is_expired(SINCE, 12, now) is expired


def test_only_development_products_with_since_have_windows() -> None:
    now = at(2027, 6, 2)
    assert noticed_windows(app(community_management=CM_DEV), CATALOG, now)[0].expired
    standard = ProductGrant(CM, "standard", SINCE)
    assert noticed_windows(app(community_management=standard), CATALOG, now) == ()
    no_since = ProductGrant(CM, "development", None)
    assert noticed_windows(app(community_management=no_since), CATALOG, now) == ()
    # Advertising Development has no development_months in the catalog.
    ads = ProductGrant("advertising", "development", SINCE)
    assert noticed_windows(app(advertising=ads), CATALOG, now) == ()


def test_headers_name_the_end_date() -> None:
    windows = noticed_windows(app(community_management=CM_DEV), CATALOG, at(2027, 5, 20))
    headers = notice_headers(windows, WARN)
    assert headers[EXPIRES_HEADER] == "2027-06-01"
    assert "ends on 2027-06-01" in headers[NOTICE_HEADER]
    assert "since 2026-06-01" in headers[NOTICE_HEADER]
    assert SUNSET_HEADER not in headers
    assert notice_headers(windows, BLOCK)[SUNSET_HEADER] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert notice_headers((), WARN) == {}


def test_headers_say_ended_after_the_end() -> None:
    windows = noticed_windows(app(community_management=CM_DEV), CATALOG, at(2027, 7, 1))
    assert "ended on 2027-06-01" in notice_headers(windows, WARN)[NOTICE_HEADER]


@pytest.mark.parametrize(
    ("now", "policy", "products", "refused"),
    [
        (at(2027, 5, 31), BLOCK, (CM,), False),  # the day before: still open
        (at(2027, 6, 1), BLOCK, (CM,), True),
        (at(2027, 6, 1), WARN, (CM,), False),
        (at(2027, 6, 1), BLOCK, (CM, "advertising"), False),  # a live product authorizes it
        (at(2027, 6, 1), BLOCK, (), False),
    ],
)
def test_check_expiry(
    now: float, policy: OnDevelopmentExpiry, products: tuple[str, ...], refused: bool
) -> None:
    grants = {CM: CM_DEV, "advertising": ProductGrant("advertising", "standard", None)}
    windows = noticed_windows(app(**grants), CATALOG, now)
    if not refused:
        check_expiry(windows, products, policy)
        return
    with pytest.raises(GatewayError) as caught:
        check_expiry(windows, products, policy)
    refusal = caught.value.refusal
    assert (refusal.status, refusal.reason, refusal.code) == (
        403,
        "development_tier_expired",
        "ACCESS_DENIED",
    )
    assert "2027-06-01" in refusal.message
    assert refusal.headers == {}


def test_once_per_day() -> None:
    once = OncePerDay()
    assert once.first_today(("acme", CM), at(2027, 5, 20, 1))
    assert not once.first_today(("acme", CM), at(2027, 5, 20, 23))
    assert once.first_today(("other", CM), at(2027, 5, 20, 23))
    assert once.first_today(("acme", CM), at(2027, 5, 21))
