"""Route matching against the shipped catalog and a small one built for specificity."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.catalog.loader import load_catalog, parse_catalog
from gateway.catalog.model import Catalog
from gateway.catalog.routes import (
    MethodNotServed,
    build_route_index,
    match_route,
    resolve_route,
    rule_products,
)
from gateway.restli.methods import RestliMethod as M

SUB = (
    "(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,user:urn%3Ali%3Aperson%3Aa,"
    "entity:urn%3Ali%3Aorganization%3A2,eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)"
)


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog()


SPECIFIC = """
versions: {sunset_through: "202304"}
roles: {organization: [ADMINISTRATOR]}
products:
  p:
    title: P
    availability: all
    how_to_request: apply
    permissions: [r_p, w_p]
    app_level: false
    requires: []
    tiers: []
    default_tier: null
permissions:
  r_p: {description: read, type: member, products: [p]}
  w_p: {description: write, type: member, products: [p]}
tiers: []
routes:
  - pattern: /rest/things/{thing}
    rules:
      - {methods: [READ], permissions: [r_p]}
      - {methods: [WRITE], permissions: [w_p]}
  - pattern: /rest/things/special
    rules:
      - {methods: [GET], permissions: [r_p]}
  - pattern: /rest/{kind}/b
    rules:
      - {methods: [GET], permissions: [r_p]}
  - pattern: /rest/a/{x}
    rules:
      - {methods: [GET], permissions: [w_p]}
  - pattern: /rest/{kind}/{id}/c
    rules:
      - {methods: [GET], permissions: [r_p]}
