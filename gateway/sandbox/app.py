"""The sandbox's aiohttp application: LinkedIn's checks in LinkedIn's order, then the store.

A request under /rest/ or /v2/ is counted, put through the test knobs, then checked like
LinkedIn does (bearer token, then LinkedIn-Version on /rest), classified with
:mod:`gateway.restli.classify` and answered by :mod:`gateway.sandbox.handlers`. The test knobs and
the ``/__sandbox/`` endpoints are described in the package docstring (``gateway.sandbox``).
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import socket
import time
import uuid

from aiohttp import web

from gateway.errors import GatewayError
from gateway.restli.classify import classify, needs_body
from gateway.restli.facts import RequestFacts
from gateway.sandbox.handlers import Call, answer
from gateway.sandbox.oauth import add_oauth, issued_token_refusal, member_answer
from gateway.sandbox.state import SANDBOX_STATE, SandboxState
from gateway.sandbox.uploads import UPLOAD_PATH, receive_upload
from gateway.sandbox.wire import (
    bad_request,
    error_response,
    json_response,
    not_found_body,
    status_error_body,
)
from gateway.server.event_loop import loop_factory
from gateway.server.listener import default_max_connections, open_file_limit, serve_until_signalled
from gateway.settings.connections import ConnectionLimits

DEFAULT_MEMBER = "urn:li:person:sandbox-member"
APIS = frozenset({"rest", "v2"})
SANDBOX_PREFIX = "/__sandbox/"
DELAY_HEADER = "X-Sandbox-Delay"
STATUS_HEADER = "X-Sandbox-Status"
# LinkedIn's quota 429 for a daily counter: APPLICATION or APPLICATION_AND_MEMBER.
THROTTLE_HEADER = "X-Sandbox-Throttle"
THROTTLE_COUNTERS = frozenset({"APPLICATION", "APPLICATION_AND_MEMBER"})
MAX_DELAY_SECONDS = 30.0

# Marketing versions 202304 and older are sunset (marketing/versioning); LinkedIn answers
# them, and anything that is not a version, with 426 NONEXISTENT_VERSION.
LAST_SUNSET_VERSION = 202304
_VERSION = re.compile(r"(\d{6})(?:\d{2}|\.\d{1,2})?")


def make_sandbox_app(*, member: str = DEFAULT_MEMBER) -> web.Application:
    """A fresh sandbox; ``member`` is the person every token authenticates as."""
    app = web.Application()
    app[SANDBOX_STATE] = SandboxState.fresh(member)
    app.on_response_prepare.append(_add_linkedin_headers)
    app.router.add_get("/__sandbox/stats", _stats)
    app.router.add_post("/__sandbox/reset", _reset)
    app.router.add_put(UPLOAD_PATH + "{urn}", _upload)
    add_oauth(app, member)
    app.router.add_route("*", "/{tail:.*}", _api)
    return app


def run_sandbox(host: str, port: int, limits: ConnectionLimits | None = None) -> None:
    """Serve a sandbox on ``host:port`` (0 picks a free port) until SIGINT or SIGTERM,
    bounded by ``limits`` (the gateway's defaults unless given)."""
    try:
        new_loop = loop_factory()
    except ValueError as exc:
        raise SystemExit(f"linkedin-gateway sandbox: {exc}") from None
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    # Binding first tells us the real port to print, also when port 0 was asked for.
    sock = socket.create_server((host, port), family=family)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}"
    print(f"LinkedIn sandbox listening on {url} (APIs at {url}/rest and {url}/v2)", flush=True)
    limits = limits or ConnectionLimits()
    # Each sandbox connection costs one descriptor: it calls nothing further.
    cap = limits.max_connections or default_max_connections(open_file_limit(), 1, 0)
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(serve_until_signalled(make_sandbox_app(), sock, limits, cap))


async def _add_linkedin_headers(request: web.Request, response: web.StreamResponse) -> None:
    # LinkedIn's diagnostic headers, so a proxy in front can be seen passing them through.
    response.headers["x-li-uuid"] = base64.b64encode(uuid.uuid4().bytes).decode()
    response.headers["x-li-fabric"] = "sandbox"
    response.headers["x-li-request-id"] = uuid.uuid4().hex.upper()
    response.headers["X-RestLi-Protocol-Version"] = "2.0.0"


async def _stats(request: web.Request) -> web.Response:
    return json_response(request.app[SANDBOX_STATE].stats.snapshot())


