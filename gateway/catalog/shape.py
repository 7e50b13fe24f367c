"""Pass 1 over catalog.yaml: its shape.

Unknown and missing keys, wrong types, values outside their set. What is read becomes a
draft; a field found broken is None in the draft, so pass 2 (``checks.py``) can skip it
instead of reporting the same mistake twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.catalog.model import AdAccountRules, QuotaRule, Tier
from gateway.errors import ConfigProblem
from gateway.quota.model import DAILY_WINDOWS, Window

PERMISSION_TYPES = ("member", "openid")

_TOP_KEYS = ("versions", "roles", "products", "permissions", "tiers", "routes")
_PRODUCT_KEYS = (
    "title",
    "availability",
    "how_to_request",
    "permissions",
    "app_level",
    "requires",
    "tiers",
    "default_tier",
)
_PERMISSION_KEYS = ("description", "type", "products")
_TIER_KEYS = (
    "product",
    "name",
    "title",
    "description",
    "quota",
    "batch_get",
    "social_action_webhooks",
    "ad_accounts",
    "development_months",
)
_QUOTA_KEYS = ("app_per_window", "member_per_window", "window")
_AD_ACCOUNT_KEYS = (
    "read_unlimited",
    "test_account_creates",
    "real_account_creates",
    "editable_accounts",
)
_RULE_KEYS = ("methods",)
_RULE_OPTIONAL = ("permissions", "app_products", "roles")
_VERSION_RE = re.compile(r"^\d{4}(0[1-9]|1[0-2])$")


class Problems:
    """Every problem found so far in one file, in the order found."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[ConfigProblem] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(ConfigProblem(self.source, path, message))


@dataclass(frozen=True)
class Ref:
    """A string from the document, with the key path it was read from."""

    value: str
    path: str


@dataclass(frozen=True)
class ProductDraft:
    name: str
    path: str
    title: str | None
    availability: str | None
    how_to_request: str | None
    permissions: tuple[Ref, ...] | None
    app_level: bool | None
    requires: tuple[Ref, ...] | None
    tiers: tuple[Ref, ...] | None
    # None: broken; a Ref whose value is "" stands for null.
    default_tier: Ref | None


@dataclass(frozen=True)
class PermissionDraft:
    name: str
    path: str
    description: str | None
    type: Ref | None
    products: tuple[Ref, ...] | None


@dataclass(frozen=True)
class TierDraft:
    path: str
    product: Ref | None
    name: Ref | None
    tier: Tier | None


@dataclass(frozen=True)
class RuleDraft:
    path: str
    methods: tuple[Ref, ...] | None
    permissions: tuple[Ref, ...] | None
    app_products: tuple[Ref, ...] | None
    roles: tuple[Ref, ...] | None


@dataclass(frozen=True)
class RouteDraft:
    path: str
    pattern: Ref | None
    rules: tuple[RuleDraft, ...] | None
    ad_account_scoped: bool = False


@dataclass(frozen=True)
class Draft:
    sunset_through: str | None
    roles: Mapping[str, tuple[Ref, ...]]
    products: tuple[ProductDraft, ...]
    permissions: tuple[PermissionDraft, ...]
    tiers: tuple[TierDraft, ...]
    routes: tuple[RouteDraft, ...]


def join_path(path: str, key: str) -> str:
    """``path.key``, or just ``key`` at the top level."""
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _mapping(
    value: object,
    path: str,
    problems: Problems,
    required: Iterable[str],
    optional: Iterable[str] = (),
    *,
    extensions: bool = False,
) -> dict[str, Any] | None:
    """The mapping at ``path`` with its keys checked, or None if it is not a mapping."""
    if not isinstance(value, dict):
        problems.add(path, f"expected a mapping, got {_kind(value)}")
        return None
    required = tuple(required)
    allowed = set(required) | set(optional)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            problems.add(path, f"key {key!r} is not a string")
        elif key in allowed:
            out[key] = item
        elif not (extensions and key.startswith("x-")):
            problems.add(join_path(path, key), "unknown key")
    for key in required:
        if key not in value:
            problems.add(join_path(path, key), "required key is missing")
    return out


def _named_entries(value: object, path: str, problems: Problems) -> list[tuple[str, str, object]]:
    """(name, path, body) for each entry of a mapping keyed by name."""
    if not isinstance(value, dict):
        problems.add(path, f"expected a mapping, got {_kind(value)}")
        return []
    out: list[tuple[str, str, object]] = []
    for key, body in value.items():
        if not isinstance(key, str) or not key:
            problems.add(path, f"key {key!r} is not a non-empty string")
            continue
        out.append((key, join_path(path, key), body))
    return out


def _entries(value: object, path: str, problems: Problems) -> list[tuple[str, object]]:
    """(path, item) for each item of a list."""
    if not isinstance(value, list):
        problems.add(path, f"expected a list, got {_kind(value)}")
        return []
    return [(f"{path}[{i}]", item) for i, item in enumerate(value)]


