"""The admin listener's usage endpoints: ``GET /usage`` (the HTML page, every app) and
``GET /usage/{app}`` (JSON, ``?member=URN`` adds that member's bucket)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.errors import Refusal, StoreError
from gateway.http.responses import refusal_response
from gateway.runtime import Runtime
from gateway.settings.loader import MEMBER_RE
from gateway.settings.model import AppConfig
from gateway.usage.page import render_page
from gateway.usage.report import AppUsage, app_usage

RuntimeOf = Callable[[web.Request], Runtime | None]
# The page holds no script and loads nothing: only its own inline style may apply.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def add_usage_routes(admin: web.Application, runtime_of: RuntimeOf) -> None:
    async def page(request: web.Request) -> web.Response:
        runtime = _ready(runtime_of(request))
        now = runtime.clock()
        await runtime.usage.flush(now)
        try:
            reports = [await _usage(runtime, app, now) for app in runtime.settings.apps.values()]
        except StoreError as exc:
            return refusal_response(_store_down(exc))
        return web.Response(
            text=render_page(reports, now), content_type="text/html", headers=PAGE_HEADERS
        )

    async def one_app(request: web.Request) -> web.Response:
        runtime = _ready(runtime_of(request))
        name = request.match_info["app"]
        app = runtime.settings.apps.get(name)
        if app is None:
            return refusal_response(
                Refusal(404, "admin_not_found", "NOT_FOUND", f"unknown app {name}")
            )
        member = request.query.get("member") or None
        if member is not None and not MEMBER_RE.match(member):
            return refusal_response(
                Refusal(
                    400,
                    "bad_request",
                    "BAD_REQUEST",
                    "member must be a member URN like urn:li:person:abc123",
                )
            )
        now = runtime.clock()
        await runtime.usage.flush(now)
        try:
            report: AppUsage = await _usage(runtime, app, now, member)
        except StoreError as exc:
            return refusal_response(_store_down(exc))
        return web.json_response(report.as_json(member))

    admin.router.add_get("/usage", page)
    admin.router.add_get("/usage/{app}", one_app)


def _ready(runtime: Runtime | None) -> Runtime:
    if runtime is None:
        raise web.HTTPServiceUnavailable()
    return runtime


def _store_down(exc: StoreError) -> Refusal:
    return Refusal(503, "quota_store_unavailable", "SERVICE_UNAVAILABLE", str(exc))


async def _usage(
    runtime: Runtime, app: AppConfig, now: float, member: str | None = None
) -> AppUsage:
    return await app_usage(runtime.settings.catalog, runtime.usage, runtime.store, app, now, member)
