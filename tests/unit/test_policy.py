"""decide(): the order of LinkedIn's rules, and the buckets an admitted call is charged to."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.policy.decide import Admit, Decision, Deny, call_name, decide
from gateway.quota.keys import bucket_key
from gateway.quota.model import BucketSpec, Window
from gateway.restli.methods import RestliMethod
from gateway.settings.model import QuotaOverride, UnmatchedRoutes
from tests.unit.policy_fixtures import (
    ADVERTISING,
    APP_NAME,
    AUDIENCE,
    CATALOG,
    COMMUNITY,
    LEAD_SYNC,
    MEMBER,
    app_config,
    request,
    route_match,
    token,
)

M = RestliMethod


@dataclass(frozen=True)
class Case:
    id: str
    route: str | None
    resource: str
    method: RestliMethod
    products: dict[str, str | None]
    scopes: frozenset[str]
    # A reason code for a denial, or the products an admitted call counts against.
    expect: str | tuple[str, ...]
    unmatched: UnmatchedRoutes = UnmatchedRoutes.DENY
    api: str = "rest"


def _decide(case: Case) -> Decision:
    return decide(
        request(case.method, case.resource, api=case.api),
        route_match(case.route) if case.route else None,
        token(case.scopes),
        app_config(case.products),
        CATALOG,
        case.unmatched,
    )


CASES = [
    Case("cm-finder", "posts", "posts", M.FINDER, {COMMUNITY: None},
         frozenset({"r_organization_social"}), (COMMUNITY,)),
    Case("no-product", "posts", "posts", M.FINDER, {ADVERTISING: None},
         frozenset({"r_organization_social"}), "product_not_approved"),
    Case("product-checked-before-scope", "posts", "posts", M.FINDER, {ADVERTISING: None},
         frozenset(), "product_not_approved"),
    Case("no-scope", "posts", "posts", M.FINDER, {COMMUNITY: None},
         frozenset({"r_ads"}), "insufficient_scope"),
    Case("scope-of-unapproved-product", "dashboards", "dashboards", M.GET, {COMMUNITY: None},
         frozenset({"r_ads"}), "insufficient_scope"),
    Case("counts-only-the-granting-product", "dashboards", "dashboards", M.GET,
         {COMMUNITY: None, ADVERTISING: None}, frozenset({"r_ads"}), (ADVERTISING,)),
    Case("cm-development-batch-get", "posts", "posts", M.BATCH_GET, {COMMUNITY: None},
         frozenset({"r_organization_social"}), "batch_get_forbidden"),
    Case("cm-development-explicit-batch-get", "posts", "posts", M.BATCH_GET,
         {COMMUNITY: "development"}, frozenset({"r_organization_social"}), "batch_get_forbidden"),
    Case("cm-standard-batch-get", "posts", "posts", M.BATCH_GET, {COMMUNITY: "standard"},
         frozenset({"r_organization_social"}), (COMMUNITY,)),
    Case("scope-checked-before-batch-get", "posts", "posts", M.BATCH_GET, {COMMUNITY: None},
         frozenset(), "insufficient_scope"),
    Case("advertising-development-batch-get", "adAccounts", "adAccounts", M.BATCH_GET,
         {ADVERTISING: None}, frozenset({"rw_ads"}), (ADVERTISING,)),
    Case("openid-needs-no-product", "userinfo", "userinfo", M.GET, {COMMUNITY: None},
         frozenset({"openid"}), (COMMUNITY,), api="v2"),
    Case("openid-needs-the-scope", "userinfo", "userinfo", M.GET, {COMMUNITY: None},
         frozenset({"r_organization_social"}), "insufficient_scope", api="v2"),
    Case("app-level-product-no-scope", "targetingAudienceInsights", "targetingAudienceInsights",
         M.ACTION, {ADVERTISING: None, AUDIENCE: None}, frozenset(), (AUDIENCE,)),
    Case("app-level-product-missing", "targetingAudienceInsights", "targetingAudienceInsights",
         M.ACTION, {ADVERTISING: None}, frozenset({"r_ads"}), "product_not_approved"),
    Case("app-level-prerequisite-missing", "targetingAudienceInsights",
         "targetingAudienceInsights", M.ACTION, {AUDIENCE: None}, frozenset(),
         "product_not_approved"),
    Case("unmatched-deny", None, "somethingNew", M.GET, {COMMUNITY: None},
         frozenset({"r_organization_social"}), "route_not_in_catalog"),
    Case("unmatched-forward-counts-every-product", None, "somethingNew", M.GET,
         {COMMUNITY: None, ADVERTISING: None}, frozenset(), (COMMUNITY, ADVERTISING),
         unmatched=UnmatchedRoutes.FORWARD),
    Case("unmatched-forward-batch-get", None, "somethingNew", M.BATCH_GET, {COMMUNITY: None},
         frozenset(), "batch_get_forbidden", unmatched=UnmatchedRoutes.FORWARD),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide(case: Case) -> None:
    decision = _decide(case)
    if isinstance(case.expect, str):
        assert isinstance(decision, Deny), decision
        assert decision.refusal.reason == case.expect
    else:
        assert isinstance(decision, Admit), decision
        assert decision.products == case.expect
        assert (decision.match is None) == (case.route is None)


# Every policy denial is LinkedIn's 403 ACCESS_DENIED (serviceErrorCode 100).
@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.expect, str)], ids=str)
def test_denials_have_linkedin_shape(case: Case) -> None:
    decision = _decide(case)
    assert isinstance(decision, Deny)
    body = decision.refusal.body()
    assert body == {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": decision.refusal.message,
    }


def _deny(case_id: str) -> Deny:
    decision = _decide(next(c for c in CASES if c.id == case_id))
    assert isinstance(decision, Deny)
    return decision


def test_product_not_approved_message_names_app_call_and_products() -> None:
    message = _deny("no-product").refusal.message
    assert APP_NAME in message
    assert "posts.FINDER.202405" in message
    assert "Community Management API" in message


def test_missing_prerequisite_is_named() -> None:
    message = _deny("app-level-prerequisite-missing").refusal.message
    assert "Audience Insights is approved but requires Advertising API" in message


def test_insufficient_scope_message_follows_linkedin_wording() -> None:
    refusal = _deny("scope-of-unapproved-product").refusal
    assert refusal.message.startswith("Not enough permissions to access: dashboards.GET.202405")
    assert "r_organization_social (granted by Community Management API)" in refusal.message
    assert "r_ads (granted by Advertising API)" in refusal.message
    assert refusal.headers["WWW-Authenticate"] == (
        'Bearer realm="linkedin-gateway", error="insufficient_scope", '
        'scope="r_organization_social r_ads"'
    )


def test_insufficient_scope_names_scopes_no_product_grants() -> None:
    assert "openid (no product needed)" in _deny("openid-needs-the-scope").refusal.message


def test_batch_get_message_names_product_and_tier() -> None:
    message = _deny("cm-development-batch-get").refusal.message
    assert "BATCH_GET" in message
    assert "Development tier of Community Management API" in message


def test_unmatched_deny_names_the_path() -> None:
    assert "/rest/somethingNew" in _deny("unmatched-deny").refusal.message


@pytest.mark.parametrize(
    ("version", "expected"), [("202405", "posts.FINDER.202405"), (None, "posts.FINDER.NO_VERSION")]
)
def test_call_name(version: str | None, expected: str) -> None:
    assert call_name("posts", request(M.FINDER, "posts", version=version)) == expected


# --- buckets -------------------------------------------------------------------------------

APP_KEY = bucket_key(APP_NAME, "app")
MEMBER_KEY = bucket_key(APP_NAME, "member", MEMBER)
UNLIMITED = (
    BucketSpec("app", APP_KEY, None, Window.UTC_DAY),
    BucketSpec("member", MEMBER_KEY, None, Window.UTC_DAY),
)


@dataclass(frozen=True)
class BucketCase:
    id: str
    route: str | None
    products: dict[str, str | None]
    scopes: frozenset[str]
    quotas: QuotaOverride | None
    expect: tuple[BucketSpec, ...]


def _limited(app: int | None, member: int | None, window: Window) -> tuple[BucketSpec, ...]:
    return (
        BucketSpec("app", APP_KEY, app, window),
        BucketSpec("member", MEMBER_KEY, member, window),
    )


BUCKET_CASES = [
    BucketCase("cm-development", "posts", {COMMUNITY: None},
               frozenset({"r_organization_social"}), None, _limited(100, 10, Window.UTC_DAY)),
    BucketCase("cm-standard-counted-unlimited", "posts", {COMMUNITY: "standard"},
               frozenset({"r_organization_social"}), None, UNLIMITED),
    BucketCase("advertising-has-no-quota", "adAccounts", {ADVERTISING: None},
               frozenset({"r_ads"}), None, UNLIMITED),
    BucketCase("quota-of-a-product-not-used", "dashboards", {COMMUNITY: None, ADVERTISING: None},
               frozenset({"r_ads"}), None, UNLIMITED),
    BucketCase("smallest-of-two-limited-tiers", "organizationAcls",
               {COMMUNITY: None, LEAD_SYNC: None}, frozenset({"r_organization_admin"}), None,
               _limited(50, 10, Window.ROLLING_24H)),
    BucketCase("override-numbers", "posts", {COMMUNITY: None},
               frozenset({"r_organization_social"}), QuotaOverride(500, 100, None),
               _limited(500, 100, Window.UTC_DAY)),
    BucketCase("override-member-and-window", "posts", {COMMUNITY: None},
               frozenset({"r_organization_social"}),
               QuotaOverride(None, 3, Window.ROLLING_24H), _limited(100, 3, Window.ROLLING_24H)),
    BucketCase("override-applies-on-standard-tier", "posts", {COMMUNITY: "standard"},
               frozenset({"r_organization_social"}), QuotaOverride(5, 1, None),
               _limited(5, 1, Window.UTC_DAY)),
    BucketCase("openid-counts-against-the-apps-quota", "userinfo", {COMMUNITY: None},
               frozenset({"openid"}), None, _limited(100, 10, Window.UTC_DAY)),
    BucketCase("unmatched-forward-gets-development-quota", None,
               {COMMUNITY: None, ADVERTISING: "standard"}, frozenset(), None,
               _limited(100, 10, Window.UTC_DAY)),
]  # fmt: skip


@pytest.mark.parametrize("case", BUCKET_CASES, ids=[c.id for c in BUCKET_CASES])
def test_buckets(case: BucketCase) -> None:
    decision = decide(
        request(M.GET, case.route or "somethingNew"),
        route_match(case.route) if case.route else None,
        token(case.scopes),
        app_config(case.products, case.quotas),
        CATALOG,
        UnmatchedRoutes.FORWARD,
    )
    assert isinstance(decision, Admit), decision
    assert decision.buckets == case.expect


@pytest.mark.parametrize("member", [None, MEMBER])
def test_member_bucket_only_for_a_known_member(member: str | None) -> None:
    decision = decide(
        request(M.FINDER, "posts"),
        route_match("posts"),
        token({"r_organization_social"}, member=member),
        app_config({COMMUNITY: None}),
        CATALOG,
        UnmatchedRoutes.DENY,
    )
    assert isinstance(decision, Admit)
    assert [b.name for b in decision.buckets] == (["app"] if member is None else ["app", "member"])
    assert decision.buckets[0] == BucketSpec("app", APP_KEY, 100, Window.UTC_DAY)
