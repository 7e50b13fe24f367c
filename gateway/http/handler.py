"""The request path, as one straight line:

snapshot the config, authenticate, classify, decide, consume quota, forward, add headers.
Each step is one call into one module; this file only sequences them and records the
outcome (one log line, metrics).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType

from aiohttp import web

from gateway.adaccounts.gate import NO_SLOTS, TestSlots
from gateway.adaccounts.rules import AdAccountClaim, claim_for, write_rules
from gateway.catalog.routes import MethodNotServed, resolve_route
from gateway.catalog.unmatched_context import note_unmatched
from gateway.errors import BadRequest, GatewayError, Refusal, StoreError, UpstreamError
from gateway.http.bodies import read_body, stream_body
from gateway.http.header_rules import check_request_headers
from gateway.http.request_id import UPSTREAM_HEADER, request_id, sane
from gateway.http.responses import refusal_response
from gateway.policy.auth import bearer_token, check_token, invalid_token
from gateway.policy.decide import Admit, Decision, Deny, decide
from gateway.policy.development_window import (
    ProductWindow,
    check_expiry,
    notice_headers,
    noticed_windows,
)
from gateway.policy.versions import deprecation_headers
from gateway.quota.buckets import quota_buckets, quota_refusal
from gateway.quota.headers import rate_limit_headers
from gateway.quota.keys import utc_day
from gateway.quota.model import BucketSpec, QuotaOutcome
from gateway.restli.classify import (
    CONTENT_TYPE,
    LINKEDIN_VERSION,
    METHOD_OVERRIDE,
    RESTLI_METHOD,
    classify,
    needs_body,
)
from gateway.restli.facts import RequestFacts
from gateway.restli.served import not_served_refusal, served_facts
from gateway.roles.enforce import RoleCheck, wants_body
from gateway.runtime import RUNTIME, Runtime
from gateway.settings.model import AppConfig
from gateway.support import metrics
from gateway.support.logs import Fields, log_access
from gateway.tokens.chain import Resolved
from gateway.tokens.identity import Identity
from gateway.tokens.model import TokenInfo
from gateway.usage.hooks import answer_inspector, check_learned_limit, note_request
from gateway.usage.shadow import shadow_admit, waive

access_log = logging.getLogger("gateway.access")
log = logging.getLogger("gateway")

CLASSIFIED_HEADERS = (METHOD_OVERRIDE, CONTENT_TYPE, RESTLI_METHOD, LINKEDIN_VERSION)
# A token in the query would be a second credential the gateway did not check.
QUERY_CREDENTIALS = frozenset({"oauth2_access_token", "access_token"})
SHADOW_REFUSE = "shadow_refuse"


@dataclass
class Outcome:
    """What one request came to, for the access log and metrics."""

    app: str = "-"
    member: str = "-"
    decision: str = "refuse"
    reason: str = "-"
    # The catalog resource of an admitted call ("unmatched": no route): a bounded label.
    family: str = "-"
    # Notices every response carries (Development window, RFC 9745 Deprecation).
    headers: dict[str, str] = field(default_factory=dict)


async def handle(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    started = time.perf_counter()
    outcome = Outcome()
    try:
        response = await _serve(request, runtime, outcome)
    except GatewayError as exc:
        outcome.reason = exc.refusal.reason
        response = refusal_response(exc.refusal)
    if not response.prepared:
        response.headers.update(outcome.headers)
    elapsed = time.perf_counter() - started
    _record(request, runtime, outcome, response, elapsed)
    return response


async def _serve(request: web.Request, runtime: Runtime, outcome: Outcome) -> web.StreamResponse:
    """The straight line. Every step either returns what the next needs or raises the
    GatewayError whose refusal answers the caller."""
    settings = runtime.settings
    _refuse_absolute_form(request)
    check_request_headers(request.headers, (name for name, _ in request.raw_headers))
    now = runtime.clock()
    caller = await _authenticate(request, runtime, now, outcome)
    app, info = caller.app, caller.info
    body, facts = await _classify(request, runtime)
    windows = _notices(runtime, app, facts, now, outcome)

    # Tunneled facts can be as large as a body: only URL-sized facts are remembered.
    decision = (
        _decide(runtime, app, info, facts)
        if facts.tunneled
        else runtime.decided.get(
            (facts, info, app.name), lambda: _decide(runtime, app, info, facts)
        )
    )
    note_unmatched(runtime.unmatched, request.method, facts, decision, now)
    if isinstance(decision, Deny):
        async with _UnlessShadow(runtime, caller, now, outcome, standing=True):
            raise GatewayError(decision.refusal)
        decision = shadow_admit(app, info.member, settings.catalog)
    async with _UnlessShadow(runtime, caller, now, outcome):
        check_expiry(windows, decision.products, settings.on_development_expiry)
    async with _UnlessShadow(runtime, caller, now, outcome, standing=True):
        check_learned_limit(runtime.usage, app, info.member, facts, now)
    body = await _check_roles(request, runtime, caller, facts, decision, body, now, outcome)
    body, ad_claim = await _read_ad_account_claim(request, runtime, app, facts, decision, body)

    quota = await _consume(runtime, decision.buckets, now, outcome)
    headers = rate_limit_headers(quota.states, now) if quota is not None else {}
    slots = await _claim_ad_accounts(runtime, app, ad_claim, quota, now, headers, outcome)

    if outcome.decision != SHADOW_REFUSE:
        outcome.decision = "admit"
    outcome.family = decision.match.route.resource if decision.match else "unmatched"
    _note_unversioned(request, runtime, app, facts)
    headers.update(outcome.headers)
    forward_body = body if body is not None else await stream_body(request, settings.max_body_bytes)
    sent_at = time.perf_counter()
    try:
        response = await runtime.upstream.forward(
            request,
            forward_body,
            headers,
            answer_inspector(
                runtime.usage,
                runtime.clock,
                app,
                info.member,
                facts,
                caller.identity.chain.evict_on_dead_answer(caller.resolved),
            ),
        )
    except UpstreamError as exc:
        _upstream_took(runtime, outcome, "error", sent_at)
        await runtime.ad_accounts.settle_test_accounts(slots, None, {})
        outcome.decision = "upstream_error"
        runtime.metrics.inc(metrics.UPSTREAM_ERRORS, reason=exc.reason)
        if not exc.sent:
            headers = await _refund(runtime, quota, now, headers)
        raise GatewayError(_with_headers(exc.refusal(), headers)) from None
    _upstream_took(runtime, outcome, f"{response.status // 100}xx", sent_at)
    await runtime.ad_accounts.settle_test_accounts(slots, response.status, response.headers)
    return response


def _upstream_took(runtime: Runtime, outcome: Outcome, status: str, sent_at: float) -> None:
    runtime.metrics.observe(
        metrics.UPSTREAM_DURATION,
        time.perf_counter() - sent_at,
        family=outcome.family,
        status=status,
    )


@dataclass(frozen=True)
class Caller:
    """Who is calling: the app, the token's facts (member resolved) and how it was found."""

    app: AppConfig
    info: TokenInfo
    resolved: Resolved
    identity: Identity
    authorization: str


