"""The ``usage_alerts:`` section: when a bucket's near-limit events fire and where they go.

Keys (top level of gateway.yaml)::

    usage_alerts:
      thresholds: [75, 90, 100]              # percent of a bucket's limit, increasing
      webhook: https://ops.example/alerts    # optional: each event is POSTed here as JSON
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.settings.sections import read_section

Fail = Callable[[str, str], None]

DEFAULT_THRESHOLDS = (75, 90, 100)
USAGE_ALERT_DEFAULTS: dict[str, Any] = {"usage_alerts": None}
USAGE_ALERT_KEYS = frozenset({"thresholds", "webhook"})
_URL = re.compile(r"^https?://[^/?#\s]+(/[^#\s]*)?$")


@dataclass(frozen=True)
class UsageAlerts:
    """Percentages of a limit whose crossing is announced, and the URL told, if any."""

    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    webhook: str | None = None


def parse_usage_alerts(raw: Mapping[str, Any], fail: Fail) -> UsageAlerts:
    """Read ``usage_alerts`` of ``raw`` (the merged top level); problems go to ``fail``."""
    section = read_section(
        raw.get("usage_alerts"),
        "usage_alerts",
        USAGE_ALERT_KEYS,
        "must be a mapping with thresholds and/or webhook",
        fail,
    )
    if section is None:
        return UsageAlerts()
    thresholds = _thresholds(section.get("thresholds", list(DEFAULT_THRESHOLDS)), fail)
    webhook = section.get("webhook")
    if webhook is not None and not (isinstance(webhook, str) and _URL.match(webhook)):
        fail("usage_alerts.webhook", "must be an http(s) URL")
        webhook = None
    return UsageAlerts(thresholds, webhook)


def _thresholds(value: object, fail: Fail) -> tuple[int, ...]:
    path = "usage_alerts.thresholds"
    if not isinstance(value, list) or not value:
        fail(path, "must be a non-empty list of percentages, e.g. [75, 90, 100]")
        return DEFAULT_THRESHOLDS
    numbers: list[int] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 100:
            fail(f"{path}[{i}]", "must be a whole percentage from 1 to 100")
            return DEFAULT_THRESHOLDS
        numbers.append(item)
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        fail(path, "must be strictly increasing")
        return DEFAULT_THRESHOLDS
    return tuple(numbers)
