"""Request-target and path checks: every spelling trick is refused, real keys decode."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest, GatewayError
from gateway.restli.paths import (
    MAX_QUERY_LENGTH,
    MAX_TARGET_LENGTH,
    ResourcePath,
    parse_resource_path,
    split_target,
)


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        ("/rest/adAccounts", "/rest/adAccounts", ""),
        ("/rest/adAccounts?", "/rest/adAccounts", ""),
        ("/rest/adAccounts?q=search&a=1", "/rest/adAccounts", "q=search&a=1"),
        ("/v2/me?x=a?b", "/v2/me", "x=a?b"),
    ],
)
def test_split_target_accepts_origin_form(target: str, path: str, query: str) -> None:
    assert split_target(target) == (path, query)


@pytest.mark.parametrize(
    "target",
    [
        "http://api.linkedin.com/rest/adAccounts",
        "https://evil.example/rest/adAccounts",
        "HTTP://api.linkedin.com/rest/me",
        "api.linkedin.com:443",
        "//evil.example/rest/me",
        "///rest/me",
        "*",
        "",
        "rest/me",
        "\\rest\\me",
        " /rest/me",
    ],
)
def test_split_target_refuses_non_origin_forms(target: str) -> None:
    with pytest.raises(BadRequest) as caught:
        split_target(target)
    assert caught.value.refusal.status == 400
    assert caught.value.refusal.reason == "absolute_target_refused"


@pytest.mark.parametrize(
    "target",
    [
        "/rest/adAccounts/" + "a" * MAX_TARGET_LENGTH,
        "/rest/adAccounts?q=" + "a" * MAX_QUERY_LENGTH,
        "/rest/adAccounts?" + "a" * (MAX_QUERY_LENGTH + 1),
    ],
)
def test_long_targets_get_414(target: str) -> None:
    with pytest.raises(BadRequest) as caught:
        split_target(target)
    assert caught.value.refusal.status == 414
    assert caught.value.refusal.reason == "uri_too_long"
    assert caught.value.refusal.code == "URI_TOO_LONG"


def test_limits_are_inclusive() -> None:
    query = "a" * MAX_QUERY_LENGTH
    assert split_target("/rest/x?" + query) == ("/rest/x", query)
    path = "/rest/" + "b" * (MAX_TARGET_LENGTH - len("/rest/"))
    assert split_target(path) == (path, "")


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/rest/adAccounts", ResourcePath("rest", ("adAccounts",))),
        ("/v2/me", ResourcePath("v2", ("me",))),
        (
            "/rest/adAccounts/123/adCampaigns",
            ResourcePath("rest", ("adAccounts", "123", "adCampaigns")),
        ),
        (
            "/rest/socialActions/urn%3Ali%3Ashare%3A42/comments",
            ResourcePath("rest", ("socialActions", "urn:li:share:42", "comments")),
        ),
        (
            "/rest/people/urn%3ali%3aperson%3a1",
            ResourcePath("rest", ("people", "urn:li:person:1")),
        ),
        (
            "/rest/eventSubscriptions/(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
            "user:urn%3Ali%3Aperson%3Aabc,entity:urn%3Ali%3Aorganization%3A2,"
            "eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)",
            ResourcePath(
                "rest",
                (
                    "eventSubscriptions",
                    "(developerApplication:urn:li:developerApplication:1,"
                    "user:urn:li:person:abc,entity:urn:li:organization:2,"
                    "eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)",
                ),
            ),
        ),
        (
            "/rest/creatives/urn%3Ali%3AsponsoredCreative%3A%28urn%3Ali%3Ax%3A1%2C2%29",
            ResourcePath("rest", ("creatives", "urn:li:sponsoredCreative:(urn:li:x:1,2)")),
        ),
        ("/rest/hashtags/caf%C3%A9", ResourcePath("rest", ("hashtags", "café"))),
        ("/rest/a/b~c", ResourcePath("rest", ("a", "b~c"))),
        ("/rest/a/b%7Ec", ResourcePath("rest", ("a", "b~c"))),
        ("/rest/a.b/c..d", ResourcePath("rest", ("a.b", "c..d"))),
        ("/rest/a/100%25", ResourcePath("rest", ("a", "100%"))),
    ],
)
def test_paths_decode_to_segments(raw_path: str, expected: ResourcePath) -> None:
    assert parse_resource_path(raw_path) == expected


PATH_TRICKS = [
    "/rest/../v2/me",
    "/rest/./adAccounts",
    "/rest/adAccounts/..",
    "/rest/adAccounts/.",
    "/rest/adAccounts/...",
    "/rest/%2e%2e/v2/me",
    "/rest/%2E%2E/v2/me",
    "/rest/%2E%2e/v2/me",
    "/rest/.%2e/v2/me",
    "/rest/%2e/adAccounts",
    "/rest/adAccounts%2F123",
    "/rest/adAccounts%2f123",
    "/rest/adAccounts\\123",
    "/rest/adAccounts%5C123",
    "/rest/adAccounts%5c..%5c",
    "/rest/adAccounts%00",
    "/rest/adAccounts\x00",
    "/rest/adAccounts\t",
    "/rest/adAccounts\r\n",
    "/rest/adAccounts%0d%0aX-Evil:%201",
    "/rest/adAccounts%7F",
    "/rest/adAccounts\x7f",
    "/rest/adAccountsé",
    "/rest/ad Accounts",
    "/rest//adAccounts",
    "/rest/adAccounts/",
    "/rest/adAccounts//123",
    "/rest/adAccounts%",
    "/rest/adAccounts%2",
    "/rest/adAccounts%zz",
    "/rest/adAccounts%G0",
    "/rest/adAccounts;v=1/123",
    "/rest/adAccounts/123;jsessionid=1",
    "/rest/adAccounts%3Bv=1",
    "/rest/adAccounts#frag",
    "/rest/adAccounts%252e%252e",
    "/rest/%252f",
    "/rest/%C0%AE%C0%AE/v2/me",
    "/rest/%C0%AF",
    "/rest/%EF%BC%8E%EF%BC%8E/v2",
    "/rest/a%EF%BC%8Fb",
    "/rest/a%E2%80%AEb",
    "/rest/a%E2%80%8Bb",
    "/rest/adAccounts%20",
    "/rest/%20adAccounts",
    "/rest/%ff",
    "/%72est/adAccounts",
    "/rest/%61dAccounts",
    "/rest/ad%2DAccounts",
    "/rest/ad%5FAccounts",
    "/rest/{id}",
    "/rest/a|b",
    "/rest/a[0]",
    '/rest/a"b',
    "/rest/a<b>",
    "/rest/a`b",
    "/rest/a^b",
]


@pytest.mark.parametrize("raw_path", PATH_TRICKS)
def test_path_tricks_are_refused(raw_path: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_resource_path(raw_path)
    assert caught.value.refusal.status == 400
    assert caught.value.refusal.reason == "ambiguous_path"


def test_there_are_enough_path_tricks() -> None:
    assert len(set(PATH_TRICKS)) >= 20


@pytest.mark.parametrize(
    "raw_path",
    ["/", "/rest", "/v2", "/REST/me", "/V2/me", "/v1/me", "/oauth/v2/accessToken", "/restx/a"],
)
def test_paths_outside_the_apis_are_not_found(raw_path: str) -> None:
    with pytest.raises(GatewayError) as caught:
        parse_resource_path(raw_path)
    assert not isinstance(caught.value, BadRequest)
    assert caught.value.refusal.status == 404
    assert caught.value.refusal.reason == "unknown_api"
    assert caught.value.refusal.code == "NOT_FOUND"


def test_messages_do_not_echo_raw_bytes() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_resource_path("/rest/a\r\nSet-Cookie:x")
    assert "\r" not in caught.value.refusal.message
    assert "\n" not in caught.value.refusal.message
