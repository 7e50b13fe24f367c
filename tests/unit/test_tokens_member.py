"""Reading the member out of userinfo and /v2/me answers, and the sidecar header."""

from __future__ import annotations

import ipaddress
import json
from types import SimpleNamespace
from typing import cast

import pytest

from gateway.errors import GatewayError, StoreError
from gateway.quota.charging import Charging
from gateway.quota.memory import MemoryStore
from gateway.settings.guards import Guards, MemberHeaderTrust
from gateway.settings.model import AppConfig, OAuthSettings, OnStoreError, Settings
from gateway.support.metrics import Metrics
from gateway.tokens.cache import TokenCache
from gateway.tokens.chain import Resolved
from gateway.tokens.kv import MemoryKV
from gateway.tokens.member import (
    ME,
    USERINFO,
    MemberResolver,
    Way,
    header_member,
    member_from_answer,
    untrusted_source,
)
from gateway.tokens.model import TokenInfo
from gateway.upstream import Upstream
from gateway.usage.recorder import Usage


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
    claim = header_member(app(trusted), headers)
    assert claim.member == member
    assert why in claim.why
    assert claim.untrusted is None


LOOPBACK_ONLY = MemberHeaderTrust()
SECRET = "s" * 20


@pytest.mark.parametrize(
    ("trust", "peer", "headers", "why"),
    [
        (LOOPBACK_ONLY, "127.0.0.1", {}, None),
        (LOOPBACK_ONLY, "127.8.0.1", {}, None),
        (LOOPBACK_ONLY, "::1", {}, None),
        (LOOPBACK_ONLY, "::ffff:127.0.0.1", {}, None),  # IPv4 on a dual-stack socket
        (LOOPBACK_ONLY, "10.0.0.7", {}, "came from 10.0.0.7"),
        (LOOPBACK_ONLY, "::ffff:10.0.0.7", {}, "came from 10.0.0.7"),
        (LOOPBACK_ONLY, None, {}, "without an IP address"),  # a unix socket
        (LOOPBACK_ONLY, "", {}, "without an IP address"),
        (MemberHeaderTrust(LOOPBACK_ONLY.sources, SECRET), "127.0.0.1", {}, "missing or wrong"),
        (
            MemberHeaderTrust(LOOPBACK_ONLY.sources, SECRET),
            "127.0.0.1",
            {"X-Gateway-Member-Secret": SECRET},
            None,
        ),
        (
            MemberHeaderTrust((ipaddress.ip_network("10.0.0.0/8"),), SECRET),
            "127.0.0.1",
            {"X-Gateway-Member-Secret": SECRET},
            "came from 127.0.0.1",
        ),
    ],
)
def test_untrusted_source(
    trust: MemberHeaderTrust, peer: str | None, headers: dict[str, str], why: str | None
) -> None:
    found = untrusted_source(trust, peer, headers)
    if why is None:
        assert found is None
    else:
        assert found is not None and why in found
        assert SECRET not in found


def test_an_untrusted_sender_is_told_so_and_names_nobody() -> None:
    claim = header_member(
        app(True), {"X-Gateway-Member": "urn:li:person:abc"}, LOOPBACK_ONLY, "192.0.2.1"
    )
    assert claim.member is None
    assert claim.untrusted is not None and "192.0.2.1" in claim.untrusted


class _PinFails(MemoryKV):
    async def put_new(self, key: str, value: str, ttl: float, now: float) -> str:
        raise StoreError("token store put: connection refused")


async def test_a_member_that_cannot_be_pinned_is_not_believed() -> None:
    metrics = Metrics()
    resolver = MemberResolver(
        cast(Settings, SimpleNamespace(guards=Guards())),
        TokenCache(_PinFails(), OAuthSettings(), metrics),
        cast(Upstream, None),  # no scope allows a look-up: LinkedIn is never asked
        Charging(MemoryStore(), OnStoreError.CLOSED, metrics, Usage(), {}),
        metrics,
    )
    info = TokenInfo("d" * 64, "social", None, frozenset({"rw_organization_admin"}), None)

    with pytest.raises(GatewayError) as caught:
        await resolver.resolve(
            Resolved(info, "introspection"),
            "tok",
            {"X-Gateway-Member": "urn:li:person:abc"},
            app(True),
            1_800_000_000.0,
            peer="127.0.0.1",
        )

    assert caught.value.refusal.status == 503
    assert caught.value.refusal.reason == "member_lookup_unavailable"
    assert metrics.value("gateway_token_store_errors_total", operation="pin") == 1
