"""The linkedin-gateway command: serve | check-config | init | catalog | sandbox | ad-accounts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from importlib import resources

from aiohttp import web

from gateway import __version__
from gateway.adaccounts import cli as ad_accounts_cli
from gateway.catalog import cli as catalog_cli
from gateway.errors import ConfigError
from gateway.server.event_loop import LOOP_ENV, LoopFactory, loop_factory, loop_name
from gateway.server.heap import freeze_startup_heap
from gateway.server.listener import connection_caps, start_guarded_site
from gateway.server.startup import (
    StartupError,
    bind_listener,
    bound_address,
    check_store,
    os_reason,
)
from gateway.server.workers import WorkerRole, shared_store_problem
from gateway.settings.loader import ENV_CONFIG, ENV_OVERRIDES, default_config_path, load_settings
from gateway.settings.model import HostPort, OnStoreError, Settings
from gateway.support import logs
from gateway.support.redact import mask_url

PROG = "linkedin-gateway"

# Every environment variable the gateway reads itself, for --help and docs/cli.md (the
# deployment tests check compose.yaml against it). Secrets an app's client_secret_env names
# come on top.
ENVIRONMENT: dict[str, str] = {
    ENV_CONFIG: "gateway.yaml to load (default: the built-in demo)",
    ENV_OVERRIDES["listen"]: "HOST:PORT the gateway listens on (--listen, listen:)",
    ENV_OVERRIDES["admin_listen"]: "HOST:PORT of the admin listener, or off (--admin-listen)",
    ENV_OVERRIDES["upstream"]: "sandbox or an http(s) base URL (--upstream, upstream:)",
    ENV_OVERRIDES["store"]: "memory:// or redis://HOST:PORT/DB ... (--store, store:)",
    ENV_OVERRIDES["workers"]: "processes serving the listeners, or auto (--workers, workers:)",
    LOOP_ENV: "auto (default), uvloop or asyncio: the event loop of serve and sandbox",
}

DEMO_HINT = """\
linkedin-gateway {version} on http://{listen} -> {upstream}, store {store}
Demo app acme-social (Community Management, Development tier: 100 calls/app, 10/member a day).
Try:
  curl -i -H 'Authorization: Bearer demo-alice' -H 'LinkedIn-Version: 202505' \\
       'http://{listen}/rest/organizationAcls?q=roleAssignee'