"""


@pytest.fixture(scope="module")
def specific() -> Catalog:
    return parse_catalog(SPECIFIC, "specific.yaml")


# (api, segments, method) -> (pattern, params, permissions, app products, products) or None
Expected = tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...], tuple[str, ...]]

SHIPPED_CASES: list[tuple[tuple[str, list[str], M], Expected | None]] = [
    (
        ("rest", ["adAccounts"], M.FINDER),
        (
            "/rest/adAccounts",
            {},
            ("r_ads", "rw_ads"),
            (),
            ("advertising", "lead_sync", "conversions"),
        ),
    ),
    (
        ("rest", ["adAccounts"], M.CREATE),
        ("/rest/adAccounts", {}, ("rw_ads",), (), ("advertising",)),
    ),
    (
        ("rest", ["ADACCOUNTS", "123", "AdCampaigns"], M.CREATE),
        (
            "/rest/adAccounts/{account}/adCampaigns",
            {"account": "123"},
            ("rw_ads",),
            (),
            ("advertising",),
        ),
    ),
    (
        ("rest", ["adAccounts", "123", "adCampaigns", "9"], M.PARTIAL_UPDATE),
        (
            "/rest/adAccounts/{account}/adCampaigns/{campaign}",
            {"account": "123", "campaign": "9"},
            ("rw_ads",),
            (),
            ("advertising",),
        ),
    ),
    (
        ("rest", ["posts"], M.CREATE),
        (
            "/rest/posts",
            {},
            ("w_member_social", "w_organization_social"),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (
        ("rest", ["posts", "urn:li:share:1"], M.DELETE),
        (
            "/rest/posts/{post}",
            {"post": "urn:li:share:1"},
            ("w_member_social", "w_organization_social"),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (
        ("rest", ["posts", "urn:li:share:1"], M.GET),
        (
            "/rest/posts/{post}",
            {"post": "urn:li:share:1"},
            ("r_organization_social",),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (
        ("rest", ["eventSubscriptions", SUB], M.UPDATE),
        (
            "/rest/eventSubscriptions/{subscription}",
            {"subscription": SUB},
            ("rw_organization_admin",),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (("rest", ["eventSubscriptions", SUB], M.CREATE), None),
    (("rest", ["eventSubscriptions"], M.GET), None),
    (
        ("rest", ["reactions"], M.CREATE),
        (
            "/rest/reactions",
            {},
            ("w_organization_social_feed", "w_member_social_feed"),
            (),
            ("community_management",),
        ),
    ),
    (
        ("rest", ["socialActions", "urn:li:share:1", "comments"], M.CREATE),
        (
            "/rest/socialActions/{target}/comments",
            {"target": "urn:li:share:1"},
            (
                "w_organization_social",
                "w_member_social",
                "w_organization_social_feed",
                "w_member_social_feed",
            ),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (
        ("rest", ["leadFormResponses"], M.FINDER),
        (
            "/rest/leadFormResponses",
            {},
            ("r_marketing_leadgen_automation", "r_ads_leadgen_automation"),
            (),
            ("lead_sync",),
        ),
    ),
    (
        ("rest", ["images"], M.ACTION),
        (
            "/rest/images",
            {},
            (
                "w_member_social",
                "w_organization_social",
                "w_member_social_feed",
                "w_organization_social_feed",
            ),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (
        ("rest", ["events", "123"], M.GET),
        ("/rest/events/{event}", {"event": "123"}, ("r_events",), (), ("lead_sync",)),
    ),
    (("rest", ["events"], M.CREATE), None),
    (
        ("rest", ["conversionEvents"], M.BATCH_CREATE),
        (
            "/rest/conversionEvents",
            {},
            ("rw_conversions", "rw_offlineConversions"),
            (),
            ("conversions", "offline_conversions"),
        ),
    ),
    (
        ("rest", ["dmpSegments", "5", "users"], M.BATCH_CREATE),
        (
            "/rest/dmpSegments/{segment}/users",
            {"segment": "5"},
            ("rw_dmp_segments",),
            (),
            ("matched_audiences",),
        ),
    ),
    (
        ("rest", ["networkSizes", "urn:li:person:a"], M.GET),
        (
            "/rest/networkSizes/{entity}",
            {"entity": "urn:li:person:a"},
            ("r_1st_connections_size",),
            (),
            ("advertising", "community_management"),
        ),
    ),
    (
        ("rest", ["targetingAudienceInsights"], M.ACTION),
        ("/rest/targetingAudienceInsights", {}, (), ("audience_insights",), ("audience_insights",)),
    ),
    (
        ("rest", ["mediaPlanning"], M.ACTION),
        ("/rest/mediaPlanning", {}, (), ("media_planning",), ("media_planning",)),
    ),
    (("rest", ["targetingAudienceInsights"], M.GET), None),
    (
        ("rest", ["me"], M.GET),
        (
            "/rest/me",
            {},
            ("r_basicprofile", "r_liteprofile"),
            (),
            ("advertising", "lead_sync", "conversions", "community_management"),
        ),
    ),
    (
        ("V2", ["ME"], M.GET),
        (
            "/v2/me",
            {},
            ("r_basicprofile", "r_liteprofile"),
            (),
            ("advertising", "lead_sync", "conversions", "community_management"),
        ),
    ),
    (("v2", ["userinfo"], M.GET), ("/v2/userinfo", {}, ("openid",), (), ())),
    (
        ("v2", ["adAccountsV2", "7"], M.GET),
        (
            "/v2/adAccountsV2/{account}",
            {"account": "7"},
            ("r_ads", "rw_ads"),
            (),
            ("advertising", "lead_sync", "conversions"),
        ),
    ),
    (("v2", ["adAccounts"], M.GET), None),
    (("rest", ["posts", ""], M.GET), None),
    (("rest", ["unknownThing"], M.GET), None),
    (("rest", [], M.GET), None),
    (("graphql", ["posts"], M.GET), None),
]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [pytest.param(r, e, id="/".join([r[0], *r[1]]) + f" {r[2].value}") for r, e in SHIPPED_CASES],
)
def test_shipped_routes(
    shipped: Catalog,
    request_: tuple[str, list[str], M],
    expected: Expected | None,
) -> None:
    api, segments, method = request_
    found = match_route(shipped, api, segments, method)
    if expected is None:
        assert found is None
        return
    assert found is not None
    pattern, params, permissions, app_products, products = expected
    assert found.route.pattern == pattern
    assert dict(found.params) == params
    assert found.rule.permissions == permissions
    assert found.rule.app_products == app_products
    assert method in found.rule.methods
    assert found.products == products


@pytest.mark.parametrize(
    ("segments", "method", "pattern"),
    [
        (["things", "special"], M.GET, "/rest/things/special"),
        (["THINGS", "Special"], M.GET, "/rest/things/special"),
        (["things", "other"], M.GET, "/rest/things/{thing}"),
        (["things", "other"], M.DELETE, "/rest/things/{thing}"),
        # The most specific route has no DELETE rule; a less specific one is no fallback.
        (["things", "special"], M.DELETE, None),
        # Equal literal counts: the route whose literal comes first wins, wherever it is filed.
        (["a", "b"], M.GET, "/rest/a/{x}"),
        (["z", "b"], M.GET, "/rest/{kind}/b"),
        (["things", "b"], M.GET, "/rest/things/{thing}"),
        (["x", "y", "c"], M.GET, "/rest/{kind}/{id}/c"),
        (["x", "y", "d"], M.GET, None),
        (["things"], M.GET, None),
    ],
)
def test_most_specific_wins(
    specific: Catalog, segments: list[str], method: M, pattern: str | None
) -> None:
    found = match_route(specific, "rest", segments, method)
    assert (found.route.pattern if found else None) == pattern


def test_the_most_specific_route_names_a_method_it_does_not_serve(specific: Catalog) -> None:
    found = resolve_route(specific, "rest", ["things", "special"], M.DELETE)
    assert isinstance(found, MethodNotServed)
    assert found.route.pattern == "/rest/things/special"
    assert resolve_route(specific, "v2", ["things", "special"], M.GET) is None


def test_params_keep_the_request_spelling(specific: Catalog) -> None:
    found = match_route(specific, "rest", ["Things", "MiXeD%2C"], M.GET)
    assert found is not None
    assert dict(found.params) == {"thing": "MiXeD%2C"}


def test_matching_without_a_prebuilt_index(shipped: Catalog) -> None:
    bare = dataclasses.replace(shipped, route_index={})
    for segments in (["adAccounts", "1", "creatives"], ["posts"], ["me"]):
        with_index = match_route(shipped, "rest", segments, M.GET)
        without = match_route(bare, "rest", segments, M.GET)
        assert with_index is not None
        assert without == with_index


def test_index_orders_candidates_most_specific_first(specific: Catalog) -> None:
    index = build_route_index(specific)
    two = [entry.route.pattern for entry in index[("rest", 2)]]
    assert two == [
        "/rest/things/special",
        "/rest/things/{thing}",
        "/rest/a/{x}",
        "/rest/{kind}/b",
    ]


def test_rule_products_follow_catalog_order(shipped: Catalog) -> None:
    found = match_route(shipped, "rest", ["me"], M.GET)
    assert found is not None
    route = found.route
    products = rule_products(shipped, route.rules[0])
    order = list(shipped.products)
    assert list(products) == sorted(products, key=order.index)
    assert set(products) == {
        p for perm in route.rules[0].permissions for p in shipped.permissions[perm].products
    }


def test_every_shipped_route_matches_itself(shipped: Catalog) -> None:
    for route in shipped.routes:
        segments = [s if not s.startswith("{") else "key1" for s in route.segments]
        for rule in route.rules:
            for method in rule.methods:
                found = match_route(shipped, route.api, segments, method)
                assert found is not None, (route.pattern, method)
                assert found.route is route
                assert found.rule is rule
