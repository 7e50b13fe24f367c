"""Verify a LinkedIn id_token. Pure: keys, issuer, audience and ``now`` are parameters.

OpenID Connect Core 1.0 §3.1.3.7: the signature with the provider's keys (LinkedIn signs
RS256; its JWKS is named by the discovery document), ``iss`` equal to the discovery
document's issuer (LinkedIn changed it in 2024, so it is never hard-coded), ``aud``
containing our client_id and, when ``aud`` is a list (a token meant for several parties),
``azp`` equal to our client_id (§2: the party the token was issued to); an ``azp`` naming
anyone else is refused too. ``exp`` in the future, ``nbf`` (when present) not later than
``now`` plus ``NBF_LEEWAY_SECONDS``. Each failure has its own reason code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ("RS256",)
# A token issued "now" by a provider whose clock runs a little ahead is not refused.
NBF_LEEWAY_SECONDS = 60.0


class IdTokenError(Exception):
    """The id_token is refused; ``reason`` is the gateway reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def load_key_set(jwks: Mapping[str, Any]) -> KeySet:
    """A JWKS document as keys; IdTokenError when it holds none we can read."""
    try:
        return KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise IdTokenError(
            "id_token_keys_unavailable", "the provider's JWKS is unreadable"
        ) from None


def verify_id_token(
    id_token: str, keys: KeySet, *, issuer: str, audience: str, now: float
) -> dict[str, Any]:
    """The id_token's claims when it is valid; IdTokenError with a reason code otherwise.

    Reasons: ``id_token_unknown_key`` (no key with its kid: refetch the JWKS and retry),
    ``id_token_bad_signature``, ``id_token_malformed``, ``id_token_wrong_issuer``,
    ``id_token_wrong_audience``, ``id_token_expired``, ``id_token_not_yet_valid``.
    """
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except InvalidKeyIdError:
        raise IdTokenError(
            "id_token_unknown_key", "the id_token is signed with a key the provider does not list"
        ) from None
    except BadSignatureError:
        raise IdTokenError(
            "id_token_bad_signature", "the id_token's signature does not verify"
        ) from None
    except (JoseError, ValueError, TypeError):
        raise IdTokenError("id_token_malformed", "the id_token is not a signed RS256 JWT") from None
    claims = token.claims
    if claims.get("iss") != issuer:
        raise IdTokenError("id_token_wrong_issuer", f"the id_token's issuer is not {issuer}")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise IdTokenError(
            "id_token_wrong_audience", "the id_token was issued to another client_id"
        )
    azp = claims.get("azp")
    if (isinstance(aud, list) or azp is not None) and azp != audience:
        raise IdTokenError(
            "id_token_wrong_audience",
            "the id_token names several audiences and its azp is not this client_id",
        )
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise IdTokenError("id_token_malformed", "the id_token has no expiry (exp)")
    if exp <= now:
        raise IdTokenError("id_token_expired", "the id_token has expired")
    nbf = claims.get("nbf")
    if nbf is not None:
        if not isinstance(nbf, int | float) or isinstance(nbf, bool):
            raise IdTokenError("id_token_malformed", "the id_token's nbf is not a time")
        if nbf > now + NBF_LEEWAY_SECONDS:
            raise IdTokenError("id_token_not_yet_valid", "the id_token is not valid yet (nbf)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise IdTokenError("id_token_malformed", "the id_token names no member (sub)")
    return dict(claims)
