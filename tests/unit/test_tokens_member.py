"""Reading the member out of userinfo and /v2/me answers, and the sidecar header."""

from __future__ import annotations

import json

import pytest

from gateway.settings.model import AppConfig
from gateway.tokens.member import ME, USERINFO, Way, header_member, member_from_answer


def body(data: object) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("way", "status", "raw", "member"),
    [
        (USERINFO, 200, body({"sub": "abc-123", "name": "X"}), "urn:li:person:abc-123"),
        (ME, 200, body({"id": "Zx_9", "localizedFirstName": "X"}), "urn:li:person:Zx_9"),
        (ME, 200, body({"sub": "abc"}), None),  # /v2/me names the member in "id"
        (USERINFO, 200, body({"sub": ""}), None),
        (USERINFO, 200, body({"sub": "a:b"}), None),  # not a member id
        (USERINFO, 200, body({"sub": 5}), None),
        (USERINFO, 200, body(["sub"]), None),
        (USERINFO, 200, b"not json", None),
        (USERINFO, 403, body({"sub": "abc"}), None),
    ],
)
def test_member_from_answer(way: Way, status: int, raw: bytes, member: str | None) -> None:
    assert member_from_answer(way, status, raw) == member


def app(trusted: bool) -> AppConfig:
    return AppConfig("social", "c", "s", {}, None, trusted_member_header=trusted)


@pytest.mark.parametrize(
    ("trusted", "headers", "member", "why"),
    [
        (True, {"X-Gateway-Member": "urn:li:person:abc"}, "urn:li:person:abc", ""),
        (False, {"X-Gateway-Member": "urn:li:person:abc"}, None, "does not trust"),
        (True, {}, None, "no X-Gateway-Member header"),
        (True, {"X-Gateway-Member": "urn:li:organization:1"}, None, "not a person URN"),
        (True, {"X-Gateway-Member": "urn:li:person:a b"}, None, "not a person URN"),
    ],
)
def test_header_member(
    trusted: bool, headers: dict[str, str], member: str | None, why: str
) -> None:
    found, reason = header_member(app(trusted), headers)
    assert found == member
    assert why in reason