async def _reset(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    state.stats.reset()
    if request.query.get("data") == "true":
        state.reseed()
    return web.Response(status=204)


async def _upload(request: web.Request) -> web.Response:
    # The media bytes themselves: accepted whole, never inspected (no token, as at LinkedIn's
    # upload hosts, which authenticate the signed URL instead).
    await request.read()
    if not receive_upload(request.app[SANDBOX_STATE].store, request.match_info["urn"]):
        return json_response(not_found_body(), status=404)
    return web.Response(status=201)


def _api_of(path: str) -> str | None:
    first, slash, _ = path.lstrip("/").partition("/")
    return first if slash and first in APIS else None


async def _api(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    if request.path.startswith(SANDBOX_PREFIX):
        return json_response(not_found_body(), status=404)
    body = await request.read() if request.body_exists else None
    api = _api_of(request.path)
    facts: RequestFacts | None = None
    refusal: web.Response | None = None
    if api is not None:
        try:
            wanted = body if needs_body(request.method, request.headers) else None
            facts = classify(request.method, request.raw_path, request.headers, wanted)
        except GatewayError as exc:
            refusal = json_response(exc.refusal.body(), status=exc.refusal.status)
    state.stats.record(facts.restli_method.value if facts is not None else request.method)

    knob = await _knobs(request, facts)
    if knob is not None:
        return knob
    if api is None:
        return json_response(not_found_body(), status=404)
    denied = _check_token(request) or issued_token_refusal(request) or _check_version(request, api)
    if denied is not None:
        return denied
    if refusal is not None or facts is None:
        return refusal or json_response(not_found_body(), status=404)
    own = member_answer(request, facts)
    if own is not None:
        return own
    call = Call(
        facts=facts,
        content_type=request.headers.get("Content-Type", ""),
        body=body,
        base_url=f"{request.scheme}://{request.host}",
        now_ms=int(time.time() * 1000),
    )
    return answer(state.store, call)


async def _knobs(request: web.Request, facts: RequestFacts | None) -> web.Response | None:
    """Apply X-Sandbox-Delay, then X-Sandbox-Status; a response when one decides."""
    raw_delay = request.headers.get(DELAY_HEADER)
    if raw_delay is not None:
        try:
            delay = float(raw_delay)
        except ValueError:
            delay = math.nan
        if not 0 <= delay <= MAX_DELAY_SECONDS:
            return bad_request(f"{DELAY_HEADER} must be seconds from 0 to {MAX_DELAY_SECONDS:g}")
        await asyncio.sleep(delay)
    throttle = request.headers.get(THROTTLE_HEADER)
    if throttle is not None:
        return _throttled(throttle.strip().upper())
    raw_status = request.headers.get(STATUS_HEADER)
    if raw_status is None:
        return None
    status = int(raw_status) if raw_status.strip().isdigit() else 0
    if not 400 <= status <= 599:
        return bad_request(f"{STATUS_HEADER} must be an HTTP error status from 400 to 599")
    return json_response(status_error_body(status, _knob_message(status, facts)), status=status)


def _throttled(counter: str) -> web.Response:
    if counter not in THROTTLE_COUNTERS:
        return bad_request(f"{THROTTLE_HEADER} must be APPLICATION or APPLICATION_AND_MEMBER")
    # LinkedIn's own words for a daily counter that ran out (linkedin-facts §2).
    message = f"Resource level throttle {counter} DAY limit for calls to this resource is reached."
    return error_response(429, "TOO_MANY_REQUESTS", message, 101)


def _knob_message(status: int, facts: RequestFacts | None) -> str | None:
    if facts is None:
        return None
    if status == 403:
        # LinkedIn names resource.METHOD.version (API guide, "Error handling").
        resource = facts.segments[0] if facts.segments else ""
        version = facts.version or "NO_VERSION"
        return f"Not enough permissions to access: {resource}.{facts.restli_method}.{version}"
    if status == 426 and facts.version:
        return f"Requested version {facts.version} is not active"
    return None


def _check_token(request: web.Request) -> web.Response | None:
    # Authentication errors: 65600 with "Empty oauth2_access_token" or
    # "Unknown authentication schema" (shared/authentication, "Error handling").
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme and scheme.lower() != "bearer":
        return error_response(401, "INVALID_ACCESS_TOKEN", "Unknown authentication schema", 65600)
    if not token.strip():
        return error_response(401, "INVALID_ACCESS_TOKEN", "Empty oauth2_access_token", 65600)
    return None


def _check_version(request: web.Request, api: str) -> web.Response | None:
    if api != "rest":
        return None
    version = request.headers.get("LinkedIn-Version", "").strip()
    if not version:
        return error_response(
            400,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the "
            "LinkedIn-Version header.",
        )
    match = _VERSION.fullmatch(version)
    if match is None or int(match.group(1)) <= LAST_SUNSET_VERSION:
        return error_response(
            426, "NONEXISTENT_VERSION", f"Requested version {version[:32]} is not active"
        )
    return None
