"""The Development tier's 12-month window. Pure: ``now`` is always a parameter.

Seed, Community Management Development tier: "Developers are expected to build core business
use cases ... within twelve (12) months of the provisioning." A product held at a tier with
``development_months`` and granted ``since`` a date has its window end at 00:00 UTC on the
same day ``development_months`` later (clamped to the month's last day: 2026-01-31 + 1 month
ends 2026-02-28). From ``NOTICE_DAYS`` before that end, responses carry a notice; from the
end on, the window is expired, and ``on_development_expiry: block`` refuses the calls that
only expired products authorize (403 ``development_tier_expired``).

The notice headers (documented in docs/rules.md):

* ``X-Gateway-Development-Expires: 2027-06-01`` — the earliest end among the app's products
  in their notice period (a plain ISO date, easy to alert on);
* ``X-Gateway-Development-Notice`` — a sentence per product, for humans;
* ``Sunset`` (RFC 8594, an HTTP-date) — only under ``block``, where the calls really stop.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

from gateway.catalog.grants import granted_tier
from gateway.catalog.model import Catalog
from gateway.errors import GatewayError, Refusal
from gateway.settings.model import AppConfig, OnDevelopmentExpiry

NOTICE_DAYS = 30
EXPIRES_HEADER = "X-Gateway-Development-Expires"
NOTICE_HEADER = "X-Gateway-Development-Notice"
SUNSET_HEADER = "Sunset"


@dataclass(frozen=True)
class ProductWindow:
    """Where one development-tier product stands at ``now``."""

    product: str
    tier_title: str
    since: date
    ends: date
    expired: bool


def add_months(start: date, months: int) -> date:
    """``start`` moved ``months`` calendar months on, clamped to the target month's length."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def window_end(since: date, months: int) -> date:
    """The first day outside the window: at 00:00 UTC of this day the window is over."""
    return add_months(since, months)


def in_notice(since: date, months: int, now: float, notice_days: int = NOTICE_DAYS) -> bool:
    """True from ``notice_days`` before the window's end (inclusive) onwards."""
    end = window_end(since, months)
    return now >= _midnight(end - timedelta(days=notice_days))


def is_expired(since: date, months: int, now: float) -> bool:
    """True from 00:00 UTC of the window's end day onwards."""
    return now >= _midnight(window_end(since, months))


def noticed_windows(app: AppConfig, catalog: Catalog, now: float) -> tuple[ProductWindow, ...]:
    """The app's development-tier products that are in their notice period or expired.

    Products without ``since``, or whose tier has no ``development_months``, have no window.
    """
    out: list[ProductWindow] = []
    for name, grant in app.products.items():
        tier = granted_tier(app, catalog, name)
        if tier is None or tier.development_months is None or grant.since is None:
            continue
        if not in_notice(grant.since, tier.development_months, now):
            continue
        out.append(
            ProductWindow(
                product=name,
                tier_title=tier.title,
                since=grant.since,
                ends=window_end(grant.since, tier.development_months),
                expired=is_expired(grant.since, tier.development_months, now),
            )
        )
    return tuple(out)


def notice_headers(windows: Iterable[ProductWindow], policy: OnDevelopmentExpiry) -> dict[str, str]:
    """The response headers announcing the windows; empty when there are none."""
    ordered = sorted(windows, key=lambda w: (w.ends, w.product))
    if not ordered:
        return {}
    sentences = []
    for window in ordered:
        verb = "ended" if window.expired else "ends"
        sentences.append(
            f"{window.tier_title} access ({window.product}, since {window.since.isoformat()}) "
            f"{verb} on {window.ends.isoformat()}; request the Standard tier"
        )
    headers = {EXPIRES_HEADER: ordered[0].ends.isoformat(), NOTICE_HEADER: ". ".join(sentences)}
    if policy is OnDevelopmentExpiry.BLOCK:
        first_end = datetime.fromtimestamp(_midnight(ordered[0].ends), tz=UTC)
        headers[SUNSET_HEADER] = format_datetime(first_end, usegmt=True)
    return headers


def check_expiry(
    windows: Iterable[ProductWindow],
    call_products: Iterable[str],
    policy: OnDevelopmentExpiry,
) -> None:
    """Raises GatewayError (403 ``development_tier_expired``) under ``block`` when every
    product authorizing the call has an expired window; a call some live product
    authorizes goes on."""
    if policy is not OnDevelopmentExpiry.BLOCK:
        return
    expired = {w.product: w for w in windows if w.expired}
    products = list(call_products)
    if not products or not all(p in expired for p in products):
        return
    shown = ", ".join(
        f"{expired[p].tier_title} (since {expired[p].since.isoformat()}, "
        f"ended {expired[p].ends.isoformat()})"
        for p in products
    )
    raise GatewayError(
        Refusal(
            status=403,
            reason="development_tier_expired",
            code="ACCESS_DENIED",
            message=(
                f"The Development tier window is over: {shown}. "
                "Request the Standard tier to continue"
            ),
            service_error_code=100,
        )
    )


class OncePerDay:
    """Remembers which keys were reported on which UTC day, so a log line is written once a
    day per key in this process. The caller passes ``now``; nothing here reads a clock."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, ...], int] = {}

    def first_today(self, key: tuple[str, ...], now: float) -> bool:
        day = int(now // 86400)
        if self._last.get(key) == day:
            return False
        self._last[key] = day
        return True