def _refuse_absolute_form(request: web.Request) -> None:
    if not request.raw_path.startswith("/"):
        raise BadRequest(
            "only origin-form request targets are accepted: this is not an open proxy",
            reason="absolute_target_refused",
        )


async def _authenticate(
    request: web.Request, runtime: Runtime, now: float, outcome: Outcome
) -> Caller:
    authorization = request.headers.get("Authorization")
    token = bearer_token(authorization)
    identity = runtime.identity
    resolved = await identity.chain.resolve(token, now)
    check_token(resolved.info if resolved is not None else None, now)
    assert resolved is not None  # check_token raised for an unknown token
    app = runtime.settings.apps.get(resolved.info.app)
    if app is None:
        # A token of an app this config does not know is as good as unknown.
        raise GatewayError(invalid_token())
    outcome.app = app.name
    info = await identity.members.resolve(
        resolved, token, request.headers, app, now, peer=request.remote
    )
    outcome.member = info.member or "-"
    return Caller(app, info, resolved, identity, authorization or "")


async def _classify(request: web.Request, runtime: Runtime) -> tuple[bytes | None, RequestFacts]:
    headers = request.headers
    if needs_body(request.method, headers):
        body: bytes | None = await read_body(request, runtime.settings.max_body_bytes)
        facts = classify(request.method, request.raw_path, headers, body)
    else:
        body = None
        # Everything classify reads of a body-less request: method, target, these headers.
        key = (
            request.method,
            request.raw_path,
            *(tuple(headers.getall(name, ())) for name in CLASSIFIED_HEADERS),
        )
        facts = runtime.classified.get(
            key, lambda: classify(request.method, request.raw_path, headers, None)
        )
    if any(key.lower() in QUERY_CREDENTIALS for key, _ in facts.query):
        raise BadRequest("send the access token in the Authorization header, not in the query")
    return body, facts