"""

NO_COMMAND = (
    f"{PROG}: a command is required; `{PROG} serve` runs the gateway (the built-in demo "
    f"when no --config is given), `{PROG} --help` lists them all"
)

STARTER = "starter.yaml"
# After SIGTERM, how long in-flight requests may take to finish (deploy/kubernetes sizes
# terminationGracePeriodSeconds from it).
DRAIN_SECONDS = 10.0


def environment_help() -> str:
    width = max(len(name) for name in ENVIRONMENT)
    lines = [f"  {name:<{width}}  {text}" for name, text in ENVIRONMENT.items()]
    return (
        "environment (a flag beats the environment, which beats the config file):\n"
        + "\n".join(lines)
        + "\n  and the variables an app's client_secret_env names"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="OAuth2 gateway enforcing LinkedIn's products, permissions, tiers and quotas.",
        epilog=environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the gateway (default: the built-in demo config)",
        description="Run the gateway until SIGTERM or SIGINT, then drain and exit 0.",
        epilog=environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", help=f"gateway.yaml (default: ${ENV_CONFIG} or the demo)")
    serve.add_argument("--listen", metavar="HOST:PORT", help="where the gateway listens")
    serve.add_argument(
        "--admin-listen", metavar="HOST:PORT|off", help="the admin listener, or off for none"
    )
    serve.add_argument("--store", metavar="URL", help="memory:// or redis://HOST:PORT/DB")
    serve.add_argument("--upstream", metavar="URL", help="sandbox or an http(s) base URL")
    serve.add_argument(
        "--workers",
        metavar="N|auto",
        help="processes serving the listeners (default 1; auto: one per core; more than 1 "
        "needs a Redis store)",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    check = sub.add_parser("check-config", help="validate a gateway.yaml and its catalog")
    check.add_argument("path", nargs="?", help=f"gateway.yaml (default: ${ENV_CONFIG} or the demo)")

    init = sub.add_parser("init", help="write a commented starter gateway.yaml")
    init.add_argument(
        "path", nargs="?", default="gateway.yaml", help="where (default: gateway.yaml; - prints it)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    catalog_cli.add_parser(sub)

    sandbox = sub.add_parser("sandbox", help="run the built-in LinkedIn sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=_port, default=8090)

    ad_accounts_cli.add_parser(sub)
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, not {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command
    if command is None:
        parser.print_usage(sys.stderr)
        print(NO_COMMAND, file=sys.stderr)
        return 2
    if command == "serve":
        return _serve(args)
    if command == "check-config":
        return _check_config(args.path)
    if command == "init":
        return _init(args.path, force=args.force)
    if command == catalog_cli.COMMAND:
        return catalog_cli.run(args)
    if command == "sandbox":
        return _sandbox(args.host, args.port)
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
    problem = shared_store_problem(settings)
    if problem is not None:
        print(f"error: {settings.source}: {problem}", file=sys.stderr)
        return 1
    print(
        f"{settings.source}: ok ({len(settings.apps)} apps, {len(settings.tokens)} static tokens, "
        f"{len(settings.catalog.routes)} routes in {settings.catalog.source})"
    )
    return 0


def _init(path: str, *, force: bool) -> int:
    text = (resources.files("gateway") / "_data" / STARTER).read_text(encoding="utf-8")
    if path == "-":
        sys.stdout.write(text)
        return 0
    # O_EXCL: never overwrite a file that appeared since the user looked, unless --force.
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        print(f"{PROG} init: {path} exists; --force overwrites it", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG} init: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 1
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(
        f"wrote {path}; check it with `{PROG} check-config {path}`, "
        f"run it with `{PROG} serve --config {path}`"
    )
    return 0


def _sandbox(host: str, port: int) -> int:
    from gateway.sandbox.app import run_sandbox

    try:
        run_sandbox(host, port)
    except OSError as exc:
        print(f"{PROG} sandbox: cannot listen on {host}:{port}: {os_reason(exc)}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    handler = logs.configure(args.log_level)
    overrides = {
        key: value
        for key, value in (
            ("listen", args.listen),
            ("admin_listen", args.admin_listen),
            ("store", args.store),
            ("upstream", args.upstream),
            ("workers", args.workers),
        )
        if value
    }
    try:
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        _print_problems(exc)
        return 1
    logs.use_format(handler, settings.log_format)
    problem = shared_store_problem(settings)
    if problem is not None:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return 2
    try:
        new_loop = loop_factory()
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    try:
        if settings.workers > 1:
            return _serve_workers(settings, args.config, overrides, handler, new_loop)
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(_run(settings, args.config, overrides, handler))
    except (StartupError, ConfigError) as exc:
        handler.flush()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C before the signal handlers were in place: stopped while starting.
        handler.flush()
        print(f"{PROG}: interrupted while starting", file=sys.stderr)
        return 130
    finally:
        handler.flush()
    return 0


async def _run(
    settings: Settings,
    config: str | None,
    overrides: dict[str, str],
    handler: logging.Handler,
    worker: WorkerRole | None = None,
) -> None:
    from gateway.app import SANDBOX, UPSTREAM_BASE, build_admin_app, build_gateway_app
    from gateway.http.admin import WORKERS_READY
    from gateway.runtime import RUNTIME

    log = logging.getLogger("gateway")
    # Before the sockets listen: a stop asked for while starting drains once started,
    # instead of killing a process that already accepts connections.
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    if worker is None:
        settings, main_sock, admin_sock = await _listeners(settings, config, overrides, log)
    else:
        main_sock, admin_sock = worker.main_sock, worker.admin_sock
    listen = bound_address(main_sock)

    # Per process: each worker has descriptors of its own.
    limits = settings.connections
    main_cap, admin_cap = connection_caps(limits, embedded_sandbox=settings.upstream == SANDBOX)
    gateway_app = build_gateway_app(settings)
    runner = web.AppRunner(gateway_app, access_log=None, shutdown_timeout=DRAIN_SECONDS)
    admin_runner: web.AppRunner | None = None
    try:
        await runner.setup()
        await start_guarded_site(runner, main_sock, limits, main_cap)
        if admin_sock is not None:
            admin_app = build_admin_app(gateway_app)
            if worker is not None:
                admin_app[WORKERS_READY] = worker.workers_ready
            admin_runner = web.AppRunner(admin_app, access_log=None)
            await admin_runner.setup()
            await start_guarded_site(admin_runner, admin_sock, limits, admin_cap)
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        if admin_runner is not None:
            await admin_runner.cleanup()
        await runner.cleanup()
        main_sock.close()
        if admin_sock is not None:
            admin_sock.close()
        raise StartupError(f"start-up failed: {type(exc).__name__}: {exc}") from None

    loop = asyncio.get_running_loop()
    base = mask_url(gateway_app[UPSTREAM_BASE])
    if worker is None:
        _announce(settings, listen, admin_sock, f"upstream {{}} at {base}", loop_name(loop))
    if worker is not None:
        worker.accept_stop_signals(loop)
        worker.serving()
        log.info(
            "worker %d (pid %d) serving (upstream at %s, %s loop)",
            worker.index,
            os.getpid(),
            base,
            loop_name(loop),
        )
    log.debug("start-up heap frozen: %d objects", freeze_startup_heap())
    flusher = asyncio.create_task(logs.flush_periodically(handler))
    await stop.wait()
    flusher.cancel()
    log.info("draining: finishing in-flight requests")
    handler.flush()
    # Readiness turns false first, so a load balancer stops sending while in-flight
    # requests finish; the admin listener goes last.
    if worker is not None:
        worker.draining()
    gateway_app[RUNTIME].draining = True
    await runner.cleanup()
    if admin_runner is not None:
        if worker is not None:
            await worker.admin_last()
        await admin_runner.cleanup()
    log.info("stopped")


def _announce(
    settings: Settings,
    listen: HostPort,
    admin_sock: socket.socket | None,
    upstream_detail: str,
    loop: str,
    workers: str = "",
) -> None:
    """The demo's hint on stdout and the lines saying where serve listens."""
    shown_listen = _url_host(listen)
    upstream = "built-in sandbox" if settings.upstream == "sandbox" else mask_url(settings.upstream)
    store = mask_url(settings.store)
    if settings.source == default_config_path():
        print(
            DEMO_HINT.format(
                version=__version__, listen=shown_listen, upstream=upstream, store=store
            ),
            flush=True,
        )
    log = logging.getLogger("gateway")
    log.info(
        "listening on http://%s (%s%s, store %s, %s loop)",
        shown_listen,
        workers,
        upstream_detail.format(upstream),
        store,
        loop,
    )
    if admin_sock is not None:
        log.info("admin listener on http://%s", _url_host(bound_address(admin_sock)))


