"""Member roles: the entity a call names, the roles it needs, what a look-up returns."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from gateway.catalog.loader import load_catalog
from gateway.catalog.model import RouteMatch
from gateway.catalog.routes import match_route
from gateway.restli.classify import classify
from gateway.restli.facts import RequestFacts
from gateway.roles.rules import (
    AD_ACCOUNT,
    ORGANIZATION,
    Named,
    entities_named,
    json_body,
    role_kind,
    role_refusal,
    roles_from_elements,
)

CATALOG = load_catalog()
MEMBER = "urn:li:person:abc"
ORG1, ORG4 = "urn:li:organization:1", "urn:li:organization:4"
ACC1, ACC2 = "urn:li:sponsoredAccount:500001", "urn:li:sponsoredAccount:500002"
POSTER = ("ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER", "CONTENT_ADMINISTRATOR")
AD_WRITE = ("ACCOUNT_BILLING_ADMIN", "ACCOUNT_MANAGER", "CAMPAIGN_MANAGER")
AD_READ = (*AD_WRITE, "CREATIVE_MANAGER", "VIEWER")


def call(method: str, path: str, body: object = None) -> tuple[RequestFacts, RouteMatch]:
    facts = classify(method, path, CIMultiDict({"LinkedIn-Version": "202505"}), None)
    match = match_route(CATALOG, facts.api, facts.segments, facts.restli_method)
    assert match is not None, path
    return facts, match


@pytest.mark.parametrize(
    ("roles", "kind"),
    [
        (POSTER, ORGANIZATION),
        (AD_WRITE, AD_ACCOUNT),
        (("ADMINISTRATOR", "VIEWER"), None),
        ((), None),
    ],
)
def test_role_kind(roles: tuple[str, ...], kind: str | None) -> None:
    assert role_kind(roles, CATALOG) == kind


@pytest.mark.parametrize(
    ("method", "path", "body", "kind", "entities", "as_member"),
    [
        ("POST", "/rest/posts", {"author": ORG1}, ORGANIZATION, (ORG1,), False),
        ("POST", "/rest/posts", {"author": MEMBER}, ORGANIZATION, (), True),
        ("POST", "/rest/posts", {"author": MEMBER, "commentary": ORG4}, ORGANIZATION, (), True),
        (
            "POST",
            "/rest/posts/urn%3Ali%3Ashare%3A1",
            {"patch": {"$set": {"author": ORG4}}},
            ORGANIZATION,
            (ORG4,),
            False,
        ),
        (
            "GET",
            "/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A4",
            None,
            ORGANIZATION,
            (ORG4,),
            False,
        ),
        ("GET", "/rest/organizations/4", None, ORGANIZATION, (ORG4,), False),
        ("GET", "/rest/organizations?ids=List(1,4)", None, ORGANIZATION, (ORG1, ORG4), False),
        ("GET", "/rest/organizationAcls?q=roleAssignee", None, ORGANIZATION, (), False),
        (
            "PUT",
            "/rest/eventSubscriptions/(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
            "user:urn%3Ali%3Aperson%3Aabc,entity:urn%3Ali%3Aorganization%3A4,eventType:X)",
            {"webhook": "https://x"},
            ORGANIZATION,
            (ORG4,),
            False,
        ),
        ("POST", "/rest/adAccounts/500002/adCampaigns", {"name": "c"}, AD_ACCOUNT, (ACC2,), False),
        (
            "POST",
            "/rest/adAccounts/500001/adCampaigns",
            {"account": ACC2},
            AD_ACCOUNT,
            (ACC1, ACC2),
            False,
        ),
        (
            "GET",
            "/rest/adAnalytics?q=analytics&accounts=List(urn%3Ali%3AsponsoredAccount%3A500001)",
            None,
            AD_ACCOUNT,
            (ACC1,),
            False,
        ),
        ("GET", "/rest/adAccounts/%EF%BC%95", None, AD_ACCOUNT, (), False),
    ],
)
def test_entities_named(
    method: str,
    path: str,
    body: object,
    kind: str,
    entities: tuple[str, ...],
    as_member: bool,
) -> None:
    facts, match = call(method, path)
    document = json_body(json.dumps(body).encode()) if body is not None else None
    assert entities_named(facts, match, document, kind) == Named(entities, as_member)


@pytest.mark.parametrize("raw", [None, b"", b"nope", b"[1]", b"\xff"])
def test_json_body_only_reads_objects(raw: bytes | None) -> None:
    assert json_body(raw) is None


ADMIN_OF_1 = {ORG1: frozenset({"ADMINISTRATOR"})}
VIEWER_OF_2 = {ACC1: frozenset({"ACCOUNT_MANAGER"}), ACC2: frozenset({"VIEWER"})}


@pytest.mark.parametrize(
    ("kind", "needed", "named", "held", "refused_on"),
    [
        (ORGANIZATION, POSTER, Named((ORG1,), False), ADMIN_OF_1, None),
        (ORGANIZATION, POSTER, Named((ORG4,), False), ADMIN_OF_1, ORG4),
        (ORGANIZATION, POSTER, Named((ORG1, ORG4), False), ADMIN_OF_1, ORG4),
        (ORGANIZATION, POSTER, Named((), True), {}, None),
        (ORGANIZATION, POSTER, Named((), False), ADMIN_OF_1, None),
        (ORGANIZATION, POSTER, Named((), False), {}, "any organization"),
        (
            ORGANIZATION,
            POSTER,
            Named((), False),
            {ORG1: frozenset({"ANALYST"})},
            "any organization",
        ),
        (AD_ACCOUNT, AD_WRITE, Named((ACC2,), False), VIEWER_OF_2, ACC2),  # VIEWER is read-only
        (AD_ACCOUNT, AD_READ, Named((ACC2,), False), VIEWER_OF_2, None),
        (AD_ACCOUNT, AD_WRITE, Named((ACC1,), False), VIEWER_OF_2, None),
        (AD_ACCOUNT, AD_WRITE, Named((), False), {ACC2: frozenset({"VIEWER"})}, "any ad account"),
    ],
)
def test_role_refusal(
    kind: str,
    needed: tuple[str, ...],
    named: Named,
    held: dict[str, frozenset[str]],
    refused_on: str | None,
) -> None:
    refusal = role_refusal(kind, needed, named, held, MEMBER, "posts.CREATE.202505")
    if refused_on is None:
        assert refusal is None
        return
    assert refusal is not None
    assert (refusal.status, refusal.reason, refusal.code) == (
        403,
        "insufficient_role",
        "ACCESS_DENIED",
    )
    assert f"on {refused_on}" in refusal.message
    assert all(role in refusal.message for role in needed)
    assert MEMBER in refusal.message


def test_roles_from_elements() -> None:
    acls = [
        {
            "organization": ORG1,
            "role": "ADMINISTRATOR",
            "roleAssignee": MEMBER,
            "state": "APPROVED",
        },
        {"organization": ORG1, "role": "ANALYST", "roleAssignee": MEMBER, "state": "APPROVED"},
        {
            "organization": ORG4,
            "role": "ADMINISTRATOR",
            "roleAssignee": MEMBER,
            "state": "REQUESTED",
        },
        {"organization": 5, "role": "ADMINISTRATOR"},
        "junk",
    ]
    assert roles_from_elements(ORGANIZATION, acls) == {ORG1: {"ADMINISTRATOR", "ANALYST"}}
    users = [{"account": ACC1, "role": "ACCOUNT_MANAGER", "user": MEMBER}, {"account": ACC2}]
    assert roles_from_elements(AD_ACCOUNT, users) == {ACC1: {"ACCOUNT_MANAGER"}}
