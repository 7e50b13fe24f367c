"""The pure ad-account parts: reading accounts out of a write, and what it claims."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from gateway.adaccounts.accounts import accounts_in_text, json_entity, parse_account
from gateway.adaccounts.rules import (
    CreateClaim,
    EditClaim,
    ad_account_rules,
    claim_for,
    edit_limit_refusal,
    write_rules,
)
from gateway.catalog.loader import load_catalog
from gateway.catalog.model import RouteMatch
from gateway.catalog.routes import match_route
from gateway.errors import BadRequest, GatewayError
from gateway.restli.classify import classify
from gateway.restli.facts import RequestFacts
from gateway.settings.model import AppConfig, ProductGrant

CATALOG = load_catalog()
URN = "urn:li:sponsoredAccount:"


def app(**tiers: str | None) -> AppConfig:
    return AppConfig(
        name="acme",
        client_id="c",
        client_secret="s",
        products={p: ProductGrant(p, t, None) for p, t in tiers.items()},
        quotas=None,
    )


DEV = app(advertising="development", matched_audiences=None, conversions=None)
STD = app(advertising="standard")


def call(method: str, target: str, restli: str) -> tuple[RequestFacts, RouteMatch | None]:
    headers = CIMultiDict({"X-RestLi-Method": restli, "LinkedIn-Version": "202505"})
    facts = classify(method, target, headers, None)
    return facts, match_route(CATALOG, facts.api, facts.segments, facts.restli_method)


def claim(
    method: str, target: str, restli: str, body: object = None, who: AppConfig = DEV
) -> EditClaim | CreateClaim | None:
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    facts, match = call(method, target, restli)
    rules = write_rules(facts, match, who, CATALOG)
    return claim_for(facts, match, CATALOG, rules, raw, "application/json")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"{URN}123", {"123"}),
        (f"List({URN}1,{URN}2)", {"1", "2"}),
        (f"(account:{URN}7,user:urn:li:person:x)", {"7"}),
        ("(account:urn%3Ali%3AsponsoredAccount%3A8,user:x)", {"8"}),
        (f"{URN}0042", {"42"}),
        ("urn:li:organization:5", set()),
        ("", set()),
    ],
)
def test_accounts_in_text(text: str, found: set[str]) -> None:
    assert accounts_in_text(text) == found


@pytest.mark.parametrize(
    "text",
    [f"{URN}", f"{URN}12ab", f"{URN}-1", f"{URN}1.5", f"{URN}" + "9" * 20, f"{URN}\u0661"],
)
def test_malformed_account_urns_are_a_400(text: str) -> None:
    with pytest.raises(BadRequest):
        accounts_in_text(text)


@pytest.mark.parametrize(("key", "account"), [("5", "5"), (f"{URN}6", "6"), ("007", "7")])
def test_parse_account(key: str, account: str) -> None:
    assert parse_account(key) == account


@pytest.mark.parametrize("key", ["abc", "", "urn:li:organization:1", f"{URN}x"])
def test_parse_account_refuses_what_is_no_account(key: str) -> None:
    with pytest.raises(BadRequest):
        parse_account(key)


def test_json_entity_reads_the_entity_part_of_a_tunneled_multipart_body() -> None:
    body = (
        b"--b\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nids=List(1)\r\n"
        b'--b\r\nContent-Type: application/json\r\n\r\n{"account": "urn:li:sponsoredAccount:3"}'
        b"\r\n--b--\r\n"
    )
    entity = json_entity(body, "multipart/mixed; boundary=b", tunneled=True)
    assert entity == {"account": f"{URN}3"}
    assert json_entity(b"ids=List(1)", "application/x-www-form-urlencoded", tunneled=True) is None
    assert json_entity(b"  ", "application/json", tunneled=False) is None


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b'{"a": 1, "a": 2}', b"[" * 100_000])
def test_json_entity_refuses_what_it_cannot_read_one_way(body: bytes) -> None:
    with pytest.raises(BadRequest):
        json_entity(body, "application/json", tunneled=False)


def test_the_tiers_decide_the_rules() -> None:
    dev = ad_account_rules(DEV, CATALOG)
    assert dev is not None
    assert (dev.editable_accounts, dev.test_account_creates, dev.real_account_creates) == (
        5,
        1,
        False,
    )
    assert ad_account_rules(STD, CATALOG) is None
    assert ad_account_rules(app(community_management="development"), CATALOG) is None


@pytest.mark.parametrize(
    ("method", "target", "restli"),
    [
        ("GET", "/rest/adAccounts/1", "GET"),
        ("GET", "/rest/adAccounts?ids=List(1,2)", "BATCH_GET"),
        ("GET", "/rest/adAccounts/1/adCampaigns?q=search", "FINDER"),
    ],
)
def test_reads_are_not_checked(method: str, target: str, restli: str) -> None:
    facts, match = call(method, target, restli)
    assert write_rules(facts, match, DEV, CATALOG) is None


@pytest.mark.parametrize(
    ("target", "body", "accounts"),
    [
        # Off the ad-account routes a write may name no account: it claims nothing.
        ("/rest/posts", {"author": "urn:li:organization:1"}, None),
        ("/rest/posts", {"adContext": {"dscAdAccount": URN + "7"}}, {"7"}),
        # Uncatalogued: the account in the body still counts.
        ("/rest/adCampaignGroups", {"account": URN + "8", "name": "g"}, {"8"}),
        ("/rest/adAccounts/9/adBudgets", {}, {"9"}),
        ("/rest/insightTags", b"not json " + (URN + "4").encode(), {"4"}),
    ],
)
def test_every_write_claims_the_accounts_it_names(
    target: str, body: object, accounts: set[str] | None
) -> None:
    claimed = claim("POST", target, "CREATE", body)
    if accounts is None:
        assert claimed is None
    else:
        assert claimed == EditClaim(accounts=frozenset(accounts), limit=5)


@pytest.mark.parametrize(
    ("method", "target", "restli", "body", "accounts"),
    [
        ("POST", "/rest/adAccounts/1", "PARTIAL_UPDATE", {"patch": {}}, {"1"}),
        ("DELETE", "/rest/adAccounts/1/creatives/9", "DELETE", None, {"1"}),
        ("PUT", "/rest/adAccounts?ids=List(1,2)", "BATCH_UPDATE", {"entities": {}}, {"1", "2"}),
        ("POST", "/v2/adCampaignsV2", "CREATE", {"account": f"{URN}3"}, {"3"}),
        ("POST", "/rest/adAccounts/1/adCampaigns", "CREATE", {"account": f"{URN}2"}, {"1", "2"}),
        (
            "POST",
            "/rest/adAccounts/1/adCampaigns?ids=List(5,6)",
            "BATCH_PARTIAL_UPDATE",
            {"entities": {"5": {"patch": {}}}},
            {"1"},
        ),
        ("POST", "/rest/dmpSegments?action=x", "ACTION", {"account": f"{URN}4"}, {"4"}),
    ],
)
def test_an_edit_claims_every_account_it_names(
    method: str, target: str, restli: str, body: object, accounts: set[str]
) -> None:
    assert claim(method, target, restli, body) == EditClaim(frozenset(accounts), 5)


def test_an_edit_naming_no_account_is_a_400() -> None:
    with pytest.raises(BadRequest) as caught:
        claim("DELETE", "/rest/dmpSegments/5", "DELETE")
    assert caught.value.refusal.reason == "ad_account_unknown"


def test_account_creates() -> None:
    account = {"name": "n", "type": "BUSINESS", "currency": "USD"}
    assert claim("POST", "/rest/adAccounts", "CREATE", {**account, "test": True}) == CreateClaim(
        1, 1
    )
    batch = {"elements": [{**account, "test": True}, {**account, "test": True}]}
    assert claim("POST", "/rest/adAccounts", "BATCH_CREATE", batch) == CreateClaim(2, 1)
    with pytest.raises(GatewayError) as caught:
        claim("POST", "/rest/adAccounts", "CREATE", account)
    assert caught.value.refusal.reason == "real_ad_account_creation_forbidden"
    assert claim("POST", "/rest/adAccounts", "CREATE", account, who=STD) is None


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"nope",
        [],
        {"test": True},
        {"name": "n", "type": "BUSINESS", "currency": "USD", "test": 1},
        {"elements": []},
    ],
)
def test_a_malformed_account_create_is_a_400(body: object) -> None:
    restli = "BATCH_CREATE" if isinstance(body, dict) and "elements" in body else "CREATE"
    with pytest.raises(BadRequest):
        claim("POST", "/rest/adAccounts", restli, body)


def test_the_edit_limit_refusal_lists_the_accounts() -> None:
    refusal = edit_limit_refusal("acme", ("10", "2", "3", "4", "5"), {"6", "2"}, 5)
    assert (refusal.status, refusal.reason, refusal.code, refusal.service_error_code) == (
        403,
        "ad_account_edit_limit",
        "ACCESS_DENIED",
        100,
    )
    listed = ", ".join(f"{URN}{n}" for n in (2, 3, 4, 5, 10))
    assert listed in refusal.message
    assert f"would add {URN}6." in refusal.message
