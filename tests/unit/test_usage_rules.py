"""The pure parts of usage: threshold crossings, LinkedIn's quota 429, shadow counting,
the learned-limit registry and the usage_alerts config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Ticket, Window
from gateway.settings.loader import load_settings
from gateway.settings.model import AppMode
from gateway.usage.alerts import crossed, crossings, member_of
from gateway.usage.learned import LearnedLimits, learned_refusal, throttled_counter
from gateway.usage.ledger import LearnedMark
from gateway.usage.shadow import SHADOW_COUNT_LIMIT, counting_specs, shadow_outcome

NOW = 1_700_000_000.0  # 22:13:20 UTC, 6400 s before midnight
MIDNIGHT = 1_700_006_400.0
APP = BucketSpec("app", "lgw:{a}:app", 100, Window.UTC_DAY)
MEMBER = BucketSpec("member", "lgw:{a}:member:urn%3Ali%3Aperson%3Ax", 10, Window.UTC_DAY)
ROUTE_MEMBER = BucketSpec(
    "route:adAnalytics:member",
    "lgw:{a}:route%3AadAnalytics%3Amember:urn%3Ali%3Aperson%3Ay",
    5,
    Window.ROLLING_24H,
)
OPEN = BucketSpec("app", "lgw:{a}:app", None, Window.UTC_DAY)


@pytest.mark.parametrize(
    ("limit", "used", "expected"),
    [
        (10, 7, []),
        (10, 8, [75]),
        (10, 9, [90]),
        (10, 10, [100]),
        (10, 11, []),
        (100, 75, [75]),
        (100, 76, []),
        (100, 90, [90]),
        (100, 100, [100]),
        # One call can cross several thresholds on a small limit.
        (3, 3, [75, 90, 100]),
        (1, 1, [75, 90, 100]),
        (4, 3, [75]),
        (0, 1, []),
        (10, 0, []),
    ],
)
def test_a_threshold_is_crossed_by_exactly_one_call(
    limit: int, used: int, expected: list[int]
) -> None:
    assert crossed((75, 90, 100), limit, used) == expected


def test_crossing_every_count_once_from_zero_to_the_limit() -> None:
    for limit in range(1, 60):
        seen = [t for used in range(1, limit + 5) for t in crossed((75, 90, 100), limit, used)]
        assert seen == [75, 90, 100], limit


def test_events_name_the_bucket_member_and_day() -> None:
    states = [
        BucketState(APP, 50, MIDNIGHT),
        BucketState(MEMBER, 9, MIDNIGHT),
        BucketState(ROUTE_MEMBER, 5, NOW + 3600),
        BucketState(OPEN, 10**6, MIDNIGHT),
    ]
    events = crossings("a", states, (75, 90, 100), NOW)
    assert [(e.bucket, e.member, e.threshold) for e in events] == [
        ("member", "urn:li:person:x", 90),
        # 4 of 5 is 80 %, 5 of 5 is 100 %: the fifth call crosses 90 and 100 together.
        ("route:adAnalytics:member", "urn:li:person:y", 90),
        ("route:adAnalytics:member", "urn:li:person:y", 100),
    ]
    assert events[0].key.startswith("lgw:{a}:usage-alert:") and events[0].key.endswith(":90:d19675")
    assert "person" not in events[0].key
    assert len({e.key for e in events}) == 3
    payload = events[0].payload()
    assert payload["remaining"] == 1 and payload["reset_at"] == "2023-11-15T00:00:00Z"
    assert member_of(BucketState(APP, 1, MIDNIGHT)) is None


def body(status: int, code: int | None, message: object) -> bytes:
    document: dict[str, object] = {"status": status, "code": "TOO_MANY_REQUESTS"}
    if code is not None:
        document["serviceErrorCode"] = code
    document["message"] = message
    return json.dumps(document).encode()


LINKEDIN = "Resource level throttle {} DAY limit for calls to this resource is reached."


@pytest.mark.parametrize(
    ("status", "raw", "counter"),
    [
        (429, body(429, 101, LINKEDIN.format("APPLICATION")), "APPLICATION"),
        (
            429,
            body(429, 101, LINKEDIN.format("APPLICATION_AND_MEMBER")),
            "APPLICATION_AND_MEMBER",
        ),
        # Another window, another code, no message, not JSON, another status: nothing learned.
        (429, body(429, 101, "Resource level throttle APPLICATION MINUTE limit"), None),
        (429, body(429, 100, LINKEDIN.format("APPLICATION")), None),
        (429, body(429, None, LINKEDIN.format("APPLICATION")), None),
        (429, body(429, 101, 7), None),
        (429, b"Too Many Requests", None),
        (429, b"[1, 2]", None),
        (503, body(429, 101, LINKEDIN.format("APPLICATION")), None),
    ],
)
def test_linkedins_quota_429_names_its_counter(
    status: int, raw: bytes, counter: str | None
) -> None:
    assert throttled_counter(status, raw) == counter


def test_learned_marks_stop_their_resource_until_midnight() -> None:
    limits = LearnedLimits()
    app_mark = LearnedMark("APPLICATION", "rest/adAnalytics", None, NOW)
    member_mark = LearnedMark("APPLICATION_AND_MEMBER", "rest/posts", "urn:li:person:x", NOW)
    assert limits.add("a", app_mark, NOW) and limits.add("a", member_mark, NOW)
    assert not limits.add("a", app_mark, NOW + 1)
    assert limits.find("a", "urn:li:person:z", "rest/adAnalytics", NOW) == app_mark
    assert limits.find("a", None, "rest/adAnalytics", NOW) == app_mark
    assert limits.find("a", "urn:li:person:x", "rest/posts", NOW) == member_mark
    assert limits.find("a", "urn:li:person:z", "rest/posts", NOW) is None
    assert limits.find("a", "urn:li:person:x", "rest/organizationAcls", NOW) is None
    assert limits.find("b", "urn:li:person:x", "rest/posts", NOW) is None
    assert limits.find("a", "urn:li:person:x", "rest/posts", MIDNIGHT - 0.001) == member_mark
    assert limits.find("a", "urn:li:person:x", "rest/posts", MIDNIGHT) is None
    # Yesterday's mark from another replica is not taken in.
    assert not limits.add("a", app_mark, MIDNIGHT + 1)
    refusal = learned_refusal(member_mark, NOW)
    assert (refusal.status, refusal.reason, refusal.service_error_code) == (
        429,
        "learned_member_limit",
        101,
    )
    assert refusal.headers["Retry-After"] == "6400"
    assert "APPLICATION_AND_MEMBER DAY" in refusal.message


def test_shadow_counts_past_the_limit_and_names_what_enforcement_would_refuse() -> None:
    counted = counting_specs([APP, MEMBER, OPEN])
    assert [s.limit for s in counted] == [SHADOW_COUNT_LIMIT, SHADOW_COUNT_LIMIT, None]
    assert [(s.key, s.window) for s in counted] == [(s.key, s.window) for s in (APP, MEMBER, OPEN)]
    ticket = Ticket((("k", None),))
    raw = QuotaOutcome(
        admitted=True,
        states=(
            BucketState(counted[0], 40, MIDNIGHT),
            BucketState(counted[1], 11, MIDNIGHT),
            BucketState(counted[2], 10**6, MIDNIGHT),
        ),
        exhausted=(),
        ticket=ticket,
    )
    outcome = shadow_outcome(raw, [APP, MEMBER, OPEN])
    assert outcome.admitted and outcome.ticket == ticket
    assert outcome.exhausted == (MEMBER,)
    assert [s.spec for s in outcome.states] == [APP, MEMBER, OPEN]
    # The call that took the last slot (used == limit) is one enforcement admits too.
    at_limit = QuotaOutcome(True, (BucketState(counted[1], 10, MIDNIGHT),), (), ticket)
    assert shadow_outcome(at_limit, [MEMBER]).exhausted == ()


CONFIG = """
apps:
  a:
    client_id: c
    client_secret: s
    products: {{community_management: {{tier: development}}}}
    {mode}
{alerts}
"""


def load(tmp_path: Path, mode: str = "", alerts: str = "") -> object:
    path = tmp_path / "gateway.yaml"
    path.write_text(CONFIG.format(mode=mode, alerts=alerts))
    return load_settings(str(path), environ={})


def test_usage_alerts_and_mode_load(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "mode: shadow",
        "usage_alerts: {thresholds: [50, 100], webhook: 'http://127.0.0.1:9/alerts'}",
    )
    assert settings.apps["a"].mode is AppMode.SHADOW  # type: ignore[attr-defined]
    alerts = settings.usage_alerts  # type: ignore[attr-defined]
    assert alerts.thresholds == (50, 100) and alerts.webhook == "http://127.0.0.1:9/alerts"
    defaults = load(tmp_path)
    assert defaults.apps["a"].mode is AppMode.ENFORCE  # type: ignore[attr-defined]
    assert defaults.usage_alerts.thresholds == (75, 90, 100)  # type: ignore[attr-defined]
    assert defaults.usage_alerts.webhook is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("mode", "alerts", "path"),
    [
        ("mode: loud", "", "apps.a.mode"),
        ("", "usage_alerts: {thresholds: [90, 75]}", "usage_alerts.thresholds"),
        ("", "usage_alerts: {thresholds: [0, 50]}", "usage_alerts.thresholds[0]"),
        ("", "usage_alerts: {thresholds: [75, 101]}", "usage_alerts.thresholds[1]"),
        ("", "usage_alerts: {thresholds: []}", "usage_alerts.thresholds"),
        ("", "usage_alerts: {webhook: 'ftp://x'}", "usage_alerts.webhook"),
        ("", "usage_alerts: {treshold: [1]}", "usage_alerts.treshold"),
        ("", "usage_alerts: [75]", "usage_alerts"),
    ],
)
def test_bad_usage_config_names_its_path(tmp_path: Path, mode: str, alerts: str, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, mode, alerts)
    assert [p.path for p in caught.value.problems] == [path]
