"""Per-route limits: the extra quota buckets of a call to a limited route. Pure.

LinkedIn's Standard-tier limits differ per endpoint and are published nowhere but the
developer portal's Analytics tab (API guide, "Rate limits"); some endpoints are also
throttled per minute (the Conversions API publishes 600 requests per minute). An app copies
them into its config (``apps.NAME.route_limits``), one entry per route and window
(``minute``, ``hour`` or ``day``); each becomes an app bucket and a member bucket, charged in
the same single consume as the app and member buckets, so a call is admitted only if every
one of them has room:

    day     route:<path>           route:<path>:member
    hour    route:<path>:hour      route:<path>:hour:member
    minute  route:<path>:minute    route:<path>:minute:member
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.catalog.checks import split_pattern
from gateway.catalog.model import Catalog, Route, RouteMatch
from gateway.catalog.routes import pattern_key
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.settings.model import AppConfig, RouteLimit

ROUTE_PREFIX = "route:"
MEMBER_SUFFIX = ":member"
MEMBER_BUCKET = "member"

# Config spelling of each window -> how it is counted.
WINDOWS: Mapping[str, Window] = MappingProxyType(
    {"minute": Window.UTC_MINUTE, "hour": Window.UTC_HOUR, "day": Window.UTC_DAY}
)
_SUFFIX = {Window.UTC_MINUTE: ":minute", Window.UTC_HOUR: ":hour", Window.UTC_DAY: ""}


def route_bucket_name(route: Route, window: Window = Window.UTC_DAY) -> str:
    """``route:adAnalytics`` for /rest/adAnalytics, ``route:v2/adAnalyticsV2`` for /v2/...;
    ``route:conversionEvents:minute`` for a per-minute limit."""
    path = "/".join(route.segments)
    stem = ROUTE_PREFIX + (path if route.api == "rest" else f"{route.api}/{path}")
    return stem + _SUFFIX[window]


def is_member_bucket(name: str) -> bool:
    """True for buckets counted per member (LinkedIn's APPLICATION_AND_MEMBER counters)."""
    return name == MEMBER_BUCKET or (name.startswith(ROUTE_PREFIX) and name.endswith(MEMBER_SUFFIX))


def find_catalog_route(catalog: Catalog, pattern: str) -> Route | None:
    """The catalog route a configured pattern names; ``{name}``s may be spelled differently."""
    split = split_pattern(pattern)
    if isinstance(split, str):
        return None
    api, segments = split
    key = pattern_key(segments)
    for route in catalog.routes:
        if route.api == api and pattern_key(route.segments) == key:
            return route
    return None


def counted_window(app: AppConfig, limit: RouteLimit) -> Window:
    """The window ``limit`` is counted in: a daily limit follows the app's quotas window."""
    if limit.window is Window.UTC_DAY and app.quotas is not None and app.quotas.window is not None:
        return app.quotas.window
    return limit.window


def route_buckets(
    app: AppConfig, member: str | None, match: RouteMatch | None
) -> tuple[BucketSpec, ...]:
    """The route buckets a call is also charged to: none unless its route has limits.

    Daily limits count in UTC days, as LinkedIn's counters do, unless the app's quotas set
    a window; hourly and per-minute limits count in fixed UTC hours and minutes.
    """
    if match is None or not app.route_limits:
        return ()
    buckets: list[BucketSpec] = []
    for limit in app.route_limits:
        # The loader stores each limit under the catalog's own spelling of the pattern.
        if limit.route != match.route.pattern:
            continue
        window = counted_window(app, limit)
        name = route_bucket_name(match.route, limit.window)
        if limit.app_limit is not None:
            buckets.append(BucketSpec(name, bucket_key(app.name, name), limit.app_limit, window))
        if limit.member_limit is not None and member is not None:
            member_name = name + MEMBER_SUFFIX
            key = bucket_key(app.name, member_name, member)
            buckets.append(BucketSpec(member_name, key, limit.member_limit, window))
    return tuple(buckets)


ROUTE_LIMIT_KEYS = frozenset(
    {"route", "window", "app_per_window", "member_per_window", "app_per_day", "member_per_day"}
)
_SHAPE = "{route, window, app_per_window, member_per_window}"


def read_route_limits(
    raw: object, path: str, catalog: Catalog
) -> tuple[tuple[RouteLimit, ...], list[tuple[str, str]]]:
    """Validate ``apps.NAME.route_limits``: the limits, and (key path, problem) pairs.

    Each entry names a catalog route pattern, a ``window`` (``minute``, ``hour`` or
    ``day``, the default; each route once per window) and at least one whole number of
    calls: ``app_per_window`` / ``member_per_window`` (``app_per_day`` / ``member_per_day``
    say the same for a daily window).
    """
    problems: list[tuple[str, str]] = []
    if raw is None:
        return (), problems
    if not isinstance(raw, list):
        return (), [(path, f"must be a list of {_SHAPE}")]
    limits: list[RouteLimit] = []
    seen: dict[tuple[str, Window], int] = {}
    for i, entry in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict):
            problems.append((where, f"must be a mapping {_SHAPE}"))
            continue
        unknown = sorted(str(k) for k in entry if k not in ROUTE_LIMIT_KEYS)
        for key in unknown:
            allowed = ", ".join(sorted(ROUTE_LIMIT_KEYS))
            problems.append((f"{where}.{key}", f"unknown key (allowed: {allowed})"))
        window = _window(entry, where, problems)
        pattern = entry.get("route")
        route = find_catalog_route(catalog, pattern) if isinstance(pattern, str) else None
        if route is None:
            problems.append(
                (f"{where}.route", f"{pattern!r} is not a route pattern of the catalog")
            )
        elif window is not None and (route.pattern, window) in seen:
            earlier = seen[(route.pattern, window)]
            problems.append(
                (f"{where}.route", f"already limited in this window at {path}[{earlier}]")
            )
        elif window is not None:
            seen[(route.pattern, window)] = i
        numbers = _numbers(entry, where, window, problems)
        if numbers is not None and all(n is None for n in numbers):
            problems.append((where, "give app_per_window, member_per_window or both"))
        if route is not None and window is not None and numbers is not None and not unknown:
            limits.append(RouteLimit(route.pattern, numbers[0], numbers[1], window))
    return tuple(limits), problems


def _window(
    entry: dict[object, object], where: str, problems: list[tuple[str, str]]
) -> Window | None:
    raw = entry.get("window", "day")
    window = WINDOWS.get(raw) if isinstance(raw, str) else None
    if window is None:
        problems.append((f"{where}.window", f"must be one of {', '.join(WINDOWS)}, not {raw!r}"))
    return window


def _numbers(
    entry: dict[object, object],
    where: str,
    window: Window | None,
    problems: list[tuple[str, str]],
) -> tuple[int | None, int | None] | None:
    out: list[int | None] = []
    ok = True
    for who in ("app", "member"):
        general, daily = f"{who}_per_window", f"{who}_per_day"
        if general in entry and daily in entry:
            problems.append((f"{where}.{daily}", f"give {general} or {daily}, not both"))
            ok = False
        if daily in entry and window not in (None, Window.UTC_DAY):
            problems.append(
                (f"{where}.{daily}", f"a daily number with a shorter window: use {general}")
            )
            ok = False
        key = daily if daily in entry else general
        value = entry.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            problems.append((f"{where}.{key}", "must be a whole number of calls, 0 or more"))
            ok = False
            value = None
        out.append(value if isinstance(value, int) else None)
    return (out[0], out[1]) if ok else None
