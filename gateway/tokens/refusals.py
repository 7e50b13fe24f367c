"""The refusals of token recognition beyond the static source. Pure.

LinkedIn's codes (API guide, "Error handling"; observed 401 payloads): 65601
REVOKED_ACCESS_TOKEN. Every 401 carries a ``WWW-Authenticate: Bearer`` challenge
(RFC 6750 §3). No message holds the token.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gateway.errors import Refusal
from gateway.policy.auth import bearer_challenge

REVOKED_TOKEN_CODE = 65601


def _challenge(description: str) -> dict[str, str]:
    return bearer_challenge("invalid_token", description)


def revoked_token() -> Refusal:
    return Refusal(
        status=401,
        reason="revoked_token",
        code="REVOKED_ACCESS_TOKEN",
        message="The token used in the request has been revoked by the user",
        service_error_code=REVOKED_TOKEN_CODE,
        headers=_challenge("The access token was revoked"),
    )


def introspection_unavailable(retry_after: int = 5) -> Refusal:
    return Refusal(
        status=503,
        reason="token_introspection_unavailable",
        code="SERVICE_UNAVAILABLE",
        message="The access token cannot be checked now: LinkedIn's token introspection "
        "did not answer. Retry later.",
        headers={"Retry-After": str(retry_after)},
    )


def introspection_rate_limited(retry_after: float) -> Refusal:
    """503: introspecting this token would exceed an app's introspection budget."""
    return Refusal(
        status=503,
        reason="introspection_rate_limited",
        code="SERVICE_UNAVAILABLE",
        message="The access token cannot be checked now: too many unknown tokens were "
        "presented and the gateway bounds its introspection calls to LinkedIn. Retry later.",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


def member_unknown(app: str, tried: Sequence[str]) -> Refusal:
    """401: none of the ways to learn the token's member worked; ``tried`` says each."""
    return Refusal(
        status=401,
        reason="member_unknown",
        code="MEMBER_UNKNOWN",
        message=f"The member behind this token of app {app} is unknown: " + "; ".join(tried),
        headers=_challenge("The member behind the access token is unknown"),
    )


def member_lookup_unavailable(app: str, tried: Sequence[str], retry_after: int = 5) -> Refusal:
    return Refusal(
        status=503,
        reason="member_lookup_unavailable",
        code="SERVICE_UNAVAILABLE",
        message=f"The member behind this token of app {app} cannot be learned now: "
        + "; ".join(tried),
        headers={"Retry-After": str(retry_after)},
    )


def member_header_untrusted(app: str, why: str) -> Refusal:
    """403: the request names a member from a source ``member_header`` does not trust."""
    return Refusal(
        status=403,
        reason="member_header_untrusted",
        code="ACCESS_DENIED",
        message=f"App {app} takes X-Gateway-Member only from trusted sources: {why}",
        service_error_code=100,
    )


def member_mismatch(app: str) -> Refusal:
    """403: the header names another member than the one bound to the token."""
    return Refusal(
        status=403,
        reason="member_mismatch",
        code="ACCESS_DENIED",
        message=f"X-Gateway-Member names another member than the one this token of app {app} "
        "is bound to; a token's member never changes",
        service_error_code=100,
    )
