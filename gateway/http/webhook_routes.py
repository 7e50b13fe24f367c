"""The app's LinkedIn webhook endpoint, fronted by the gateway on its main listener.

``GET /webhooks/{app}?challengeCode=<uuid>`` answers LinkedIn's validation challenge at once
(LinkedIn allows 3 seconds); ``POST /webhooks/{app}`` checks ``X-LI-Signature``, drops
social-action pushes the app's tier disables, deduplicates, queues durably and only then
acknowledges with 200. Delivery to the app happens later, in ``delivery``.

An app without ``webhook: {forward_to: ...}`` in the config has no endpoint (404). The rules
are in ``gateway.webhooks``; this module is their HTTP edge.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from gateway.errors import GatewayError, Refusal, StoreError
from gateway.http.public_bodies import PUBLIC_BODIES
from gateway.http.responses import refusal_response
from gateway.runtime import RUNTIME, Runtime
from gateway.settings.model import AppConfig
from gateway.support.metrics import WEBHOOK_DROPPED, WEBHOOK_REQUESTS
from gateway.webhooks.notifications import NotJson, parse_push
from gateway.webhooks.signatures import (
    SIGNATURE_HEADER,
    challenge_code_valid,
    challenge_response,
    signature_valid,
)
from gateway.webhooks.subscriptions import social_actions_disabled

log = logging.getLogger("gateway.webhooks")


def _refusal(status: int, code: str, message: str, *, reason: str) -> Refusal:
    return Refusal(status=status, reason=reason, code=code, message=message)


def _json(body: dict[str, object]) -> web.Response:
    return web.json_response(body, dumps=lambda v: json.dumps(v, separators=(",", ":")))


def _webhook_app(runtime: Runtime, name: str) -> AppConfig:
    app = runtime.settings.apps.get(name)
    if app is None or app.webhook is None:
        raise GatewayError(
            _refusal(
                404, "NOT_FOUND", "No webhook endpoint for this app", reason="webhook_unknown_app"
            )
        )
    return app


def _record(runtime: Runtime, app: str, outcome: str, status: int) -> None:
    runtime.metrics.inc(WEBHOOK_REQUESTS, app=app, outcome=outcome, status=str(status))


async def challenge(request: web.Request) -> web.Response:
    """LinkedIn's endpoint validation: echo the code with its HMAC, keyed by the secret."""
    runtime = request.app[RUNTIME]
    try:
        app = _webhook_app(runtime, request.match_info["app"])
    except GatewayError as answer:
        _record(runtime, "-", answer.refusal.reason, answer.refusal.status)
        return refusal_response(answer.refusal)
    code = request.query.get("challengeCode", "")
    if not code:
        refusal = _refusal(
            400, "BAD_REQUEST", "challengeCode is required", reason="webhook_bad_request"
        )
        _record(runtime, app.name, refusal.reason, refusal.status)
        return refusal_response(refusal)
    if not challenge_code_valid(code):
        # Any other string would make this a signing oracle (gateway.webhooks.signatures).
        refusal = _refusal(
            400,
            "BAD_REQUEST",
            "challengeCode must be a UUID (8-4-4-4-12 hex digits)",
            reason="webhook_challenge_invalid",
        )
        _record(runtime, app.name, refusal.reason, refusal.status)
        return refusal_response(refusal)
    _record(runtime, app.name, "challenge", 200)
    return _json(
        {"challengeCode": code, "challengeResponse": challenge_response(app.client_secret, code)}
    )


async def push(request: web.Request) -> web.Response:
    """Verify, deduplicate and durably queue a push; 200 only once it is queued."""
    runtime = request.app[RUNTIME]
    name = "-"
    try:
        app = _webhook_app(runtime, request.match_info["app"])
        name = app.name
        response = await _accept(request, runtime, app)
    except GatewayError as answer:
        _record(runtime, name, answer.refusal.reason, answer.refusal.status)
        return refusal_response(answer.refusal)
    return response


async def _accept(request: web.Request, runtime: Runtime, app: AppConfig) -> web.Response:
    body = await request.app[PUBLIC_BODIES].read(
        request, runtime.settings.public.webhook_max_body_bytes
    )
    if not signature_valid(app.client_secret, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning(
            "webhook push for app %s refused: bad or missing %s", app.name, SIGNATURE_HEADER
        )
        raise GatewayError(
            _refusal(
                401,
                "UNAUTHORIZED",
                f"{SIGNATURE_HEADER} is missing or does not match the body",
                reason="webhook_signature_invalid",
            )
        )
    try:
        parsed = parse_push(body)
    except NotJson as exc:
        raise GatewayError(
            _refusal(400, "BAD_REQUEST", str(exc), reason="webhook_bad_request")
        ) from None
    if parsed.is_social_action and social_actions_disabled(app, runtime.settings.catalog):
        count = len(parsed.notifications)
        runtime.metrics.inc(
            WEBHOOK_DROPPED, float(count), app=app.name, reason="social_actions_disabled"
        )
        log.warning(
            "webhook push for app %s dropped: %d social-action notification(s) while the "
            "app's tier disables social-action push notifications",
            app.name,
            count,
        )
        _record(runtime, app.name, "dropped", 200)
        return _json({"queued": 0, "duplicates": 0, "dropped": count})
    try:
        queued = await runtime.webhook_queue.enqueue(
            app.name, parsed.notifications, runtime.clock()
        )
    except StoreError as exc:
        log.warning("webhook push for app %s not queued: %s", app.name, exc)
        # Not acknowledged: LinkedIn retries in 5 minutes.
        raise GatewayError(
            _refusal(
                503,
                "SERVICE_UNAVAILABLE",
                "the notification could not be queued; retry later",
                reason="webhook_store_unavailable",
            )
        ) from None
    duplicates = len(parsed.notifications) - queued
    if queued:
        runtime.webhook_wakeup.set()
    _record(runtime, app.name, "queued" if queued else "duplicate", 200)
    return _json({"queued": queued, "duplicates": duplicates, "dropped": 0})
