"""The readable rendering shows everything the catalog holds."""

from __future__ import annotations

import pytest

from gateway.catalog.loader import load_catalog
from gateway.catalog.model import Catalog
from gateway.catalog.render import render_catalog, render_methods
from gateway.restli.methods import READ_METHODS, WRITE_METHODS, RestliMethod


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def text(catalog: Catalog) -> str:
    return render_catalog(catalog)


def test_every_product_permission_tier_and_route_is_shown(catalog: Catalog, text: str) -> None:
    lines = text.splitlines()
    for product in catalog.products.values():
        assert f"  {product.name}: {product.title}" in lines
    for permission in catalog.permissions.values():
        assert f"  {permission.name} [{permission.type}]: {permission.description}" in lines
    for tier_product, tier_name in catalog.tiers:
        assert any(line.startswith(f"  {tier_product}/{tier_name}: ") for line in lines)
    for route in catalog.routes:
        assert f"  {route.pattern}" in lines


def test_sections_come_in_order(text: str) -> None:
    positions = [
        text.index(f"\n{title}\n") for title in ("Products", "Permissions", "Tiers", "Routes")
    ]
    assert positions == sorted(positions)


def test_tier_rules_are_spelled_out(text: str) -> None:
    assert "quota: 100 calls per app, 10 per member per app, window utc-day" in text
    assert "BATCH_GET: not allowed" in text
    assert "push notifications disabled" in text
    assert "test account creates 1" in text
    assert "editable accounts 5" in text
    assert "finish integration within 12 months" in text


def test_route_rules_are_spelled_out(text: str) -> None:
    lines = text.splitlines()
    at = lines.index("  /rest/eventSubscriptions/{subscription}")
    assert (
        lines[at + 1]
        == "    GET, UPDATE, DELETE -> any of rw_organization_admin  [roles: ADMINISTRATOR]"
    )
    at = lines.index("  /rest/targetingAudienceInsights")
    assert lines[at + 1] == "    ACTION -> app products audience_insights"
    assert "granted by: any application" in text


@pytest.mark.parametrize(
    ("methods", "shown"),
    [
        (READ_METHODS, "READ"),
        (WRITE_METHODS, "WRITE"),
        (READ_METHODS | WRITE_METHODS, "READ, WRITE"),
        (READ_METHODS | {RestliMethod.CREATE}, "READ, CREATE"),
        (frozenset({RestliMethod.DELETE, RestliMethod.GET}), "GET, DELETE"),
    ],
)
def test_render_methods(methods: frozenset[RestliMethod], shown: str) -> None:
    assert render_methods(methods) == shown