def _string(
    m: Mapping[str, Any], key: str, path: str, problems: Problems, *, empty_ok: bool = False
) -> str | None:
    if key not in m:
        return None
    value = m[key]
    where = join_path(path, key)
    if not isinstance(value, str):
        problems.add(where, f"expected a string, got {_kind(value)}")
        return None
    if not value.strip() and not empty_ok:
        problems.add(where, "must not be empty")
        return None
    return value


def _ref(m: Mapping[str, Any], key: str, path: str, problems: Problems) -> Ref | None:
    value = _string(m, key, path, problems)
    return None if value is None else Ref(value, join_path(path, key))


def _nullable_ref(m: Mapping[str, Any], key: str, path: str, problems: Problems) -> Ref | None:
    if key in m and m[key] is None:
        return Ref("", join_path(path, key))
    return _ref(m, key, path, problems)


def _bool(m: Mapping[str, Any], key: str, path: str, problems: Problems) -> bool | None:
    if key not in m:
        return None
    value = m[key]
    if not isinstance(value, bool):
        problems.add(join_path(path, key), f"expected true or false, got {_kind(value)}")
        return None
    return value


_BROKEN = -1


def _count(m: Mapping[str, Any], key: str, path: str, problems: Problems) -> int | None:
    """A non-negative integer or null (no limit); ``_BROKEN`` when neither."""
    if key not in m:
        return _BROKEN
    value = m[key]
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        problems.add(join_path(path, key), f"expected an integer or null, got {_kind(value)}")
        return _BROKEN
    if value < 0:
        problems.add(join_path(path, key), f"must not be negative, got {value}")
        return _BROKEN
    return value


def _refs(
    m: Mapping[str, Any], key: str, path: str, problems: Problems, *, default_empty: bool = False
) -> tuple[Ref, ...] | None:
    if key not in m:
        return () if default_empty else None
    where = join_path(path, key)
    items = _entries(m[key], where, problems)
    if not isinstance(m[key], list):
        return None
    out: list[Ref] = []
    broken = False
    for item_path, item in items:
        if isinstance(item, str) and item:
            out.append(Ref(item, item_path))
        else:
            problems.add(item_path, f"expected a non-empty string, got {_kind(item)}")
            broken = True
    return None if broken else tuple(out)


def read_shape(document: object, problems: Problems) -> Draft | None:
    """Check the parsed YAML's shape into ``problems``; None when it is not even a mapping.

    Top-level keys starting with ``x-`` are free-form (they hold YAML anchors).
    """
    top = _mapping(document, "", problems, _TOP_KEYS, extensions=True)
    if top is None:
        return None
    return Draft(
        sunset_through=_read_versions(top.get("versions"), problems) if "versions" in top else None,
        roles=_read_roles(top["roles"], problems) if "roles" in top else {},
        products=tuple(
            _read_product(name, path, body, problems)
            for name, path, body in _named_entries(top.get("products", {}), "products", problems)
        ),
        permissions=tuple(
            _read_permission(name, path, body, problems)
            for name, path, body in _named_entries(
                top.get("permissions", {}), "permissions", problems
            )
        ),
        tiers=tuple(
            _read_tier(path, body, problems)
            for path, body in _entries(top.get("tiers", []), "tiers", problems)
        ),
        routes=tuple(
            _read_route(path, body, problems)
            for path, body in _entries(top.get("routes", []), "routes", problems)
        ),
    )


def _read_versions(value: object, problems: Problems) -> str | None:
    m = _mapping(value, "versions", problems, ("sunset_through",))
    if m is None:
        return None
    sunset = _string(m, "sunset_through", "versions", problems)
    if sunset is not None and not _VERSION_RE.match(sunset):
        problems.add("versions.sunset_through", f"expected a YYYYMM version, got {sunset!r}")
        return None
    return sunset


def _read_roles(value: object, problems: Problems) -> dict[str, tuple[Ref, ...]]:
    out: dict[str, tuple[Ref, ...]] = {}
    for group, _path, body in _named_entries(value, "roles", problems):
        refs = _refs({group: body}, group, "roles", problems)
        if refs is not None:
            out[group] = refs
    return out


def _read_product(name: str, path: str, body: object, problems: Problems) -> ProductDraft:
    m = _mapping(body, path, problems, _PRODUCT_KEYS) or {}
    return ProductDraft(
        name=name,
        path=path,
        title=_string(m, "title", path, problems),
        availability=_string(m, "availability", path, problems),
        how_to_request=_string(m, "how_to_request", path, problems),
        permissions=_refs(m, "permissions", path, problems),
        app_level=_bool(m, "app_level", path, problems),
        requires=_refs(m, "requires", path, problems),
        tiers=_refs(m, "tiers", path, problems),
        default_tier=_nullable_ref(m, "default_tier", path, problems),
    )


