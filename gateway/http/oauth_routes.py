"""The gateway's OAuth endpoints: ``GET /oauth/authorize``, ``GET /oauth/callback``,
``POST /oauth/refresh``.

The callback hands the tokens to the app's ``return_url`` as an auto-submitted form POST
(the OAuth 2.0 Form Post Response Mode): never in a URL, so no access log, Referer or
browser history holds them. Every answer is ``Cache-Control: no-store``; errors have
LinkedIn's body and ``X-Gateway-Reason``. Logs and metrics never see a query or a token.

Anyone may call these, so no body is read past ``oauth_max_body_bytes`` (a refresh form is
well under 4 KB) and body reads count against ``public_body_reads`` (gateway.http.public_bodies).
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from gateway.errors import GatewayError
from gateway.http.public_bodies import PUBLIC_BODIES
from gateway.http.responses import refusal_response
from gateway.oauth.flow import OAuthFlow, TokenHandoff, flow_refusal
from gateway.runtime import RUNTIME
from gateway.support.metrics import OAUTH_REQUESTS

access_log = logging.getLogger("gateway.access")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}
_SUBMIT = "document.forms[0].submit();"
_SUBMIT_HASH = base64.b64encode(hashlib.sha256(_SUBMIT.encode()).digest()).decode()

Handler = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]
Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]
FORM = "application/x-www-form-urlencoded"
# A refresh form holds two fields; a few more are tolerated, not thousands.
MAX_FORM_FIELDS = 20


def add_oauth_routes(app: web.Application) -> None:
    """Register the endpoints; call before the catch-all proxy route."""
    app.router.add_get("/oauth/authorize", _endpoint("authorize", _authorize))
    app.router.add_get("/oauth/callback", _endpoint("callback", _callback))
    app.router.add_post("/oauth/refresh", _endpoint("refresh", _refresh))


def form_post_page(handoff: TokenHandoff) -> str:
    """An HTML page that POSTs ``handoff.fields`` to ``handoff.return_url`` at once."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in handoff.fields.items()
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signing in</title></head>'
        f'<body><form method="post" action="{html.escape(handoff.return_url)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        f"<script>{_SUBMIT}</script></body></html>"
    )


def _flow(request: web.Request) -> OAuthFlow:
    identity = request.app[RUNTIME].identity
    return identity.flow


async def _authorize(request: web.Request, body: bytes) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    started = await _flow(request).authorize(
        request.query, runtime.clock(), client_address=request.remote, tls=request.secure
    )
    response = web.Response(status=302, headers={"Location": started.location, **NO_STORE})
    binding = started.binding
    response.set_cookie(
        binding.name,
        binding.secret,
        max_age=int(runtime.settings.oauth.state_seconds),
        path="/",
        secure=binding.secure,
        httponly=True,
        samesite="Lax",
    )
    return response


async def _callback(request: web.Request, body: bytes) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    handoff = await _flow(request).callback(request.query, request.cookies, runtime.clock())
    policy = (
        f"default-src 'none'; script-src 'sha256-{_SUBMIT_HASH}'; form-action {handoff.return_url}"
    )
    response = web.Response(
        text=form_post_page(handoff),
        content_type="text/html",
        headers={**NO_STORE, "Content-Security-Policy": policy},
    )
    if handoff.cookie is not None:
        response.del_cookie(
            handoff.cookie,
            path="/",
            secure=handoff.cookie.startswith("__Host-"),
            httponly=True,
            samesite="Lax",
        )
    return response


async def _refresh(request: web.Request, body: bytes) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    answer = await _flow(request).refresh(_form(request, body), runtime.clock())
    return web.json_response(answer, headers=NO_STORE)


def _form(request: web.Request, body: bytes) -> MultiDictProxy[str]:
    """The refresh form, parsed from the already bounded body."""
    if body and request.content_type != FORM:
        raise flow_refusal("oauth_bad_request", f"the body must be {FORM}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise flow_refusal(
            "oauth_bad_request", f"the body is not a form of at most {MAX_FORM_FIELDS} fields"
        ) from None
    return MultiDictProxy(MultiDict(pairs))


def _endpoint(name: str, handler: Handler) -> Endpoint:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        runtime = request.app[RUNTIME]
        started = time.perf_counter()
        try:
            body = await request.app[PUBLIC_BODIES].read(
                request, runtime.settings.public.oauth_max_body_bytes
            )
            response = await handler(request, body)
            reason = "-"
        except GatewayError as exc:
            reason = exc.refusal.reason
            response = refusal_response(exc.refusal)
        runtime.metrics.inc(
            OAUTH_REQUESTS,
            endpoint=name,
            reason=reason,
            status=str(response.status),
        )
        access_log.info(
            "method=%s path=%s oauth=%s reason=%s status=%d duration_ms=%.1f",
            request.method,
            request.path,
            name,
            reason,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return response

    return endpoint
