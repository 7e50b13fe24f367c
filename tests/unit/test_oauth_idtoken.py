"""id_token verification (OpenID Connect Core §3.1.3.7): each failure its own reason."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from gateway.oauth.idtoken import IdTokenError, load_key_set, verify_id_token

NOW = 1_800_000_000
ISSUER = "https://www.linkedin.com/oauth"
CLIENT = "86abc123"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = load_key_set(KeySet([KEY]).as_dict(private=False))


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": NOW,
        "exp": NOW + 3600,
        "sub": "abc",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], key: RSAKey = KEY, kid: str = "k1") -> str:
    return jwt.encode({"alg": "RS256", "kid": kid}, payload, key)


def test_a_valid_id_token_gives_its_claims() -> None:
    assert (
        verify_id_token(signed(claims()), KEYS, issuer=ISSUER, audience=CLIENT, now=NOW)["sub"]
        == "abc"
    )


def test_an_audience_list_holding_the_client_with_azp_the_client_is_accepted() -> None:
    token = signed(claims(aud=["other", CLIENT], azp=CLIENT))
    assert verify_id_token(token, KEYS, issuer=ISSUER, audience=CLIENT, now=NOW)["iss"] == ISSUER


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (signed(claims(), key=OTHER), "id_token_bad_signature"),
        (signed(claims(), kid="rotated"), "id_token_unknown_key"),
        (signed(claims(iss="https://www.linkedin.com")), "id_token_wrong_issuer"),
        (signed(claims(iss=None)), "id_token_wrong_issuer"),
        (signed(claims(aud="someone-else")), "id_token_wrong_audience"),
        (signed(claims(aud=["a", "b"])), "id_token_wrong_audience"),
        (signed(claims(exp=NOW)), "id_token_expired"),
        (signed(claims(exp=NOW - 1)), "id_token_expired"),
        (signed(claims(exp=None)), "id_token_malformed"),
        (signed(claims(sub=None)), "id_token_malformed"),
        ("not.a.jwt", "id_token_malformed"),
        (jwt.encode({"alg": "HS256"}, claims(), OctKey.generate_key(256)), "id_token_malformed"),
    ],
)
def test_a_bad_id_token_is_refused_with_its_reason(token: str, reason: str) -> None:
    with pytest.raises(IdTokenError) as caught:
        verify_id_token(token, KEYS, issuer=ISSUER, audience=CLIENT, now=NOW)
    assert caught.value.reason == reason


def test_an_unreadable_jwks_is_refused() -> None:
    with pytest.raises(IdTokenError) as caught:
        load_key_set({"keys": []})
    assert caught.value.reason == "id_token_keys_unavailable"