def _decide(runtime: Runtime, app: AppConfig, info: TokenInfo, facts: RequestFacts) -> Decision:
    settings = runtime.settings
    found = resolve_route(settings.catalog, facts.api, facts.segments, facts.restli_method)
    if isinstance(found, MethodNotServed):
        raise GatewayError(not_served_refusal(found, facts))
    if found is not None:
        facts = served_facts(facts, found)
    return decide(facts, found, info, app, settings.catalog, settings.unmatched_routes)


def _notices(
    runtime: Runtime, app: AppConfig, facts: RequestFacts, now: float, outcome: Outcome
) -> tuple[ProductWindow, ...]:
    # Every boundary of the window falls on a UTC midnight, so one answer serves a whole day.
    windows, headers = runtime.window_notices.get(
        (app.name, utc_day(now)), lambda: _windows_and_headers(runtime, app, now)
    )
    outcome.headers.update(headers)
    outcome.headers.update(deprecation_headers(facts.api))
    _announce_windows(runtime, app, windows, now)
    return windows


def _windows_and_headers(
    runtime: Runtime, app: AppConfig, now: float
) -> tuple[tuple[ProductWindow, ...], dict[str, str]]:
    windows = noticed_windows(app, runtime.settings.catalog, now)
    return windows, notice_headers(windows, runtime.settings.on_development_expiry)


async def _check_roles(
    request: web.Request,
    runtime: Runtime,
    caller: Caller,
    facts: RequestFacts,
    decision: Admit,
    body: bytes | None,
    now: float,
    outcome: Outcome,
) -> bytes | None:
    app = caller.app
    if decision.match is None or not app.enforce_roles:
        return body
    if body is None and wants_body(app, request.method):
        body = await read_body(request, runtime.settings.max_body_bytes)
    check = RoleCheck(app, caller.info, facts, decision.match, body, caller.authorization)
    async with _UnlessShadow(runtime, caller, now, outcome):
        await runtime.roles.check(check, now)
    return body


async def _claim_ad_accounts(
    runtime: Runtime,
    app: AppConfig,
    claim: AdAccountClaim | None,
    quota: QuotaOutcome | None,
    now: float,
    headers: dict[str, str],
    outcome: Outcome,
) -> TestSlots:
    """Claim what the write needs from the app's ledger; a refused claim gives the call's
    quota back (it never goes upstream) and answers with the quota headers after it."""
    try:
        return await runtime.ad_accounts.claim(app.name, claim)
    except GatewayError as exc:
        if waive(runtime.metrics, app, exc.refusal, outcome):
            return NO_SLOTS
        after = await _refund(runtime, quota, now, headers)
        raise GatewayError(_with_headers(exc.refusal, after)) from None


async def _read_ad_account_claim(
    request: web.Request,
    runtime: Runtime,
    app: AppConfig,
    facts: RequestFacts,
    decision: Admit,
    body: bytes | None,
) -> tuple[bytes | None, AdAccountClaim | None]:
    catalog = runtime.settings.catalog
    rules = write_rules(facts, decision.match, app, catalog)
    if rules is not None and body is None:
        # The body names the ad accounts: read it (bounded), then forward it as read.
        body = await read_body(request, runtime.settings.max_body_bytes)
    content_type = request.headers.get("Content-Type")
    return body, claim_for(facts, decision.match, catalog, rules, body, content_type)


def _note_unversioned(
    request: web.Request, runtime: Runtime, app: AppConfig, facts: RequestFacts
) -> None:
    if facts.api == "v2":
        # LinkedIn is sunsetting the unversioned APIs (seed, deprecation notice).
        runtime.metrics.inc(metrics.UNVERSIONED_CALLS, app=app.name)
        log.info("unversioned call app=%s path=%s", app.name, _log_path(request))


def _with_headers(refusal: Refusal, headers: Mapping[str, str]) -> Refusal:
    if not headers:
        return refusal
    return replace(refusal, headers={**headers, **refusal.headers})