def _read_permission(name: str, path: str, body: object, problems: Problems) -> PermissionDraft:
    m = _mapping(body, path, problems, _PERMISSION_KEYS) or {}
    kind = _ref(m, "type", path, problems)
    if kind is not None and kind.value not in PERMISSION_TYPES:
        problems.add(
            kind.path, f"expected one of {', '.join(PERMISSION_TYPES)}, got {kind.value!r}"
        )
        kind = None
    return PermissionDraft(
        name=name,
        path=path,
        description=_string(m, "description", path, problems),
        type=kind,
        products=_refs(m, "products", path, problems),
    )


def _read_quota(value: object, path: str, problems: Problems) -> QuotaRule | None:
    m = _mapping(value, path, problems, _QUOTA_KEYS)
    if m is None:
        return None
    app = _count(m, "app_per_window", path, problems)
    member = _count(m, "member_per_window", path, problems)
    window_name = _string(m, "window", path, problems)
    window: Window | None = None
    if window_name is not None:
        # A tier's quota is LinkedIn's daily counters: utc-day or rolling-24h only.
        daily = {w.value: w for w in Window if w in DAILY_WINDOWS}
        window = daily.get(window_name)
        if window is None:
            problems.add(
                join_path(path, "window"),
                f"expected one of {', '.join(daily)}, got {window_name!r}",
            )
    if window is None or app == _BROKEN or member == _BROKEN:
        return None
    return QuotaRule(app_per_window=app, member_per_window=member, window=window)


def _read_ad_accounts(value: object, path: str, problems: Problems) -> AdAccountRules | None:
    m = _mapping(value, path, problems, _AD_ACCOUNT_KEYS)
    if m is None:
        return None
    read_unlimited = _bool(m, "read_unlimited", path, problems)
    test_creates = _count(m, "test_account_creates", path, problems)
    real_creates = _bool(m, "real_account_creates", path, problems)
    editable = _count(m, "editable_accounts", path, problems)
    if read_unlimited is None or real_creates is None or _BROKEN in (test_creates, editable):
        return None
    return AdAccountRules(
        read_unlimited=read_unlimited,
        test_account_creates=test_creates,
        real_account_creates=real_creates,
        editable_accounts=editable,
    )


def _read_tier(path: str, body: object, problems: Problems) -> TierDraft:
    m = _mapping(body, path, problems, _TIER_KEYS)
    if m is None:
        return TierDraft(path, None, None, None)
    product = _ref(m, "product", path, problems)
    name = _ref(m, "name", path, problems)
    title = _string(m, "title", path, problems)
    description = _string(m, "description", path, problems)
    quota: QuotaRule | None = None
    quota_ok = "quota" in m
    if m.get("quota") is not None:
        quota = _read_quota(m["quota"], join_path(path, "quota"), problems)
        quota_ok = quota is not None
    ad_accounts: AdAccountRules | None = None
    ad_ok = "ad_accounts" in m
    if m.get("ad_accounts") is not None:
        ad_accounts = _read_ad_accounts(m["ad_accounts"], join_path(path, "ad_accounts"), problems)
        ad_ok = ad_accounts is not None
    batch_get = _bool(m, "batch_get", path, problems)
    webhooks = _bool(m, "social_action_webhooks", path, problems)
    months = _count(m, "development_months", path, problems)
    tier: Tier | None = None
    if (
        product is not None
        and name is not None
        and title is not None
        and description is not None
        and quota_ok
        and ad_ok
        and batch_get is not None
        and webhooks is not None
        and months != _BROKEN
    ):
        tier = Tier(
            product=product.value,
            name=name.value,
            title=title,
            description=description,
            quota=quota,
            batch_get=batch_get,
            social_action_webhooks=webhooks,
            ad_accounts=ad_accounts,
            development_months=months,
        )
    return TierDraft(path, product, name, tier)


def _read_rule(path: str, body: object, problems: Problems) -> RuleDraft:
    m = _mapping(body, path, problems, _RULE_KEYS, _RULE_OPTIONAL)
    if m is None:
        return RuleDraft(path, None, None, None, None)
    return RuleDraft(
        path=path,
        methods=_refs(m, "methods", path, problems),
        permissions=_refs(m, "permissions", path, problems, default_empty=True),
        app_products=_refs(m, "app_products", path, problems, default_empty=True),
        roles=_refs(m, "roles", path, problems, default_empty=True),
    )


def _read_route(path: str, body: object, problems: Problems) -> RouteDraft:
    m = _mapping(body, path, problems, ("pattern", "rules"), ("ad_account_scoped",))
    if m is None:
        return RouteDraft(path, None, None)
    rules: tuple[RuleDraft, ...] | None = None
    if "rules" in m:
        where = join_path(path, "rules")
        items = _entries(m["rules"], where, problems)
        if isinstance(m["rules"], list):
            rules = tuple(_read_rule(p, item, problems) for p, item in items)
    scoped = _bool(m, "ad_account_scoped", path, problems) or False
    return RouteDraft(path, _ref(m, "pattern", path, problems), rules, scoped)
