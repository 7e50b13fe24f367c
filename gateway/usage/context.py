"""The usage facts' wiring: the ledger that goes with a store, and the background tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway.runtime import RUNTIME
from gateway.settings.model import Settings
from gateway.support.metrics import Metrics
from gateway.usage.ledger import UsageLedger
from gateway.usage.recorder import Usage, usage_tasks


def usage_for(settings: Settings, ledger: UsageLedger, metrics: Metrics) -> Usage:
    return Usage(ledger, metrics, settings.usage_alerts, tuple(settings.apps))


async def usage_context(app: web.Application) -> AsyncIterator[None]:
    """The usage flush and the alert teller, for the gateway application's life."""
    runtime = app[RUNTIME]
    async for _ in usage_tasks(runtime.usage, runtime.clock):
        yield
