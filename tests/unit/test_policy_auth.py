"""bearer_token() and check_token(): LinkedIn's 401s, RFC 6750 challenges, no token leaks."""

from __future__ import annotations

import pytest

from gateway.errors import GatewayError, Refusal
from gateway.policy.auth import bearer_token, check_token
from gateway.policy.decide import Deny, decide
from gateway.quota.buckets import quota_refusal
from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Window
from gateway.restli.methods import RestliMethod
from gateway.settings.model import UnmatchedRoutes
from gateway.tokens.model import TokenInfo, token_digest
from tests.unit.policy_fixtures import (
    ADVERTISING,
    CATALOG,
    COMMUNITY,
    app_config,
    request,
    route_match,
)

NOW = 1_717_000_000.0
BARE = 'Bearer realm="linkedin-gateway"'
INVALID = 'Bearer realm="linkedin-gateway", error="invalid_token"'


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer AQV-abc_123.x~y+z/=", "AQV-abc_123.x~y+z/="),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer  abc", "abc"),
        ("  Bearer abc  ", "abc"),
    ],
    ids=["plain", "lower-case-scheme", "upper-case-scheme", "double-space", "padded"],
)
def test_bearer_token_accepts(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("header", "reason", "message", "challenge"),
    [
        (None, "missing_token", "Empty oauth2_access_token", BARE),
        ("", "missing_token", "Empty oauth2_access_token", BARE),
        ("   ", "missing_token", "Empty oauth2_access_token", BARE),
        ("Basic dXNlcjpwYXNz", "unsupported_auth_scheme", "Unknown authentication schema", BARE),
        ("Bearerabc", "unsupported_auth_scheme", "Unknown authentication schema", BARE),
        ("Bearer", "invalid_token", None, INVALID),
        ("Bearer    ", "invalid_token", None, INVALID),
        ("Bearer abc def", "invalid_token", None, INVALID),
        ("Bearer abc\tdef", "invalid_token", None, INVALID),
        ("Bearer abc\x00", "invalid_token", None, INVALID),
        ("Bearer abcé", "invalid_token", None, INVALID),
    ],
    ids=[
        "missing", "empty", "blank", "basic", "no-space", "bearer-alone", "bearer-blank",
        "space-in-token", "tab-in-token", "control-char", "non-ascii",
    ],
)  # fmt: skip
def test_bearer_token_refuses(
    header: str | None, reason: str, message: str | None, challenge: str
) -> None:
    with pytest.raises(GatewayError) as caught:
        bearer_token(header)
    refusal = caught.value.refusal
    assert (refusal.status, refusal.reason) == (401, reason)
    assert (refusal.service_error_code, refusal.code) == (65600, "INVALID_ACCESS_TOKEN")
    if message is not None:
        assert refusal.message == message
    assert refusal.headers["WWW-Authenticate"] == challenge


def _info(expires_at: float | None) -> TokenInfo:
    return TokenInfo(
        digest=token_digest("t"), app="acme", member=None, scopes=frozenset(), expires_at=expires_at
    )


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (None, (401, "invalid_token", 65600, "INVALID_ACCESS_TOKEN", "Invalid access token")),
        (
            _info(NOW),
            (
                401,
                "expired_token",
                65602,
                "EXPIRED_ACCESS_TOKEN",
                "The token used in the request has expired",
            ),
        ),
        (
            _info(NOW - 1),
            (
                401,
                "expired_token",
                65602,
                "EXPIRED_ACCESS_TOKEN",
                "The token used in the request has expired",
            ),
        ),
    ],
    ids=["unknown", "expires-exactly-now", "expired"],
)
def test_check_token_refuses(
    info: TokenInfo | None, expected: tuple[int, str, int, str, str]
) -> None:
    with pytest.raises(GatewayError) as caught:
        check_token(info, NOW)
    refusal = caught.value.refusal
    got = (
        refusal.status,
        refusal.reason,
        refusal.service_error_code,
        refusal.code,
        refusal.message,
    )
    assert got == expected
    assert refusal.headers["WWW-Authenticate"].startswith(INVALID)


@pytest.mark.parametrize("expires_at", [None, NOW + 0.001, NOW + 86400], ids=str)
def test_check_token_accepts(expires_at: float | None) -> None:
    info = _info(expires_at)
    assert check_token(info, NOW) is info


SECRET = "AQVsecretTOKEN123"


def _refusals_seen_with_secret() -> list[Refusal]:
    refusals: list[Refusal] = []
    for header in [
        f"Basic {SECRET}",
        f"Bearer {SECRET} {SECRET}",
        f"Bearer {SECRET}\x01",
        f"Token {SECRET}",
    ]:
        with pytest.raises(GatewayError) as caught:
            bearer_token(header)
        refusals.append(caught.value.refusal)
    info = TokenInfo(
        digest=token_digest(SECRET),
        app="acme",
        member="urn:li:person:1",
        scopes=frozenset({"r_ads"}),
        expires_at=NOW,
    )
    for known in (info, None):
        with pytest.raises(GatewayError) as caught:
            check_token(known, NOW)
        refusals.append(caught.value.refusal)
    for resource, app in [("posts", {ADVERTISING: None}), ("posts", {COMMUNITY: None})]:
        decision = decide(
            request(RestliMethod.BATCH_GET, resource),
            route_match(resource),
            info,
            app_config(app),
            CATALOG,
            UnmatchedRoutes.DENY,
        )
        assert isinstance(decision, Deny)
        refusals.append(decision.refusal)
    spec = BucketSpec("app", "k", 1, Window.UTC_DAY)
    outcome = QuotaOutcome(False, (BucketState(spec, 1, NOW + 10),), (spec,), None)
    refusals.append(quota_refusal(outcome, NOW))
    return refusals


def test_no_refusal_carries_the_token() -> None:
    refusals = _refusals_seen_with_secret()
    assert len(refusals) == 9
    for refusal in refusals:
        assert SECRET not in refusal.message
        assert SECRET.encode() not in refusal.body_bytes()
        assert all(SECRET not in value for value in refusal.all_headers().values())
