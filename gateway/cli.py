"""The linkedin-gateway command: serve | check-config | catalog | sandbox | ad-accounts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from gateway import __version__, logs
from gateway.adaccounts import cli as ad_accounts_cli
from gateway.errors import ConfigError
from gateway.event_loop import loop_factory, loop_name
from gateway.settings.loader import default_config_path, load_settings
from gateway.settings.model import Settings

DEMO_HINT = """\
linkedin-gateway {version} on http://{listen} -> {upstream}, store {store}
Demo app acme-social (Community Management, Development tier: 100 calls/app, 10/member a day).
Try:
  curl -i -H 'Authorization: Bearer demo-alice' -H 'LinkedIn-Version: 202505' \\
       'http://{listen}/rest/organizationAcls?q=roleAssignee'
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkedin-gateway",
        description="OAuth2 gateway enforcing LinkedIn's products, permissions, tiers and quotas.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the gateway (default: built-in demo config)")
    serve.add_argument("--config", help="gateway.yaml (default: $GATEWAY_CONFIG or the demo)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    check = sub.add_parser("check-config", help="validate a gateway.yaml and its catalog")
    check.add_argument(
        "path", nargs="?", help="gateway.yaml (default: $GATEWAY_CONFIG or the demo)"
    )

    catalog = sub.add_parser("catalog", help="print the product catalog readably")
    catalog.add_argument("--catalog", help="a catalog.yaml (default: the shipped one)")

    sandbox = sub.add_parser("sandbox", help="run the built-in LinkedIn sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)

    ad_accounts_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    if command == "serve":
        return _serve(getattr(args, "config", None), getattr(args, "log_level", "INFO"))
    if command == "check-config":
        return _check_config(args.path)
    if command == "catalog":
        return _print_catalog(args.catalog)
    if command == "sandbox":
        from gateway.sandbox.app import run_sandbox

        run_sandbox(args.host, args.port)
        return 0
    if command == ad_accounts_cli.COMMAND:
        return ad_accounts_cli.run(args)
    parser.error(f"unknown command {command}")
    return 2


def _print_problems(exc: ConfigError) -> None:
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)


def _check_config(path: str | None) -> int:
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        _print_problems(exc)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(
        f"{settings.source}: ok ({len(settings.apps)} apps, {len(settings.tokens)} static tokens, "
        f"{len(settings.catalog.routes)} routes in {settings.catalog.source})"
    )
    return 0


def _print_catalog(path: str | None) -> int:
    from gateway.catalog.loader import load_catalog
    from gateway.catalog.render import render_catalog

    try:
        catalog = load_catalog(path)
    except ConfigError as exc:
        _print_problems(exc)
        return 1
    sys.stdout.write(render_catalog(catalog))
    return 0


def _serve(config: str | None, level: str) -> int:
    handler = logs.configure(level)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        _print_problems(exc)
        return 1
    try:
        new_loop = loop_factory()
    except ValueError as exc:
        print(f"linkedin-gateway: {exc}", file=sys.stderr)
        return 2
    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(_run(settings, handler, demo=settings.source == default_config_path()))
    finally:
        handler.flush()
    return 0


async def _run(settings: Settings, handler: logging.Handler, *, demo: bool) -> None:
    from gateway.app import UPSTREAM_BASE, build_admin_app, build_gateway_app
    from gateway.runtime import RUNTIME

    gateway_app = build_gateway_app(settings)
    runner = web.AppRunner(gateway_app, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen.host, settings.listen.port)
    await site.start()
    admin_runner: web.AppRunner | None = None
    if settings.admin_listen is not None:
        admin_runner = web.AppRunner(build_admin_app(gateway_app), access_log=None)
        await admin_runner.setup()
        await web.TCPSite(
            admin_runner, settings.admin_listen.host, settings.admin_listen.port
        ).start()
    listen = "{}:{}".format(*runner.addresses[0][:2])
    upstream = "built-in sandbox" if settings.upstream == "sandbox" else settings.upstream
    if demo:
        print(
            DEMO_HINT.format(
                version=__version__, listen=listen, upstream=upstream, store=settings.store
            ),
            flush=True,
        )
    loop = asyncio.get_running_loop()
    logging.getLogger("gateway").info(
        "listening on http://%s (upstream %s at %s, store %s, %s loop)",
        listen,
        upstream,
        gateway_app[UPSTREAM_BASE],
        settings.store,
        loop_name(loop),
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    flusher = asyncio.create_task(logs.flush_periodically(handler))
    await stop.wait()
    flusher.cancel()
    logging.getLogger("gateway").info("draining: finishing in-flight requests")
    # Readiness turns false first, so a load balancer stops sending while in-flight
    # requests finish; the admin listener goes last.
    gateway_app[RUNTIME].draining = True
    await runner.cleanup()
    if admin_runner is not None:
        await admin_runner.cleanup()
    logging.getLogger("gateway").info("stopped")