class _UnlessShadow:
    """Around one check of the request path. The refusal it raises is waived for a
    shadow-mode app (logged and counted, the call goes on); otherwise it is raised, with the
    app's quota headers when ``standing`` (a refused call still learns where it stands).

    A class rather than a generator-based context manager: it is entered several times on
    every request, and this costs a fifth as much."""

    __slots__ = ("_caller", "_now", "_outcome", "_runtime", "_standing")

    def __init__(
        self,
        runtime: Runtime,
        caller: Caller,
        now: float,
        outcome: Outcome,
        *,
        standing: bool = False,
    ) -> None:
        self._runtime = runtime
        self._caller = caller
        self._now = now
        self._outcome = outcome
        self._standing = standing

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        """True (the refusal is swallowed) when waived."""
        if not isinstance(exc, GatewayError):
            return False
        runtime, app = self._runtime, self._caller.app
        if waive(runtime.metrics, app, exc.refusal, self._outcome):
            return True
        if not self._standing:
            return False
        headers = await _standing(runtime, app, self._caller.info.member, self._now)
        raise GatewayError(_with_headers(exc.refusal, headers)) from None


async def _consume(
    runtime: Runtime, buckets: tuple[BucketSpec, ...], now: float, outcome: Outcome
) -> QuotaOutcome | None:
    """Count the call, or raise the 429 / 503. None: the store failed and the call is
    admitted uncounted (``on_store_error: open``)."""
    charged = await runtime.charging.charge(outcome.app, buckets, now, what="a call")
    if charged is None:
        outcome.reason = "quota_store_unavailable_admitted"
    elif charged.exhausted:
        # Only a shadow-mode app is admitted with exhausted buckets.
        app = runtime.settings.apps[outcome.app]
        waive(runtime.metrics, app, quota_refusal(charged, now), outcome)
    return charged


async def _standing(
    runtime: Runtime, app: AppConfig, member: str | None, now: float
) -> dict[str, str]:
    """Quota headers for a refused call: where the app stands, without counting anything."""
    buckets = quota_buckets(app, member, runtime.settings.catalog, tuple(app.products))
    if all(bucket.limit is None for bucket in buckets):
        return {}
    try:
        states = await runtime.store.peek(buckets, now)
    except StoreError:
        return {}
    return rate_limit_headers(states, now)


async def _refund(
    runtime: Runtime, quota: QuotaOutcome | None, now: float, headers: dict[str, str]
) -> dict[str, str]:
    """Give back a call that never reached the upstream; the quota headers after it."""
    states = await runtime.charging.refund(quota, now, what="a call")
    return headers if states is None else rate_limit_headers(states, now)


def _announce_windows(
    runtime: Runtime, app: AppConfig, windows: tuple[ProductWindow, ...], now: float
) -> None:
    # Once a day per app and product in this process: a reminder, not a flood.
    for window in windows:
        if runtime.window_warnings.first_today((app.name, window.product), now):
            log.warning(
                "app %s: %s (since %s) %s on %s",
                app.name,
                window.tier_title,
                window.since.isoformat(),
                "ended" if window.expired else "ends",
                window.ends.isoformat(),
            )


def _record(
    request: web.Request,
    runtime: Runtime,
    outcome: Outcome,
    response: web.StreamResponse,
    elapsed: float,
) -> None:
    status = response.status
    runtime.metrics.inc(
        metrics.REQUESTS,
        app=outcome.app,
        decision=outcome.decision,
        reason=outcome.reason,
        status=str(status),
    )
    runtime.metrics.observe(
        metrics.REQUEST_DURATION, elapsed, family=outcome.family, decision=outcome.decision
    )
    note_request(
        runtime.usage,
        runtime.clock(),
        outcome.app,
        outcome.member,
        outcome.decision,
        outcome.reason,
    )
    if access_log.isEnabledFor(logging.INFO):
        # The path only: a query could carry anything, and a log must never hold a credential.
        log_access(
            access_log,
            Fields(
                method=request.method,
                path=_log_path(request),
                app=outcome.app,
                member=outcome.member,
                decision=outcome.decision,
                reason=outcome.reason,
                status=status,
                duration_ms=f"{elapsed * 1000:.1f}",
                request_id=request_id(request),
                li_uuid=sane(response.headers.get(UPSTREAM_HEADER)) or "-",
            ),
        )


def _log_path(request: web.Request) -> str:
    path = request.raw_path.split("?", 1)[0]
    return path if len(path) <= 200 else path[:200] + "..."
