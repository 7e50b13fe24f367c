"""Per-route limits: config validation, the extra buckets, and how their refusal is named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.catalog.loader import load_catalog
from gateway.catalog.routes import match_route
from gateway.errors import ConfigError
from gateway.quota.buckets import quota_refusal
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Window
from gateway.quota.route_limits import (
    find_catalog_route,
    is_member_bucket,
    read_route_limits,
    route_bucket_name,
    route_buckets,
)
from gateway.restli.methods import RestliMethod
from gateway.settings.loader import load_settings
from gateway.settings.model import AppConfig, QuotaOverride, RouteLimit

CATALOG = load_catalog()
APP = AppConfig(
    name="acme",
    client_id="c",
    client_secret="s",
    products={},
    quotas=None,
    route_limits=(RouteLimit("/rest/adAnalytics", 5000, 500),),
)


@pytest.mark.parametrize(
    ("pattern", "found"),
    [
        ("/rest/adAnalytics", "/rest/adAnalytics"),
        ("/rest/adAccounts/{id}/adCampaigns", "/rest/adAccounts/{account}/adCampaigns"),
        ("/v2/adAnalyticsV2", "/v2/adAnalyticsV2"),
        ("/rest/adanalytics", "/rest/adAnalytics"),
        ("/rest/nothingHere", None),
        ("rest/adAnalytics", None),
        ("/rest/adAnalytics/", None),
    ],
)
def test_a_limit_names_a_catalog_route(pattern: str, found: str | None) -> None:
    route = find_catalog_route(CATALOG, pattern)
    assert (route.pattern if route else None) == found


def test_route_buckets_join_the_app_and_member_buckets_under_the_app_hash_tag() -> None:
    match = match_route(CATALOG, "rest", ("adAnalytics",), RestliMethod.FINDER)
    buckets = route_buckets(APP, "urn:li:person:m1", match)
    assert [(b.name, b.limit, b.window) for b in buckets] == [
        ("route:adAnalytics", 5000, Window.UTC_DAY),
        ("route:adAnalytics:member", 500, Window.UTC_DAY),
    ]
    assert all(b.key.startswith("lgw:{acme}:") for b in buckets)
    assert buckets[0].key != buckets[1].key


def test_route_buckets_follow_the_app_window_and_skip_what_is_not_set() -> None:
    app = replace(
        APP,
        quotas=QuotaOverride(None, None, Window.ROLLING_24H),
        route_limits=(RouteLimit("/rest/adAnalytics", None, 7),),
    )
    match = match_route(CATALOG, "rest", ("adAnalytics",), RestliMethod.FINDER)
    assert [(b.name, b.window) for b in route_buckets(app, "urn:li:person:m1", match)] == [
        ("route:adAnalytics:member", Window.ROLLING_24H)
    ]
    # No member known: no member bucket; another route, or no route: nothing.
    assert route_buckets(app, None, match) == ()
    other = match_route(CATALOG, "rest", ("adAccounts", "1"), RestliMethod.GET)
    assert route_buckets(APP, "urn:li:person:m1", other) == ()
    assert route_buckets(APP, "urn:li:person:m1", None) == ()


def test_bucket_names() -> None:
    v2 = find_catalog_route(CATALOG, "/v2/adAnalyticsV2")
    assert v2 is not None and route_bucket_name(v2) == "route:v2/adAnalyticsV2"
    assert [is_member_bucket(n) for n in ("app", "member", "route:x", "route:x:member")] == [
        False,
        True,
        False,
        True,
    ]


def _state(name: str, limit: int, used: int) -> BucketState:
    return BucketState(BucketSpec(name, f"k-{name}", limit, Window.UTC_DAY), used, 86400.0)


@pytest.mark.parametrize(
    ("exhausted", "reason", "counter"),
    [
        ("route:adAnalytics", "app_quota_exhausted", "APPLICATION DAY"),
        ("route:adAnalytics:member", "member_quota_exhausted", "APPLICATION_AND_MEMBER DAY"),
    ],
)
def test_a_route_bucket_refusal_names_linkedins_counter(
    exhausted: str, reason: str, counter: str
) -> None:
    states = (_state("app", 100, 1), _state(exhausted, 2, 2))
    refusal = quota_refusal(QuotaOutcome(False, states, (states[1].spec,), None), 0.0)
    assert refusal.reason == reason
    assert counter in refusal.message


@pytest.mark.parametrize(
    ("raw", "problems"),
    [
        (None, []),
        ([{"route": "/rest/adAnalytics", "app_per_day": 10}], []),
        ("x", [("p", "must be a list of {route, window, app_per_window, member_per_window}")]),
        (["x"], [("p[0]", "must be a mapping {route, window, app_per_window, member_per_window}")]),
        (
            [{"route": "/rest/nope", "app_per_day": 1}],
            [("p[0].route", "'/rest/nope' is not a route pattern of the catalog")],
        ),
        (
            [{"route": "/rest/adAnalytics"}],
            [("p[0]", "give app_per_window, member_per_window or both")],
        ),
        (
            [{"route": "/rest/adAnalytics", "app_per_day": -1}],
            [("p[0].app_per_day", "must be a whole number of calls, 0 or more")],
        ),
        (
            [{"route": "/rest/adAnalytics", "member_per_day": True}],
            [("p[0].member_per_day", "must be a whole number of calls, 0 or more")],
        ),
        (
            [{"route": "/rest/adAnalytics", "app_per_day": 1, "hourly": 2}],
            [
                (
                    "p[0].hourly",
                    "unknown key (allowed: app_per_day, app_per_window, member_per_day, "
                    "member_per_window, route, window)",
                )
            ],
        ),
        (
            [
                {"route": "/rest/adAnalytics", "app_per_day": 1},
                {"route": "/rest/adanalytics", "app_per_day": 2},
            ],
            [("p[1].route", "already limited in this window at p[0]")],
        ),
        (
            [
                {"route": "/rest/adAnalytics", "app_per_day": 1},
                {"route": "/rest/adAnalytics", "window": "minute", "app_per_window": 2},
                {"route": "/rest/adAnalytics", "window": "hour", "member_per_window": 3},
            ],
            [],
        ),
        (
            [{"route": "/rest/adAnalytics", "window": "second", "app_per_window": 1}],
            [("p[0].window", "must be one of minute, hour, day, not 'second'")],
        ),
        (
            [{"route": "/rest/adAnalytics", "window": "minute", "app_per_day": 1}],
            [("p[0].app_per_day", "a daily number with a shorter window: use app_per_window")],
        ),
        (
            [{"route": "/rest/adAnalytics", "app_per_day": 1, "app_per_window": 1}],
            [("p[0].app_per_day", "give app_per_window or app_per_day, not both")],
        ),
        (
            [
                {"route": "/rest/adAnalytics", "window": "minute", "app_per_window": 1},
                {"route": "/rest/adAnalytics", "window": "minute", "app_per_window": 2},
            ],
            [("p[1].route", "already limited in this window at p[0]")],
        ),
    ],
)
def test_route_limits_are_validated(raw: object, problems: list[tuple[str, str]]) -> None:
    limits, found = read_route_limits(raw, "p", CATALOG)
    assert found == problems
    if not problems and isinstance(raw, list) and len(raw) == 1:
        assert limits == (RouteLimit("/rest/adAnalytics", 10, None),)


def test_the_loader_reports_route_limit_problems_with_file_and_path(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        """\
apps:
  acme:
    client_id: c
    client_secret: s
    products: {advertising: {tier: standard}}
    route_limits:
      - {route: /rest/adAnalytics, app_per_day: 5000, member_per_day: 500}
      - {route: /rest/unknownThing, app_per_day: 1}
