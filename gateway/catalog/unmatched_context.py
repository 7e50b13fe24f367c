"""The unmatched-call notes' wiring: which decisions are unmatched, the flush task, and
the admin listener's ``GET /unmatched``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime

from aiohttp import web

from gateway.catalog.unmatched import UnmatchedCalls, run_flush
from gateway.errors import Refusal, StoreError
from gateway.http.responses import refusal_response
from gateway.policy.decide import Admit, Decision
from gateway.quota.keys import utc_day
from gateway.restli.facts import RequestFacts
from gateway.runtime import RUNTIME, Runtime

NOT_IN_CATALOG = "route_not_in_catalog"


def is_unmatched(decision: Decision) -> bool:
    """True when no catalog route matched: forwarded uncatalogued, or denied for it."""
    if isinstance(decision, Admit):
        return decision.match is None
    return decision.refusal.reason == NOT_IN_CATALOG


def note_unmatched(
    calls: UnmatchedCalls, method: str, facts: RequestFacts, decision: Decision, now: float
) -> None:
    if is_unmatched(decision):
        calls.note(method, facts.api, facts.segments, now)


async def unmatched_context(app: web.Application) -> AsyncIterator[None]:
    """The unmatched-call flush, for the gateway application's life."""
    runtime = app[RUNTIME]
    async for _ in run_flush(runtime.unmatched, runtime.clock):
        yield


RuntimeOf = Callable[[web.Request], Runtime | None]


def unmatched_report(day: int, tally: Mapping[str, int]) -> dict[str, object]:
    """The JSON of ``/unmatched``: the day and its paths, most called first."""
    rows = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "day": datetime.fromtimestamp(day * 86400, tz=UTC).date().isoformat(),
        "paths": [{"path": path, "calls": calls} for path, calls in rows],
    }


def add_unmatched_route(admin: web.Application, runtime_of: RuntimeOf) -> None:
    """``GET /unmatched`` on the admin listener: today's calls outside the catalog."""

    async def unmatched(request: web.Request) -> web.Response:
        runtime = runtime_of(request)
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

    admin.router.add_get("/unmatched", unmatched)
