"""Composition root: wires settings, token source, quota store, upstream and handler."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from gateway.adaccounts.gate import AdAccountGate
from gateway.backends import Backends
from gateway.catalog.unmatched import UnmatchedCalls, run_flush
from gateway.http import webhook_routes
from gateway.http.admin import build_admin_app
from gateway.http.handler import handle
from gateway.http.oauth_routes import add_oauth_routes
from gateway.http.public_bodies import PUBLIC_BODIES, PublicBodies
from gateway.http.request_id import stamp
from gateway.quota.charging import Charging
from gateway.quota.refusal_cache import RefusalCache
from gateway.quota.store import QuotaStore
from gateway.roles.enforce import RoleEnforcement, role_lookups
from gateway.runtime import RUNTIME, Clock, Runtime
from gateway.sandbox.app import make_sandbox_app
from gateway.server.listener import connection_caps, start_guarded_site
from gateway.settings.connections import ConnectionLimits
from gateway.settings.model import OnStoreError, Settings
from gateway.support.logs import guard_server_logger
from gateway.support.metrics import Metrics, refresh_periodically
from gateway.tokens.identity import start_identity
from gateway.upstream import Upstream
from gateway.usage.recorder import Usage, usage_tasks
from gateway.webhooks.delivery import webhook_delivery

SANDBOX = "sandbox"
UPSTREAM_BASE = web.AppKey("upstream_base", str)


def build_gateway_app(
    settings: Settings,
    *,
    clock: Clock = time.time,
    store: QuotaStore | None = None,
) -> web.Application:
    """The gateway's aiohttp application. Long-lived resources live in its cleanup context."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    guard_server_logger()
    app.on_response_prepare.append(stamp)
    app[PUBLIC_BODIES] = PublicBodies(settings.public.public_body_reads)
    app.cleanup_ctx.append(_runtime_context(settings, clock, store))
    # What runs beside the request path, each given only what it works with.
    app.cleanup_ctx.append(
        _with_runtime(lambda r: role_lookups(r.roles, r.settings, r.upstream.base_url))
    )
    app.cleanup_ctx.append(
        _with_runtime(
            lambda r: webhook_delivery(
                r.webhook_queue, r.settings.apps, r.clock, r.metrics, r.webhook_wakeup
            )
        )
    )
    app.cleanup_ctx.append(_with_runtime(lambda r: usage_tasks(r.usage, r.clock)))
    app.cleanup_ctx.append(_with_runtime(lambda r: run_flush(r.unmatched, r.clock)))
    # LinkedIn's webhook calls to the app, fronted here (gateway.webhooks).
    app.router.add_get("/webhooks/{app}", webhook_routes.challenge)
    app.router.add_post("/webhooks/{app}", webhook_routes.push)
    add_oauth_routes(app)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _runtime_context(
    settings: Settings, clock: Clock, store: QuotaStore | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        sandbox_runner: web.AppRunner | None = None
        base = settings.upstream
        if base == SANDBOX:
            sandbox_runner, base = await _start_sandbox(settings.connections)
        app[UPSTREAM_BASE] = base
        upstream = Upstream(
            base,
            connect_timeout=settings.upstream_connect_timeout,
            timeout=settings.upstream_timeout,
        )
        await upstream.start()
        backends = Backends.of(store) if store is not None else Backends.open(settings.store)
        if settings.on_store_error is OnStoreError.LOCAL:
            backends.keep_local_allowance(settings.replicas)
        metrics = Metrics(settings.apps)
        usage = Usage(backends.usage_ledger(), metrics, settings.usage_alerts, tuple(settings.apps))
        charging = Charging(
            backends.store,
            settings.on_store_error,
            metrics,
            usage,
            settings.apps,
            RefusalCache(settings.refusal_cache_seconds),
        )
        identity = await start_identity(
            settings, charging, backends.redis, upstream, metrics, base if sandbox_runner else None
        )
        app[RUNTIME] = Runtime(
            settings=settings,
            identity=identity,
            store=backends.store,
            upstream=upstream,
            metrics=metrics,
            clock=clock,
            charging=charging,
            ad_accounts=AdAccountGate(
                backends.ad_account_ledger(), settings.on_store_error, metrics
            ),
            roles=RoleEnforcement(
                settings.catalog,
                backends.role_cache(),
                settings.role_cache_seconds,
                charging,
                metrics,
            ),
            usage=usage,
            webhook_queue=backends.webhook_queue(),
            unmatched=UnmatchedCalls(settings.catalog, backends.unmatched_ledger(), metrics),
        )
        refresher = (
            asyncio.create_task(refresh_periodically(metrics)) if metrics.multiprocess else None
        )
        try:
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
            await identity.close()
            await upstream.close()
            if store is None:
                await backends.close()
            if sandbox_runner is not None:
                await sandbox_runner.cleanup()

    return context


def _with_runtime(
    run: Callable[[Runtime], AsyncIterator[None]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs ``run`` with the runtime the first context built."""

    def context(app: web.Application) -> AsyncIterator[None]:
        return run(app[RUNTIME])

    return context


async def _start_sandbox(limits: ConnectionLimits) -> tuple[web.AppRunner, str]:
    # The sandbox runs on its own loopback socket so the proxy path is the same as with
    # a real upstream: real connections, real streaming. Other local processes can reach
    # that socket too, so it is bounded like the main listener.
    runner = web.AppRunner(make_sandbox_app(), access_log=None)
    await runner.setup()
    cap, _ = connection_caps(limits, embedded_sandbox=True)
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        await start_guarded_site(runner, sock, limits, cap)
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


__all__ = ["UPSTREAM_BASE", "build_admin_app", "build_gateway_app"]