"""
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), environ={})
    assert [(p.file, p.path) for p in caught.value.problems] == [
        (str(path), "apps.acme.route_limits[1].route")
    ]
    path.write_text(
        path.read_text().replace("      - {route: /rest/unknownThing, app_per_day: 1}\n", "")
    )
    settings = load_settings(str(path), environ={})
    assert settings.apps["acme"].route_limits == (RouteLimit("/rest/adAnalytics", 5000, 500),)


def test_several_windows_on_one_route_each_get_their_buckets() -> None:
    raw = [
        {"route": "/rest/conversionEvents", "window": "minute", "app_per_window": 600},
        {"route": "/rest/conversionEvents", "window": "hour", "member_per_window": 50},
        {"route": "/rest/conversionEvents", "app_per_day": 100000},
    ]
    limits, problems = read_route_limits(raw, "p", CATALOG)
    assert problems == []
    app = replace(APP, route_limits=limits)
    match = match_route(CATALOG, "rest", ("conversionEvents",), RestliMethod.CREATE)
    buckets = route_buckets(app, "urn:li:person:m1", match)
    assert [(b.name, b.limit, b.window) for b in buckets] == [
        ("route:conversionEvents:minute", 600, Window.UTC_MINUTE),
        ("route:conversionEvents:hour:member", 50, Window.UTC_HOUR),
        ("route:conversionEvents", 100000, Window.UTC_DAY),
    ]
    assert is_member_bucket("route:conversionEvents:hour:member")
    assert not is_member_bucket("route:conversionEvents:minute")


def test_a_minute_refusal_says_minute_and_waits_for_the_minute() -> None:
    spec = BucketSpec("route:conversionEvents:minute", "k", 600, Window.UTC_MINUTE)
    now = 1_800_000_030.25  # 30.25 s into a UTC minute
    state = BucketState(spec, 600, 1_800_000_060.0)
    refusal = quota_refusal(QuotaOutcome(False, (state,), (spec,), None), now)
    assert refusal.status == 429
    assert "APPLICATION MINUTE limit" in refusal.message
    assert refusal.headers["Retry-After"] == "30"
    assert refusal.headers["RateLimit-Policy"] == '"route:conversionEvents:minute";q=600;w=60'
    assert refusal.headers["RateLimit"] == '"route:conversionEvents:minute";r=0;t=30'
