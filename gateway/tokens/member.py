"""Learn the member behind an introspected token: introspection names none.

In order: (1) the gateway's own flow recorded it from the id_token's ``sub``; (2) the token
holds ``openid``: ``GET /v2/userinfo`` (``sub``); (3) it holds ``r_basicprofile`` or
``r_liteprofile``: ``GET /v2/me`` (``id``); (4) the app trusts a sidecar's
``X-Gateway-Member`` header, sent from a source ``member_header`` trusts. (1)-(3) are
cached for the token's life and looked up once at a time per token; (2) and (3) are
LinkedIn calls, charged to the app's and the member's quota like any other call. (4) pins
the member to the token the first time (one atomic put-if-absent in the shared store):
from then on a header naming anyone else is refused, as is a header that contradicts a
member learned any other way, so a client cannot buy a fresh member budget per call.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from multidict import CIMultiDict

from gateway.catalog.routes import match_route
from gateway.errors import GatewayError, StoreError, UpstreamError
from gateway.policy.auth import expired_token
from gateway.policy.decide import Admit, decide
from gateway.quota.charging import Charging, Made
from gateway.restli.classify import classify
from gateway.settings.guards import MemberHeaderTrust
from gateway.settings.model import AppConfig, Settings
from gateway.support.metrics import MEMBER_LOOKUPS, TOKEN_STORE_ERRORS, Metrics
from gateway.tokens.cache import TokenCache
from gateway.tokens.chain import Resolved, dead_token_code
from gateway.tokens.model import TokenInfo
from gateway.tokens.refusals import (
    REVOKED_TOKEN_CODE,
    member_header_untrusted,
    member_lookup_unavailable,
    member_mismatch,
    member_unknown,
    revoked_token,
)
from gateway.tokens.singleflight import SingleFlight
from gateway.upstream import Upstream

log = logging.getLogger("gateway.tokens")

MEMBER_HEADER = "X-Gateway-Member"
SECRET_HEADER = "X-Gateway-Member-Secret"  # noqa: S105 - a header name
PERSON_URN = re.compile(r"^urn:li:person:[A-Za-z0-9_-]{1,100}$")
_MEMBER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
PROFILE_SCOPES = ("r_basicprofile", "r_liteprofile")


@dataclass(frozen=True)
class Way:
    """One lookup: the path, the scopes that allow it, the field holding the member id."""

    name: str
    path: str
    scopes: tuple[str, ...]
    field: str


USERINFO = Way("userinfo", "/v2/userinfo", ("openid",), "sub")
ME = Way("me", "/v2/me", PROFILE_SCOPES, "id")


@dataclass(frozen=True)
class Learned:
    member: str | None
    tried: tuple[str, ...]
    # A lookup failed in a way that may pass (upstream down, 5xx, 429).
    transient: bool = False


def member_from_answer(way: Way, status: int, body: bytes) -> str | None:
    """The person URN in a 200 userinfo/me answer, or None."""
    if status != 200:
        return None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    value = data.get(way.field) if isinstance(data, dict) else None
    if not isinstance(value, str) or not _MEMBER_ID.match(value):
        return None
    return f"urn:li:person:{value}"


@dataclass(frozen=True)
class HeaderClaim:
    """What ``X-Gateway-Member`` says on one request: the member a trusted source names
    (else None and ``why``), or ``untrusted``: why the sender may not name one at all."""

    member: str | None
    why: str = ""
    untrusted: str | None = None


def header_member(
    app: AppConfig,
    headers: Mapping[str, str],
    trust: MemberHeaderTrust | None = None,
    peer: str | None = "127.0.0.1",
) -> HeaderClaim:
    """The member a trusted sidecar names on this request. Pure.

    ``peer`` is the address the request came from (None on a non-IP socket). An app that
    does not trust the header never reads it; one that does refuses it from a peer outside
    ``trust.sources`` or without ``trust.secret`` in ``X-Gateway-Member-Secret``.
    """
    if not app.trusted_member_header:
        return HeaderClaim(None, f"app {app.name} does not trust the {MEMBER_HEADER} header")
    value = headers.get(MEMBER_HEADER)
    if value is None:
        return HeaderClaim(None, f"no {MEMBER_HEADER} header was sent")
    untrusted = untrusted_source(trust or MemberHeaderTrust(), peer, headers)
    if untrusted is not None:
        return HeaderClaim(None, untrusted, untrusted=untrusted)
    if not PERSON_URN.match(value):
        return HeaderClaim(None, f"{MEMBER_HEADER} is not a person URN (urn:li:person:...)")
    return HeaderClaim(value)


def untrusted_source(
    trust: MemberHeaderTrust, peer: str | None, headers: Mapping[str, str]
) -> str | None:
    """Why a request from ``peer`` may not name a member, or None when it may. Pure."""
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return f"{MEMBER_HEADER} came over a connection without an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not any(address in network for network in trust.sources):
        return f"{MEMBER_HEADER} came from {address}, which member_header.trusted_sources omits"
    if trust.secret is not None:
        given = headers.get(SECRET_HEADER, "")
        # Constant time: the comparison must not tell how much of a guess was right.
        if not hmac.compare_digest(given.encode(), trust.secret.encode()):
            return f"{SECRET_HEADER} is missing or wrong"
    return None


class MemberResolver:
    def __init__(
        self,
        settings: Settings,
        cache: TokenCache,
        upstream: Upstream,
        charging: Charging,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._upstream = upstream
        self._charging = charging
        self._metrics = metrics
        self._flights: SingleFlight[Learned] = SingleFlight()

    async def resolve(
        self,
        resolved: Resolved,
        token: str,
        headers: Mapping[str, str],
        app: AppConfig,
        now: float,
        peer: str | None = None,
    ) -> TokenInfo:
        """The token's facts with its member. Static tokens keep theirs (or none: then
        only the app bucket applies). ``peer`` is the caller's address. Raises
        GatewayError: 401 member_unknown, 503 member_lookup_unavailable, 401
        revoked_token/expired_token seen by a lookup, 403 member_header_untrusted, 403
        member_mismatch."""
        info = resolved.info
        claim = header_member(app, headers, self._settings.guards.member_header, peer)
        if claim.untrusted is not None:
            self._count("header", "untrusted")
            raise GatewayError(member_header_untrusted(app.name, claim.untrusted))
        if info.member is not None or resolved.origin == "static":
            return self._agreeing(app, info, claim)
        learned = await self._flights.run(info.digest, lambda: self._learn(info, token, app, now))
        if learned.member is not None:
            return self._agreeing(app, replace(info, member=learned.member), claim)
        if claim.member is not None:
            pinned = await self._pin(app, info, claim.member, now)
            return self._agreeing(app, replace(info, member=pinned), claim)
        tried = (*learned.tried, claim.why)
        if learned.transient:
            raise GatewayError(member_lookup_unavailable(app.name, tried))
        raise GatewayError(member_unknown(app.name, tried))

    def _agreeing(self, app: AppConfig, info: TokenInfo, claim: HeaderClaim) -> TokenInfo:
        """``info`` when the header names nobody or the token's own member; else 403."""
        if claim.member is None or info.member is None or claim.member == info.member:
            if claim.member is not None:
                self._count("header", "ok")
            return info
        self._count("header", "mismatch")
        raise GatewayError(member_mismatch(app.name))

    async def _pin(self, app: AppConfig, info: TokenInfo, member: str, now: float) -> str:
        """Bind ``member`` to the token unless a member is already bound; the bound one."""
        try:
            return await self._cache.pin_member(info, member, now)
        except StoreError as exc:
            log.warning("member header not pinned: %s", exc)
            self._metrics.inc(TOKEN_STORE_ERRORS, operation="pin")
            why = f"the member {MEMBER_HEADER} names cannot be bound to the token now"
            raise GatewayError(member_lookup_unavailable(app.name, [why])) from None

    async def _learn(self, info: TokenInfo, token: str, app: AppConfig, now: float) -> Learned:
        tried = ["the token was not issued through the gateway's /oauth flow"]
        transient = False
        for way in (USERINFO, ME):
            if not set(way.scopes) & info.scopes:
                tried.append(
                    f"it holds no {' or '.join(way.scopes)} scope, so GET {way.path} was not tried"
                )
                continue
            try:
                status, body = await self._upstream.call(
                    "GET", way.path, {"Authorization": f"Bearer {token}"}
                )
            except UpstreamError as exc:
                self._count(way.name, "error")
                tried.append(f"GET {way.path} failed: {exc.reason}")
                transient = True
                continue
            member = member_from_answer(way, status, body)
            if member is None:
                await self._refuse_dead(info, status, body)
                self._count(way.name, "failed")
                tried.append(f"GET {way.path} answered {status} without a member id")
                transient = transient or status == 429 or status >= 500
                continue
            self._count(way.name, "ok")
            learned = replace(info, member=member)
            await self._cache.store_member(info, member, now)
            await self._charge(app, learned, way, now)
            return Learned(member, tuple(tried))
        return Learned(None, tuple(tried), transient)

    async def _refuse_dead(self, info: TokenInfo, status: int, body: bytes) -> None:
        code = dead_token_code(body) if status == 401 else None
        if code is None:
            return
        await self._cache.evict(info.digest)
        if code == REVOKED_TOKEN_CODE:
            raise GatewayError(revoked_token())
        raise GatewayError(expired_token())

    async def _charge(self, app: AppConfig, info: TokenInfo, way: Way, now: float) -> None:
        """Count the lookup against the app's and the member's quota, as LinkedIn does."""
        settings = self._settings
        facts = classify("GET", way.path, CIMultiDict(), None)
        match = match_route(settings.catalog, facts.api, facts.segments, facts.restli_method)
        decision = decide(facts, match, info, app, settings.catalog, settings.unmatched_routes)
        if isinstance(decision, Admit):
            await self._charging.charge(
                app.name, decision.buckets, now, what="a member look-up", made=Made.AFTER
            )

    def _count(self, way: str, result: str) -> None:
        self._metrics.inc(MEMBER_LOOKUPS, way=way, result=result)
