"""What the usage page and ``/usage/{app}`` show of one app today, gathered in one place:
its buckets and its members' (one store round trip for all of them), the day's refusals by
reason, the limits learned from LinkedIn, and its Development windows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

from gateway.catalog.grants import granted_tier
from gateway.catalog.model import Catalog
from gateway.policy.development_window import is_expired, window_end
from gateway.quota.buckets import quota_buckets
from gateway.quota.headers import seconds_until
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, BucketState
from gateway.quota.route_limits import counted_window, find_catalog_route, route_bucket_name
from gateway.quota.store import QuotaStore
from gateway.settings.model import AppConfig
from gateway.usage.learned import REASONS
from gateway.usage.ledger import LearnedMark
from gateway.usage.recorder import SHADOW_PREFIX, Usage


@dataclass(frozen=True)
class BucketView:
    name: str
    member: str | None
    limit: int | None
    used: int
    window: str
    reset_at: float
    reset_in: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def percent(self) -> float | None:
        """Share of the limit used (may pass 100 in shadow mode); None when unlimited."""
        if self.limit is None:
            return None
        if self.limit == 0:
            return 100.0
        return 100.0 * self.used / self.limit

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "window": self.window,
            "reset_at": math.ceil(self.reset_at),
            "reset_in_seconds": self.reset_in,
        }


@dataclass(frozen=True)
class DevelopmentWindow:
    product: str
    tier: str
    since: date
    ends: date
    expired: bool
    days_left: int


@dataclass(frozen=True)
class AppUsage:
    app: str
    mode: str
    now: float
    app_buckets: tuple[BucketView, ...]
    members: tuple[BucketView, ...]
    members_total: int
    refusals: dict[str, int]
    shadow_refusals: dict[str, int]
    learned: tuple[LearnedMark, ...]
    development: tuple[DevelopmentWindow, ...]
    # The member a JSON caller asked about, counted today or not.
    asked: BucketView | None = None

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.now, tz=UTC).date().isoformat()

    def as_json(self, member: str | None = None) -> dict[str, object]:
        asked = [self.asked] if self.asked is not None and member else []
        return {
            "app": self.app,
            "mode": self.mode,
            "day": self.day,
            "member": member,
            "buckets": [b.as_json() for b in (*self.app_buckets, *asked)],
            "members": [{"member": b.member, "buckets": [b.as_json()]} for b in self.members],
            "members_total": self.members_total,
            "refusals": self.refusals,
            "shadow_refusals": self.shadow_refusals,
            "learned": [
                {
                    "counter": m.counter,
                    "reason": REASONS[m.counter],
                    "resource": m.resource,
                    "member": m.member,
                    "learned_at": _iso(m.learned_at),
                    "until": _iso((math.floor(m.learned_at / 86400) + 1) * 86400.0),
                }
                for m in self.learned
            ],
            "development": [
                {
                    "product": w.product,
                    "tier": w.tier,
                    "since": w.since.isoformat(),
                    "ends": w.ends.isoformat(),
                    "expired": w.expired,
                    "days_left": w.days_left,
                }
                for w in self.development
            ],
        }


async def app_usage(
    catalog: Catalog,
    usage: Usage,
    store: QuotaStore,
    app: AppConfig,
    now: float,
    member: str | None = None,
) -> AppUsage:
    """Where ``app`` stands at ``now``; ``member`` is shown even if it made no call today.
    Raises ``StoreError`` when the store cannot be read."""
    members, total = await usage.ledger.members(app.name, now)
    shown = (*members, member) if member is not None else members
    products = tuple(app.products)
    specs = [*quota_buckets(app, None, catalog, products), *route_app_buckets(app, catalog)]
    specs += [quota_buckets(app, m, catalog, products)[-1] for m in shown]
    states = await store.peek(specs, now)
    own = tuple(_view(s, None, now) for s in states[: len(states) - len(shown)])
    tail = [_view(s, m, now) for s, m in zip(states[len(own) :], shown, strict=True)]
    asked = tail.pop() if member is not None else None
    member_views = sorted(tail, key=lambda v: (-v.used, v.member or ""))
    counts = await usage.ledger.refusals(app.name, now)
    refusals = {k: v for k, v in counts.items() if not k.startswith(SHADOW_PREFIX)}
    shadow = {k.removeprefix(SHADOW_PREFIX): v for k, v in counts.items() if k not in refusals}
    return AppUsage(
        app=app.name,
        mode=app.mode.value,
        now=now,
        app_buckets=own,
        members=tuple(member_views),
        members_total=total,
        refusals=dict(sorted(refusals.items(), key=lambda kv: (-kv[1], kv[0]))),
        shadow_refusals=dict(sorted(shadow.items(), key=lambda kv: (-kv[1], kv[0]))),
        learned=tuple(usage.learned.of_app(app.name, now)),
        development=development_windows(app, catalog, now),
        asked=asked,
    )


def route_app_buckets(app: AppConfig, catalog: Catalog) -> list[BucketSpec]:
    """The app-wide bucket of each route limit with an app number (route_limits, any
    window), keyed and windowed as ``route_limits.route_buckets`` charges them."""
    out: list[BucketSpec] = []
    for limit in app.route_limits:
        route = find_catalog_route(catalog, limit.route)
        if route is None or limit.app_limit is None:
            continue
        name = route_bucket_name(route, limit.window)
        window = counted_window(app, limit)
        out.append(BucketSpec(name, bucket_key(app.name, name), limit.app_limit, window))
    return out


def development_windows(
    app: AppConfig, catalog: Catalog, now: float
) -> tuple[DevelopmentWindow, ...]:
    """Every Development-tier product of ``app`` with a ``since``, with its window's end."""
    out: list[DevelopmentWindow] = []
    today = datetime.fromtimestamp(now, tz=UTC).date()
    for name, grant in app.products.items():
        tier = granted_tier(app, catalog, name)
        if tier is None or tier.development_months is None or grant.since is None:
            continue
        ends = window_end(grant.since, tier.development_months)
        out.append(
            DevelopmentWindow(
                product=name,
                tier=tier.title,
                since=grant.since,
                ends=ends,
                expired=is_expired(grant.since, tier.development_months, now),
                days_left=max((ends - today).days, 0),
            )
        )
    return tuple(sorted(out, key=lambda w: (w.ends, w.product)))


def _view(state: BucketState, member: str | None, now: float) -> BucketView:
    return BucketView(
        name=state.spec.name,
        member=member,
        limit=state.spec.limit,
        used=state.used,
        window=state.spec.window.value,
        reset_at=state.reset_at,
        reset_in=seconds_until(state.reset_at, now),
    )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")
