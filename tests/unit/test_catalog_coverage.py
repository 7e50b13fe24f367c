"""Every permission of the seed opens catalogued endpoints, and every route cites its page."""

from __future__ import annotations

import pytest

from gateway.catalog.loader import load_catalog, read_catalog_text
from gateway.catalog.markdown import OPENID_CLAIMS, USERINFO, opens
from gateway.catalog.model import Catalog
from gateway.catalog.routes import match_route
from gateway.catalog.sources import route_sources
from gateway.restli.methods import RestliMethod as M
from tests.unit.test_seed_catalog import SEED_COPY, first_table, second_table


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def seed_scopes() -> set[str]:
    lines = [line.strip() for line in SEED_COPY.read_text(encoding="utf-8").splitlines()]
    scopes = set(second_table(lines)[0])
    for perms, _ in first_table(lines).values():
        scopes |= perms
    return scopes


def test_every_seed_permission_gates_a_route(catalog: Catalog, seed_scopes: set[str]) -> None:
    assert len(seed_scopes) == 21
    gated = {
        permission
        for route in catalog.routes
        for rule in route.rules
        for permission in rule.permissions
    }
    assert seed_scopes - gated == set()


def test_openid_claims_come_with_userinfo(catalog: Catalog) -> None:
    match = match_route(catalog, "v2", ["userinfo"], M.GET)
    assert match is not None and match.rule.permissions == ("openid",)
    for claim in OPENID_CLAIMS:
        assert claim in catalog.permissions
        assert opens(catalog, claim) == (USERINFO,)


def test_every_permission_of_the_catalog_opens_something(catalog: Catalog) -> None:
    assert [name for name in catalog.permissions if not opens(catalog, name)] == []


def test_every_product_authorizes_some_route(catalog: Catalog) -> None:
    authorizing = {
        product
        for route in catalog.routes
        for rule in route.rules
        for product in (
            *rule.app_products,
            *(g for p in rule.permissions for g in catalog.granting_products(p)),
        )
    }
    assert set(catalog.products) - authorizing == set()


# The resources issue 11 names for the eight products, with a method each must serve.
EXPECTED = [
    ("rest", ["posts"], M.CREATE),
    ("rest", ["socialActions", "urn:li:share:1", "comments"], M.CREATE),
    ("rest", ["reactions"], M.CREATE),
    ("rest", ["socialMetadata", "urn:li:share:1"], M.GET),
    ("rest", ["images"], M.ACTION),
    ("rest", ["videos"], M.ACTION),
    ("rest", ["documents"], M.ACTION),
    ("rest", ["images", "urn:li:image:1"], M.GET),
    ("rest", ["organizations", "1"], M.GET),
    ("rest", ["organizationalEntityFollowerStatistics"], M.FINDER),
    ("rest", ["organizationPageStatistics"], M.FINDER),
    ("rest", ["events"], M.FINDER),
    ("rest", ["events", "5"], M.GET),
    ("rest", ["eventSubscriptions", "(x:1)"], M.UPDATE),
    ("rest", ["organizationalEntityNotifications"], M.FINDER),
    ("rest", ["adAccounts"], M.FINDER),
    ("rest", ["adAccountUsers"], M.FINDER),
    ("rest", ["adAccounts", "1", "adCampaignGroups"], M.CREATE),
    ("rest", ["adAccounts", "1", "adCampaigns"], M.CREATE),
    ("rest", ["adAccounts", "1", "creatives"], M.CREATE),
    ("rest", ["adAnalytics"], M.FINDER),
    ("rest", ["adTargetingFacets"], M.GET_ALL),
    ("rest", ["adTargetingEntities"], M.FINDER),
    ("rest", ["adBudgetPricing"], M.FINDER),
    ("rest", ["adSupplyForecasts"], M.FINDER),
    ("rest", ["insightTags"], M.FINDER),
    ("rest", ["leadForms"], M.FINDER),
    ("rest", ["leadFormResponses"], M.FINDER),
    ("rest", ["leadNotifications"], M.CREATE),
    ("rest", ["conversions"], M.CREATE),
    ("rest", ["conversionEvents"], M.BATCH_CREATE),
    ("rest", ["dmpSegments"], M.CREATE),
    ("rest", ["targetingAudienceInsights"], M.ACTION),
    ("rest", ["mediaPlanning"], M.ACTION),
]


@pytest.mark.parametrize(
    ("api", "segments", "method"),
    [pytest.param(*case, id=f"{'/'.join(case[1])} {case[2].value}") for case in EXPECTED],
)
def test_the_issue_lists_are_catalogued(
    catalog: Catalog, api: str, segments: list[str], method: M
) -> None:
    assert match_route(catalog, api, segments, method) is not None


def test_offline_conversions_can_authorize_calls(catalog: Catalog) -> None:
    match = match_route(catalog, "rest", ["conversionEvents"], M.BATCH_CREATE)
    assert match is not None
    assert "rw_offlineConversions" in match.rule.permissions
    assert "offline_conversions" in match.products


def test_every_route_cites_its_page(catalog: Catalog) -> None:
    sources = route_sources(read_catalog_text())
    assert set(sources) == {route.pattern for route in catalog.routes}
    uncited = [pattern for pattern, source in sources.items() if "/" not in source]
    assert uncited == []
    assert all(
        source.split()[0].startswith(("marketing/", "shared/", "consumer/"))
        for source in sources.values()
    )
