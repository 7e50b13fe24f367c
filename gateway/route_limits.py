"""Per-route daily limits: the extra quota buckets of a call to a limited route. Pure.

LinkedIn's Standard-tier limits differ per endpoint and are published nowhere but the
developer portal's Analytics tab (API guide, "Rate limits"). An app may copy them into its
config (``apps.NAME.route_limits``); each becomes an app bucket ``route:<path>`` and a member
bucket ``route:<path>:member``, charged in the same single consume as the app and member
buckets, so a call is admitted only if every one of them has room.
"""

from __future__ import annotations

from gateway.catalog.checks import split_pattern
from gateway.catalog.model import Catalog, Route, RouteMatch
from gateway.catalog.routes import pattern_key
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.settings.model import AppConfig, RouteLimit

ROUTE_PREFIX = "route:"
MEMBER_SUFFIX = ":member"
MEMBER_BUCKET = "member"


def route_bucket_name(route: Route) -> str:
    """``route:adAnalytics`` for /rest/adAnalytics, ``route:v2/adAnalyticsV2`` for /v2/..."""
    path = "/".join(route.segments)
    return ROUTE_PREFIX + (path if route.api == "rest" else f"{route.api}/{path}")


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


def _limit_for(app: AppConfig, route: Route) -> RouteLimit | None:
    # The loader stores each limit under the catalog's own spelling of the pattern.
    return next((limit for limit in app.route_limits if limit.route == route.pattern), None)


def route_buckets(
    app: AppConfig, member: str | None, match: RouteMatch | None
) -> tuple[BucketSpec, ...]:
    """The route buckets a call is also charged to: none unless its route has limits.

    Days are UTC days, as LinkedIn's counters are, unless the app's quotas set a window.
    """
    if match is None or not app.route_limits:
        return ()
    limit = _limit_for(app, match.route)
    if limit is None:
        return ()
    window = Window.UTC_DAY
    if app.quotas is not None and app.quotas.window is not None:
        window = app.quotas.window
    name = route_bucket_name(match.route)
    buckets: list[BucketSpec] = []
    if limit.app_per_day is not None:
        buckets.append(BucketSpec(name, bucket_key(app.name, name), limit.app_per_day, window))
    if limit.member_per_day is not None and member is not None:
        member_name = name + MEMBER_SUFFIX
        key = bucket_key(app.name, member_name, member)
        buckets.append(BucketSpec(member_name, key, limit.member_per_day, window))
    return tuple(buckets)


ROUTE_LIMIT_KEYS = frozenset({"route", "app_per_day", "member_per_day"})


def read_route_limits(
    raw: object, path: str, catalog: Catalog
) -> tuple[tuple[RouteLimit, ...], list[tuple[str, str]]]:
    """Validate ``apps.NAME.route_limits``: the limits, and (key path, problem) pairs.

    Each entry names a catalog route pattern (once) and at least one whole number of calls.
    """
    problems: list[tuple[str, str]] = []
    if raw is None:
        return (), problems
    if not isinstance(raw, list):
        return (), [(path, "must be a list of {route, app_per_day, member_per_day}")]
    limits: list[RouteLimit] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict):
            problems.append((where, "must be a mapping {route, app_per_day, member_per_day}"))
            continue
        unknown = sorted(str(k) for k in entry if k not in ROUTE_LIMIT_KEYS)
        for key in unknown:
            allowed = ", ".join(sorted(ROUTE_LIMIT_KEYS))
            problems.append((f"{where}.{key}", f"unknown key (allowed: {allowed})"))
        pattern = entry.get("route")
        route = find_catalog_route(catalog, pattern) if isinstance(pattern, str) else None
        if route is None:
            problems.append(
                (f"{where}.route", f"{pattern!r} is not a route pattern of the catalog")
            )
        elif route.pattern in seen:
            problems.append((f"{where}.route", f"already limited at {path}[{seen[route.pattern]}]"))
        else:
            seen[route.pattern] = i
        numbers = _numbers(entry, where, problems)
        if numbers is not None and all(n is None for n in numbers):
            problems.append((where, "give app_per_day, member_per_day or both"))
        if route is not None and numbers is not None and not unknown:
            limits.append(RouteLimit(route.pattern, numbers[0], numbers[1]))
    return tuple(limits), problems


def _numbers(
    entry: dict[object, object], where: str, problems: list[tuple[str, str]]
) -> tuple[int | None, int | None] | None:
    out: list[int | None] = []
    ok = True
    for key in ("app_per_day", "member_per_day"):
        value = entry.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            problems.append((f"{where}.{key}", "must be a whole number of calls, 0 or more"))
            ok = False
            value = None
        out.append(value if isinstance(value, int) else None)
    return (out[0], out[1]) if ok else None
