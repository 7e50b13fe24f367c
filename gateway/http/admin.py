"""Admin endpoints, on their own listener: health, readiness, metrics, usage, unmatched calls.

With ``admin_token_env`` set, every path but the probes (``/healthz``, ``/readyz``) needs
``Authorization: Bearer <token>``; the loader requires the token when the listener is not
on loopback. Every answer the listener makes itself is JSON in LinkedIn's error shape.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.catalog.unmatched_context import unmatched_report
from gateway.errors import Refusal, StoreError
from gateway.http.responses import refusal_response
from gateway.http.usage_routes import add_usage_routes
from gateway.policy.auth import bearer_challenge
from gateway.quota.keys import utc_day
from gateway.runtime import RUNTIME, Runtime
from gateway.support.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

GATEWAY_APP = web.AppKey("gateway_app", web.Application)
# serve --workers: (workers ready now, workers the pool runs), from gateway.server.workers.
WorkersReady = Callable[[], tuple[int, int]]
WORKERS_READY: web.AppKey[WorkersReady] = web.AppKey("workers_ready")


# Load balancers and orchestrators probe these without credentials.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
REALM = "linkedin-gateway admin"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_admin_app(gateway_app: web.Application) -> web.Application:
    admin = web.Application(middlewares=[_guard])
    admin[GATEWAY_APP] = gateway_app
    admin.router.add_get("/healthz", healthz)
    admin.router.add_get("/readyz", readyz)
    admin.router.add_get("/metrics", metrics)
    admin.router.add_get("/unmatched", unmatched)
    add_usage_routes(admin, _runtime)
    return admin


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The token check first (an unknown path answers 401 too: nothing is learned without
    the token), then aiohttp's plain-text 404 and 405 as JSON refusals."""
    if request.path not in OPEN_PATHS:
        refused = _unauthorized(request)
        if refused is not None:
            return refusal_response(refused)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return refusal_response(
            Refusal(404, "admin_not_found", "NOT_FOUND", f"No admin resource at {request.path}")
        )
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        return refusal_response(
            Refusal(
                405,
                "method_not_allowed",
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {request.path} (allowed: {allowed})",
                headers={"Allow": allowed},
            )
        )


def _unauthorized(request: web.Request) -> Refusal | None:
    runtime = _runtime(request)
    if runtime is None:
        # Before the gateway has started, the token is not known yet: refuse, not open.
        return Refusal(503, "admin_not_ready", "SERVICE_UNAVAILABLE", "The gateway is starting")
    expected = runtime.settings.guards.admin_token
    if expected is None:
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Constant time: the comparison must not tell how much of a guess was right.
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        return None
    return Refusal(
        401,
        "admin_unauthorized",
        "UNAUTHORIZED",
        "The admin endpoints need Authorization: Bearer <the admin token>",
        headers=bearer_challenge(realm=REALM),
    )


def _runtime(request: web.Request) -> Runtime | None:
    gateway_app = request.app[GATEWAY_APP]
    return gateway_app.get(RUNTIME)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready = config loaded AND store answering AND not draining (as envoy's ratelimit),
    AND, with several workers, every worker serving."""
    runtime = _runtime(request)
    checks = {"config": runtime is not None, "store": False, "draining": True}
    if runtime is not None:
        checks["draining"] = runtime.draining
        try:
            await runtime.store.ping()
            checks["store"] = True
        except StoreError:
            checks["store"] = False
    ready = checks["config"] and checks["store"] and not checks["draining"]
    body: dict[str, object] = {**checks}
    pool = request.app.get(WORKERS_READY)
    if pool is not None:
        serving, expected = pool()
        body["workers"] = {"ready": serving, "expected": expected}
        ready = ready and serving >= expected
    return web.json_response({"ready": ready, **body}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    runtime = _runtime(request)
    text = runtime.metrics.render() if runtime is not None else ""
    return web.Response(body=text.encode(), headers={"Content-Type": METRICS_CONTENT_TYPE})


async def unmatched(request: web.Request) -> web.Response:
    """Today's calls outside the catalog, most called first."""
    runtime = _runtime(request)
    if runtime is None:
        return refusal_response(
            Refusal(503, "admin_not_ready", "SERVICE_UNAVAILABLE", "The gateway is starting")
        )
    now = runtime.clock()
    try:
        tally = await runtime.unmatched.today(now)
    except StoreError as exc:
        return refusal_response(
            Refusal(503, "quota_store_unavailable", "SERVICE_UNAVAILABLE", str(exc))
        )
    return web.json_response(unmatched_report(utc_day(now), tally))
