"""Admin endpoints, on their own listener: health, readiness, metrics, usage."""

from __future__ import annotations

import json
import math

from aiohttp import web

from gateway.errors import StoreError
from gateway.policy_quota import quota_buckets
from gateway.runtime import RUNTIME, Runtime

GATEWAY_APP = web.AppKey("gateway_app", web.Application)


def build_admin_app(gateway_app: web.Application) -> web.Application:
    admin = web.Application()
    admin[GATEWAY_APP] = gateway_app
    admin.router.add_get("/healthz", healthz)
    admin.router.add_get("/readyz", readyz)
    admin.router.add_get("/metrics", metrics)
    admin.router.add_get("/usage/{app}", usage)
    return admin


def _runtime(request: web.Request) -> Runtime | None:
    gateway_app = request.app[GATEWAY_APP]
    return gateway_app.get(RUNTIME)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready = config loaded AND store answering AND not draining (as envoy's ratelimit)."""
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
    return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    runtime = _runtime(request)
    text = runtime.metrics.render() if runtime is not None else ""
    return web.Response(text=text, content_type="text/plain")


async def usage(request: web.Request) -> web.Response:
    """Where an app (and optionally ?member=URN) stands in today's counters."""
    runtime = _runtime(request)
    if runtime is None:
        raise web.HTTPServiceUnavailable()
    name = request.match_info["app"]
    app = runtime.settings.apps.get(name)
    if app is None:
        raise web.HTTPNotFound(
            text=json.dumps({"message": f"unknown app {name}"}), content_type="application/json"
        )
    member = request.query.get("member") or None
    specs = quota_buckets(app, member, runtime.settings.catalog, tuple(app.products))
    now = runtime.clock()
    try:
        states = await runtime.store.peek(specs, now)
    except StoreError as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    return web.json_response(
        {
            "app": name,
            "member": member,
            "buckets": [
                {
                    "name": s.spec.name,
                    "limit": s.spec.limit,
                    "used": s.used,
                    "remaining": s.remaining,
                    "window": s.spec.window.value,
                    "reset_at": math.ceil(s.reset_at),
                }
                for s in states
            ],
        }
    )
