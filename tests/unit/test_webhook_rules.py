"""Webhooks: the subscription rule in the decision, LinkedIn's signatures, push parsing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from multidict import CIMultiDict

from gateway.catalog.loader import load_catalog
from gateway.catalog.routes import match_route
from gateway.policy.decide import Admit, Deny, decide
from gateway.restli.classify import classify
from gateway.restli.facts import RequestFacts
from gateway.settings.model import AppConfig, ProductGrant, UnmatchedRoutes
from gateway.tokens.model import TokenInfo
from gateway.webhooks.delivery import backoff_seconds
from gateway.webhooks.notifications import NotJson, parse_push
from gateway.webhooks.signatures import challenge_response, push_signature, signature_valid
from gateway.webhooks.subscriptions import (
    complex_key_fields,
    names_social_action_subscription,
)

CATALOG = load_catalog()
SECRET = "s3cret"
KEY = (
    "(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
    "user:urn%3Ali%3Aperson%3Aabc,entity:urn%3Ali%3Aorganization%3A2,"
    "eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)"
)
V = {"LinkedIn-Version": "202505"}


def facts_for(method: str, path: str, headers: dict[str, str] | None = None) -> RequestFacts:
    return classify(method, path, CIMultiDict({**V, **(headers or {})}), None)


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("PUT", f"/rest/eventSubscriptions/{KEY}", {}, True),
        (
            "PUT",
            f"/rest/eventSubscriptions/{KEY.replace('ORGANIZATION_SOCIAL', 'organization_social')}",
            {},
            True,
        ),
        ("PUT", f"/rest/EVENTSUBSCRIPTIONS/{KEY}", {}, True),
        ("POST", f"/rest/eventSubscriptions/{KEY}", {"X-RestLi-Method": "PARTIAL_UPDATE"}, True),
        ("POST", "/rest/eventSubscriptions", {}, True),  # names no key: cannot tell
        ("GET", f"/rest/eventSubscriptions/{KEY}", {}, False),
        ("DELETE", f"/rest/eventSubscriptions/{KEY}", {}, False),
        (
            "PUT",
            f"/rest/eventSubscriptions/{KEY.replace('ORGANIZATION_SOCIAL_ACTION', 'LEAD_ACTION')}",
            {},
            False,
        ),
        ("PUT", "/rest/posts/urn%3Ali%3Ashare%3A1", {}, False),
    ],
)
def test_names_social_action_subscription(
    method: str, path: str, headers: dict[str, str], expected: bool
) -> None:
    assert names_social_action_subscription(facts_for(method, path, headers)) is expected


@pytest.mark.parametrize("key", [KEY, KEY.replace("%3A", "%253A"), KEY.replace("_", "%255F")])
def test_batch_update_keys_are_read_whatever_their_encoding(key: str) -> None:
    facts = facts_for("PUT", f"/rest/eventSubscriptions?ids=List({key})")
    assert names_social_action_subscription(facts)


def test_complex_key_fields_are_decoded() -> None:
    fields = complex_key_fields(KEY)
    assert fields["entity"] == "urn:li:organization:2"
    assert fields["eventType"] == "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"
    assert complex_key_fields("urn:li:share:1") == {}


def _decide(tier: str, method: str = "PUT") -> Deny | Admit:
    app = AppConfig(
        "acme",
        "cid",
        SECRET,
        {"community_management": ProductGrant("community_management", tier, None)},
        None,
    )
    token = TokenInfo(
        "0" * 64, "acme", "urn:li:person:abc", frozenset({"rw_organization_admin"}), None
    )
    facts = facts_for(method, f"/rest/eventSubscriptions/{KEY}")
    match = match_route(CATALOG, facts.api, facts.segments, facts.restli_method)
    return decide(facts, match, token, app, CATALOG, UnmatchedRoutes.FORWARD)


def test_development_tier_refuses_the_subscription_in_the_decision() -> None:
    decision = _decide("development")
    assert isinstance(decision, Deny)
    assert (decision.refusal.status, decision.refusal.reason) == (403, "webhooks_disabled")
    assert "Community Management Development" in decision.refusal.message


@pytest.mark.parametrize(
    ("tier", "method"), [("standard", "PUT"), ("development", "GET"), ("development", "DELETE")]
)
def test_standard_subscribes_and_reads_stay_open(tier: str, method: str) -> None:
    assert isinstance(_decide(tier, method), Admit)


def test_version_is_checked_before_anything_else() -> None:
    app = AppConfig(
        "acme",
        "cid",
        SECRET,
        {"community_management": ProductGrant("community_management", "development", None)},
        None,
    )
    token = TokenInfo("0" * 64, "acme", None, frozenset(), None)
    facts = classify("GET", "/rest/posts", CIMultiDict({"LinkedIn-Version": "202304"}), None)
    match = match_route(CATALOG, facts.api, facts.segments, facts.restli_method)
    decision = decide(facts, match, token, app, CATALOG, UnmatchedRoutes.FORWARD)
    assert isinstance(decision, Deny)
    assert decision.refusal.reason == "version_sunset"


# --- signatures (shared/api-guide/webhook-validation) -------------------------------------


def test_challenge_response_is_hmac_sha256_of_the_code() -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    expected = hmac.new(SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    assert challenge_response(SECRET, code) == expected
    assert challenge_response("other", code) != expected


BODY = b'{"type":"X","notifications":[{"notificationId":1}]}'


@pytest.mark.parametrize(
    ("header", "valid"),
    [
        (push_signature(SECRET, BODY), True),
        (push_signature(SECRET, BODY).upper(), True),
        ("hmacsha256=" + push_signature(SECRET, BODY), True),
        (hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(), False),  # no prefix signed
        (push_signature("wrong", BODY), False),
        (push_signature(SECRET, BODY + b" "), False),
        (push_signature(SECRET, BODY)[:-1], False),
        ("", False),
        ("é" * 64, False),
        (None, False),
    ],
)
def test_signature_valid(header: str | None, valid: bool) -> None:
    assert signature_valid(SECRET, BODY, header) is valid


def test_push_signature_covers_the_prefix_and_body() -> None:
    expected = hmac.new(SECRET.encode(), b"hmacsha256=" + BODY, hashlib.sha256).hexdigest()
    assert push_signature(SECRET, BODY) == expected


# --- push parsing ---------------------------------------------------------------------------


def test_envelope_is_split_per_notification() -> None:
    body = json.dumps(
        {
            "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
            "notifications": [{"notificationId": 11, "action": "LIKE"}, {"notificationId": "12"}],
        }
    ).encode()
    push = parse_push(body)
    assert push.is_social_action
    assert [n.id for n in push.notifications] == ["11", "12"]
    first = json.loads(push.notifications[0].payload)
    assert first == {
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [{"notificationId": 11, "action": "LIKE"}],
    }


def test_a_push_without_ids_is_identified_by_its_content() -> None:
    body = b'{"type": "LEAD_ACTION", "leadGenFormResponse": "urn:li:x:1"}'
    push = parse_push(body)
    assert not push.is_social_action
    (only,) = push.notifications
    assert only.id == "sha256:" + hashlib.sha256(body).hexdigest()
    assert only.payload == body
    assert parse_push(body).notifications == push.notifications


def test_top_level_notification_id_is_used() -> None:
    assert parse_push(b'{"notificationId": 7}').notifications[0].id == "7"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b""])
def test_non_json_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(NotJson):
        parse_push(body)


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 1.0), (2, 2.0), (3, 4.0), (9, 256.0), (10, 300.0), (500, 300.0)]
)
def test_delivery_backoff_doubles_up_to_five_minutes(attempts: int, seconds: float) -> None:
    assert backoff_seconds(attempts) == seconds
