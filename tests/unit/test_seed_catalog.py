"""The shipped catalog says what LinkedIn's "Increasing Access" page (the seed) says.

The seed is read and parsed here, both permission tables, so a catalog edit that drifts from
the page fails this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.catalog.loader import load_catalog
from gateway.catalog.model import Catalog
from gateway.quota.model import Window

SEED_NAME = "000_96fca427e1d7efbb.txt"

# The seed's product names (both tables and the notes) -> catalog ids.
SEED_PRODUCTS = {
    "Advertising API": "advertising",
    "Advertising": "advertising",
    "Matched Audiences": "matched_audiences",
    "Matched Audience": "matched_audiences",
    "Audience Insights": "audience_insights",
    "Media Planning": "media_planning",
    "Lead Sync API": "lead_sync",
    "Conversions API": "conversions",
    "Conversions": "conversions",
    "Community Management API": "community_management",
    "Community Management": "community_management",
    "Offline Conversions": "offline_conversions",
}
PERMISSION = re.compile(r"^(?:r|w|rw)_[A-Za-z0-9_]+$")
ROW_START = re.compile(r"^((?:r|w|rw)_[A-Za-z0-9_]+) (.*)$")
MEMBER_TYPE = "Member Permission (3-legged)"


# The page itself, kept with the tests so they run in any checkout (tests/data/README.md).
SEED_COPY = Path(__file__).resolve().parents[1] / "data" / "increasing-access.txt"


def _shared_seed() -> Path | None:
    # Where the project's shared folder sits next to the checkout, its seed is the original.
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "seed" / SEED_NAME
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    return [line.strip() for line in SEED_COPY.read_text(encoding="utf-8").splitlines()]


def test_the_kept_copy_is_the_seed() -> None:
    original = _shared_seed()
    if original is None:
        pytest.skip(f"no shared/seed/{SEED_NAME} beside this checkout to compare with")
    assert SEED_COPY.read_bytes() == original.read_bytes()


@pytest.fixture(scope="module")
def seed_text(seed_lines: list[str]) -> str:
    return " ".join(line for line in seed_lines if line)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _product_id(name: str) -> str:
    name = name.strip().rstrip(".").strip()
    assert name in SEED_PRODUCTS, f"seed product {name!r} has no catalog id"
    return SEED_PRODUCTS[name]


def _section(lines: list[str], start: str, stop: str | None) -> list[str]:
    begin = lines.index(start) + 1
    end = (
        next(i for i, line in enumerate(lines) if i > begin and line.startswith(stop))
        if stop
        else len(lines)
    )
    return [line for line in lines[begin:end] if line]


def first_table(lines: list[str]) -> dict[str, tuple[set[str], str]]:
    """Product id -> (permissions, row text) from "What permissions are available?"."""
    rows: dict[str, tuple[set[str], str]] = {}
    current: str | None = None
    for line in _section(lines, "What permissions are available?", "In addition to these"):
        head = re.match(r"^(.+?) Available to ", line)
        if head:
            current = _product_id(head.group(1))
            rows[current] = (set(), line)
            last = line.split()[-1]
            if PERMISSION.match(last):
                rows[current][0].add(last)
        elif current is not None and PERMISSION.match(line):
            rows[current][0].add(line)
    return rows


def second_table(lines: list[str]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """(permission -> product ids, permission -> description) from the full table."""
    products: dict[str, set[str]] = {}
    descriptions: dict[str, str] = {}
    current: str | None = None
    in_products = False
    for line in _section(lines, "API Products and Permissions", None):
        row = ROW_START.match(line)
        if row:
            current, rest = row.group(1), row.group(2)
            products.setdefault(current, set())
            descriptions.setdefault(current, rest.split(MEMBER_TYPE)[0].strip())
            in_products = False
            line = rest
        if current is None:
            continue
        if MEMBER_TYPE in line:
            in_products = True
            line = line.split(MEMBER_TYPE, 1)[1]
        elif not in_products:
            continue
        if line.strip():
            products[current].add(_product_id(line))
    return products, descriptions


@pytest.fixture(scope="module")
def seed_permissions(seed_lines: list[str]) -> dict[str, set[str]]:
    union: dict[str, set[str]] = {}
    for product, (perms, _) in first_table(seed_lines).items():
        for perm in perms:
            union.setdefault(perm, set()).add(product)
    for perm, products in second_table(seed_lines)[0].items():
        union.setdefault(perm, set()).update(products)
    return union


def test_parsers_see_both_tables(seed_lines: list[str]) -> None:
    # Guards the parsers themselves: facts the page states in each table alone.
    first = first_table(seed_lines)
    products, _ = second_table(seed_lines)
    assert first["lead_sync"][0] == {"r_marketing_leadgen_automation"}
    assert "w_organization_social_feed" in first["community_management"][0]
    assert "w_organization_social_feed" not in products
    assert products["r_ads"] == {"advertising", "lead_sync", "conversions"}
    assert products["rw_offlineConversions"] == {"offline_conversions"}


def test_every_seed_permission_has_exactly_the_seed_products(
    catalog: Catalog, seed_permissions: dict[str, set[str]]
) -> None:
    assert len(seed_permissions) >= 20
    for name, products in seed_permissions.items():
        assert name in catalog.permissions, name
        assert set(catalog.permissions[name].products) == products, name


def test_member_permissions_come_only_from_the_seed(
    catalog: Catalog, seed_permissions: dict[str, set[str]]
) -> None:
    member = {n for n, p in catalog.permissions.items() if p.type == "member"}
    assert member == set(seed_permissions)
    others = {n: p for n, p in catalog.permissions.items() if p.type != "member"}
    assert set(others) == {"openid", "profile", "email"}
    assert all(p.products == () and p.type == "openid" for p in others.values())


def test_products_list_the_permissions_that_name_them(
    catalog: Catalog, seed_permissions: dict[str, set[str]]
) -> None:
    for product in catalog.products.values():
        expected = {p for p, granted in seed_permissions.items() if product.name in granted}
        assert set(product.permissions) == expected, product.name


def test_the_eight_products(catalog: Catalog, seed_lines: list[str]) -> None:
    named = set(first_table(seed_lines))
    for products in second_table(seed_lines)[0].values():
        named |= products
    assert len(named) == 8
    assert set(catalog.products) == named


def test_availability_and_how_to_request_come_from_the_seed(
    catalog: Catalog, seed_lines: list[str]
) -> None:
    for product, (_, row) in first_table(seed_lines).items():
        entry = catalog.products[product]
        assert entry.availability in row, product
        assert entry.how_to_request.split(".")[0] in row, product


def test_app_level_products(catalog: Catalog, seed_lines: list[str]) -> None:
    app_level = {
        product
        for product, (_, row) in first_table(seed_lines).items()
        if "doesn't need to be additionally requested during token generation" in row
    }
    assert app_level == {"audience_insights", "media_planning"}
    assert {p.name for p in catalog.products.values() if p.app_level} == app_level
    assert all(not catalog.products[p].permissions for p in app_level)


def test_requires(catalog: Catalog, seed_text: str) -> None:
    note = re.search(r"Access to (.+?) is a mandatory requirement for utilizing (.+?)\.", seed_text)
    assert note is not None
    required = _product_id(note.group(1))
    dependants = {_product_id(name) for name in note.group(2).split(" and ")}
    assert dependants == {"matched_audiences", "audience_insights"}
    for product in catalog.products.values():
        expected = (required,) if product.name in dependants else ()
        assert product.requires == expected, product.name


def test_swapped_descriptions_are_put_right(catalog: Catalog, seed_lines: list[str]) -> None:
    _, seed = second_table(seed_lines)
    # The seed gives each of these two scopes the other's wording; the catalog swaps back.
    assert "events" in seed["r_ads_leadgen_automation"]
    assert catalog.permissions["r_events"].description == seed["r_ads_leadgen_automation"]
    assert catalog.permissions["r_ads_leadgen_automation"].description == seed["r_events"]


def test_tiers_are_the_seeds(catalog: Catalog, seed_lines: list[str]) -> None:
    rows = {
        (SEED_PRODUCTS[m.group(1)], m.group(2).lower())
        for line in seed_lines
        if (m := re.match(r"^(Advertising|Community Management) (Development|Standard) ", line))
    }
    assert len(rows) == 4
    assert set(catalog.tiers) == rows
    for product in {p for p, _ in rows}:
        assert set(catalog.products[product].tiers) == {t for p, t in rows if p == product}
    untiered = set(catalog.products) - {p for p, _ in rows}
    assert all(catalog.products[p].default_tier is None for p in untiered)


def test_default_tier_is_development(catalog: Catalog, seed_text: str) -> None:
    assert "All applications start with Development tier." in seed_text
    assert re.search(r"Community Management Development This is the default tier", seed_text)
    for product in ("advertising", "community_management"):
        assert catalog.products[product].default_tier == "development"


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, pattern
    return int(found.group(1))


def test_community_management_development_numbers(catalog: Catalog, seed_text: str) -> None:
    tier = catalog.tier("community_management", "development")
    assert tier.quota is not None
    assert tier.quota.app_per_window == _number(r"(\d+) API calls for an app for 24 hrs", seed_text)
    assert tier.quota.member_per_window == _number(r"(\d+) API calls per member", seed_text)
    assert (tier.quota.app_per_window, tier.quota.member_per_window) == (100, 10)
    # LinkedIn's daily counters reset at midnight UTC (API guide, "Rate limits").
    assert tier.quota.window is Window.UTC_DAY
    assert tier.development_months == _number(r"within twelve \((\d+)\) months", seed_text)


def test_community_management_flags(catalog: Catalog, seed_text: str) -> None:
    development = catalog.tier("community_management", "development")
    standard = catalog.tier("community_management", "standard")
    # The seed's cells are bullet lists: "All APIs with BATCH_GET: • No API calls allowed".
    batch = re.search(r"All APIs with BATCH_GET:[\s•]*(No API calls allowed)?", seed_text)
    pushes = re.search(r"Webhook for Social Actions[\s•]*(Push notifications disabled)?", seed_text)
    assert batch is not None
    assert pushes is not None
    assert development.batch_get is (batch.group(1) is None)
    assert development.social_action_webhooks is (pushes.group(1) is None)
    assert (development.batch_get, development.social_action_webhooks) == (False, False)
    assert re.search(r"Community Management Standard .*? No restrictions", seed_text)
    assert standard.quota is None
    assert standard.batch_get is True
    assert standard.social_action_webhooks is True


def test_advertising_tier_numbers(catalog: Catalog, seed_text: str) -> None:
    development = catalog.tier("advertising", "development").ad_accounts
    standard = catalog.tier("advertising", "standard").ad_accounts
    assert development is not None
    assert standard is not None
    assert development.test_account_creates == _number(r"create (\d+) test Ad Account", seed_text)
    assert development.editable_accounts == _number(r"up to (\d+) ad accounts", seed_text)
    assert development.real_account_creates is (
        "All real Ad Accounts must be created through the Campaign Manager" not in seed_text
    )
    assert development.read_unlimited is ("Read: No limits on reading data" in seed_text)
    assert "Create unlimited Ad Accounts" in seed_text
    assert standard.real_account_creates is True
    assert standard.test_account_creates is None
    assert standard.editable_accounts is None


def test_sunset_version(catalog: Catalog, seed_text: str) -> None:
    sunset = re.search(r"Marketing version (\d{6}) .*? has been sunset", seed_text)
    assert sunset is not None
    assert catalog.versions.sunset_through == sunset.group(1)