def _serve_workers(
    settings: Settings,
    config: str | None,
    overrides: dict[str, str],
    handler: logging.Handler,
    new_loop: LoopFactory,
) -> int:
    """The pre-fork parent (gateway.server.workers): sockets and store checked here, once."""
    from gateway.server import workers

    log = logging.getLogger("gateway")
    run_dir = workers.RunDir.create()
    try:
        workers.use_multiprocess_metrics(run_dir)
        workers.use_locked_stderr(handler, run_dir)
        with asyncio.Runner(loop_factory=new_loop) as runner:
            settings, main_sock, admin_sock = runner.run(
                _listeners(settings, config, overrides, log)
            )
            loop = loop_name(runner.get_loop())
        # Imported once here, after the metrics directory is set: the workers share it.
        import gateway.app  # noqa: F401

        def worker_main(role: WorkerRole) -> int:
            try:
                with asyncio.Runner(loop_factory=new_loop) as worker_runner:
                    worker_runner.run(_run(settings, config, overrides, handler, role))
            except (StartupError, ConfigError) as exc:
                handler.flush()
                print(f"{PROG}: worker {role.index}: {exc}", file=sys.stderr)
                return 1
            return 0

        def on_ready() -> None:
            count = f"{settings.workers} workers, "
            _announce(settings, bound_address(main_sock), admin_sock, "upstream {}", loop, count)

        pool = workers.Pool(
            settings, main_sock, admin_sock, run_dir, worker_main, handler, on_ready
        )
        try:
            code = pool.run()
        finally:
            main_sock.close()
            if admin_sock is not None:
                admin_sock.close()
        if code == 0:
            log.info("stopped: every worker drained")
        else:
            log.error("stopped: not every worker drained cleanly (exit %d)", code)
        return code
    finally:
        workers.use_plain_stderr(handler)
        run_dir.remove()


async def _listeners(
    settings: Settings, config: str | None, overrides: dict[str, str], log: logging.Logger
) -> tuple[Settings, socket.socket, socket.socket | None]:
    """Both sockets first: a port in use stops serve before the store, the upstream or the
    built-in sandbox is touched. Then the store, and the settings for the port given."""
    main_sock = bind_listener(settings.listen, "main", "listen / --listen / GATEWAY_LISTEN")
    admin_sock: socket.socket | None = None
    try:
        if settings.admin_listen is not None:
            admin_sock = bind_listener(
                settings.admin_listen,
                "admin",
                "admin_listen / --admin-listen / GATEWAY_ADMIN_LISTEN",
            )
        listen = bound_address(main_sock)
        if listen.port != settings.listen.port:
            # Port 0 asked for: what depends on the listen address (a demo redirect_uri
            # written with {listen}) must name the port the kernel gave.
            given = f"{settings.listen.host}:{listen.port}"
            settings = load_settings(config, overrides={**overrides, "listen": given})
        await _check_store_at_start(settings, log)
    except BaseException:
        main_sock.close()
        if admin_sock is not None:
            admin_sock.close()
        raise
    return settings, main_sock, admin_sock


async def _check_store_at_start(settings: Settings, log: logging.Logger) -> None:
    """A store that does not answer at start stops serve, unless the config chose to run
    without it (``on_store_error: open``): then it is one warning and serve goes on."""
    try:
        await check_store(settings.store)
    except StartupError as exc:
        if settings.on_store_error is not OnStoreError.OPEN:
            raise
        log.warning("%s; starting anyway (on_store_error: open)", exc)


def _url_host(address: object) -> str:
    text = str(address)
    host, _, port = text.rpartition(":")
    return f"[{host}]:{port}" if ":" in host else text
