"""Limits learned from LinkedIn's own 429s. The parsing and the refusal are pure.

LinkedIn keeps daily counters per application and per member per application, reset at
00:00 UTC, and answers a call over one of them with 429, serviceErrorCode 101 and a message
naming the counter and the window (linkedin-facts §2)::

    Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is reached.

Retrying before midnight only burns calls. So once LinkedIn says so, the gateway answers the
next calls to that resource (of that member, for the member counter) itself until 00:00 UTC.
The mark is per resource because LinkedIn's throttle is ("for calls to this resource"): a
Standard-tier endpoint limit must not stop the app's calls to every other endpoint.
"""

from __future__ import annotations

import json
import re

from gateway.errors import Refusal
from gateway.quota.headers import seconds_until
from gateway.quota.keys import next_utc_midnight, utc_day
from gateway.restli.facts import RequestFacts
from gateway.usage.ledger import LearnedMark

APPLICATION = "APPLICATION"
APPLICATION_AND_MEMBER = "APPLICATION_AND_MEMBER"
THROTTLE_CODE = 101
_THROTTLE = re.compile(r"\b(APPLICATION_AND_MEMBER|APPLICATION)\s+DAY\b")
# Marks one process keeps per day, at most: each needs a real 429 from LinkedIn, yet the
# resource comes from the caller's path, so the map must not grow without end.
MAX_MARKS = 10_000
REASONS = {APPLICATION: "learned_app_limit", APPLICATION_AND_MEMBER: "learned_member_limit"}


def throttled_counter(status: int, body: bytes) -> str | None:
    """The daily counter a LinkedIn 429 body names, or None when it names none (another
    429, another window, a body that is not LinkedIn's error shape)."""
    if status != 429:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("serviceErrorCode") != THROTTLE_CODE:
        return None
    message = document.get("message")
    if not isinstance(message, str):
        return None
    found = _THROTTLE.search(message)
    return found.group(1) if found else None


def resource_of(facts: RequestFacts) -> str:
    """The resource LinkedIn counts a call under: ``rest/adAnalytics``, ``v2/me``."""
    return f"{facts.api}/{facts.segments[0]}" if facts.segments else facts.api


def learned_refusal(mark: LearnedMark, now: float) -> Refusal:
    """The 429 the gateway answers instead of forwarding a call LinkedIn would throttle."""
    reset = next_utc_midnight(now)
    return Refusal(
        status=429,
        reason=REASONS[mark.counter],
        code="TOO_MANY_REQUESTS",
        message=(
            f"Resource level throttle {mark.counter} DAY limit for calls to this resource is "
            "reached. (LinkedIn said so earlier today; the gateway answers until 00:00 UTC.)"
        ),
        service_error_code=THROTTLE_CODE,
        headers={"Retry-After": str(seconds_until(reset, now))},
    )


class LearnedLimits:
    """Today's marks of every app, in this process: looked up on the request path without
    I/O, filled by this process's learning and by the ledger's marks from other replicas."""

    def __init__(self) -> None:
        self._day = -1
        self._marks: dict[tuple[str, str, str, str], LearnedMark] = {}

    def add(self, app: str, mark: LearnedMark, now: float) -> bool:
        """Remember ``mark`` if it is of today; True when it was not known yet."""
        self._roll(now)
        if utc_day(mark.learned_at) != self._day:
            return False
        key = (app, mark.counter, mark.resource, mark.member or "")
        if key in self._marks or len(self._marks) >= MAX_MARKS:
            return False
        self._marks[key] = mark
        return True

    def find(self, app: str, member: str | None, resource: str, now: float) -> LearnedMark | None:
        """The mark that stops this call: the app's counter first, then the member's."""
        self._roll(now)
        if not self._marks:
            return None
        found = self._marks.get((app, APPLICATION, resource, ""))
        if found is None and member is not None:
            found = self._marks.get((app, APPLICATION_AND_MEMBER, resource, member))
        return found

    def of_app(self, app: str, now: float) -> list[LearnedMark]:
        self._roll(now)
        marks = [mark for key, mark in self._marks.items() if key[0] == app]
        return sorted(marks, key=lambda m: (m.learned_at, m.resource))

    def _roll(self, now: float) -> None:
        day = utc_day(now)
        if day != self._day:
            self._day = day
            self._marks.clear()
