"""The bearer-token part of the decision: reading the header, judging the token. Pure.

Error bodies follow LinkedIn's (API guide, "Error handling"; observed 401 payloads):
65600 INVALID_ACCESS_TOKEN, 65602 EXPIRED_ACCESS_TOKEN. Every 401 carries a
``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3). No message ever holds the token.
"""

from __future__ import annotations

import re

from gateway.errors import GatewayError, Refusal
from gateway.tokens.model import TokenInfo

REALM = "linkedin-gateway"

INVALID_TOKEN_CODE = 65600
EXPIRED_TOKEN_CODE = 65602


def bearer_challenge(
    error: str | None = None,
    description: str | None = None,
    *,
    scope: str | None = None,
    realm: str = REALM,
) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a refusal, the one place it is built.

    RFC 6750 §3.1: a request with no bearer credentials gets a bare challenge, without an
    error code; a bad token gets ``invalid_token``; a token without the scope the call needs
    gets ``insufficient_scope`` with the scopes that would do.
    """
    parts = [f'Bearer realm="{realm}"']
    if error is not None:
        parts.append(f'error="{error}"')
    if description is not None:
        parts.append(f'error_description="{description}"')
    if scope is not None:
        parts.append(f'scope="{scope}"')
    return {"WWW-Authenticate": ", ".join(parts)}


def _unauthorized(
    reason: str,
    message: str,
    *,
    service_error_code: int = INVALID_TOKEN_CODE,
    code: str = "INVALID_ACCESS_TOKEN",
    error: str | None = "invalid_token",
    description: str | None = None,
) -> Refusal:
    return Refusal(
        status=401,
        reason=reason,
        code=code,
        message=message,
        service_error_code=service_error_code,
        headers=bearer_challenge(error, description),
    )


# Visible ASCII only: RFC 6750 §2.1 b64token is a subset, and whitespace or control
# characters inside a token mean the header is not one bearer credential.
TOKEN_RE = re.compile(r"[\x21-\x7e]+")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header.

    RFC 6750 §2.1 / RFC 9110 §11.4: the scheme is case-insensitive and one or more spaces
    separate it from the token. Raises GatewayError (401) when the header is missing or
    empty (missing_token), uses another scheme (unsupported_auth_scheme), or carries an
    empty or malformed token (invalid_token).
    """
    header = (authorization or "").strip(" \t")
    if not header:
        raise GatewayError(_unauthorized("missing_token", "Empty oauth2_access_token", error=None))
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "bearer":
        raise GatewayError(
            _unauthorized("unsupported_auth_scheme", "Unknown authentication schema", error=None)
        )
    token = rest.lstrip(" ")
    if TOKEN_RE.fullmatch(token) is None:
        raise GatewayError(
            _unauthorized("invalid_token", "Malformed oauth2_access_token in Authorization header")
        )
    return token


def check_token(info: TokenInfo | None, now: float) -> TokenInfo:
    """The token's facts when it is known and alive at ``now``; raises GatewayError (401)
    when it is unknown (invalid_token) or expired (expired_token).

    A token whose ``expires_at`` equals ``now`` has expired: its lifetime is over.
    """
    if info is None:
        raise GatewayError(invalid_token())
    if info.expires_at is not None and info.expires_at <= now:
        raise GatewayError(expired_token())
    return info


def invalid_token() -> Refusal:
    """401 for a token no source knows (LinkedIn's 65600)."""
    return _unauthorized("invalid_token", "Invalid access token")


def expired_token() -> Refusal:
    """401 for a token whose lifetime is over (LinkedIn's 65602 EXPIRED_ACCESS_TOKEN)."""
    return _unauthorized(
        "expired_token",
        "The token used in the request has expired",
        service_error_code=EXPIRED_TOKEN_CODE,
        code="EXPIRED_ACCESS_TOKEN",
        description="The access token expired",
    )
