"""Reading LinkedIn's introspectToken answers (shared/authentication, "Token Introspection")."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.tokens.introspection import Active, Inactive, read_introspection

NOW = 1_800_000_000.0
APPS = {"c-social": "social", "c-ads": "ads"}


def answer(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "active": True,
        "client_id": "c-social",
        "authorized_at": NOW - 10,
        "created_at": NOW - 10,
        "status": "active",
        "expires_at": NOW + 3600,
        "scope": "r_basicprofile,openid",
        "auth_type": "3L",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("fields", "asked", "expected"),
    [
        ({}, "c-social", Active("social", frozenset({"r_basicprofile", "openid"}), NOW + 3600)),
        ({"scope": "a b,c"}, "c-social", Active("social", frozenset({"a", "b", "c"}), NOW + 3600)),
        # The answer names another configured app: that app owns the token.
        (
            {"client_id": "c-ads"},
            "c-social",
            Active("ads", frozenset({"r_basicprofile", "openid"}), NOW + 3600),
        ),
        (
            {"client_id": None},
            "c-ads",
            Active("ads", frozenset({"r_basicprofile", "openid"}), NOW + 3600),
        ),
        ({"client_id": "c-unknown"}, "c-social", Inactive("invalid", False, NOW + 3600)),
        ({"active": False, "status": "revoked"}, "c-social", Inactive("revoked", True, NOW + 3600)),
        (
            {"active": False, "status": "expired", "expires_at": NOW - 1},
            "c-social",
            Inactive("expired", True, NOW - 1),
        ),
        ({"status": "revoked"}, "c-social", Inactive("revoked", True, NOW + 3600)),
        ({"expires_at": NOW}, "c-social", Inactive("expired", True, NOW)),
        ({"active": "true"}, "c-social", Inactive("invalid", True, NOW + 3600)),
        # Another app's token: LinkedIn answers only active=false.
        (
            {"active": False, "client_id": None, "status": None, "expires_at": None, "scope": None},
            "c-ads",
            Inactive("invalid", False, None),
        ),
    ],
)
def test_read_introspection(
    fields: dict[str, Any], asked: str, expected: Active | Inactive
) -> None:
    assert read_introspection(answer(**fields), asked, APPS, NOW) == expected
