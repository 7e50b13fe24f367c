"""``linkedin-gateway catalog``: the catalog as text or as docs/catalog.md, and the calls it
did not know (``--unmatched``)."""

from __future__ import annotations

import argparse
import sys

from gateway.errors import ConfigError
from gateway.quota.schemes import is_shared

COMMAND = "catalog"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalog = sub.add_parser(COMMAND, help="print the product catalog readably")
    catalog.add_argument("--catalog", help="a catalog.yaml (default: the shipped one)")
    catalog.add_argument(
        "--markdown",
        action="store_true",
        help="print docs/catalog.md: product -> endpoint -> methods -> permissions -> roles",
    )
    catalog.add_argument(
        "--unmatched",
        action="store_true",
        help="list today's calls no route matched, with counts (from a redis:// store, else "
        "from the running gateway's admin listener)",
    )
    catalog.add_argument("--config", help="gateway.yaml for --unmatched (default: as serve)")


def run(args: argparse.Namespace) -> int:
    if args.unmatched:
        return _unmatched(args.config)
    from gateway.catalog.loader import load_catalog, read_catalog_text
    from gateway.catalog.markdown import render_markdown
    from gateway.catalog.render import render_catalog
    from gateway.catalog.sources import route_sources

    try:
        catalog = load_catalog(args.catalog)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.markdown:
        sys.stdout.write(render_markdown(catalog, route_sources(read_catalog_text(args.catalog))))
    else:
        sys.stdout.write(render_catalog(catalog))
    return 0


def _unmatched(config: str | None) -> int:
    import asyncio
    import time

    from gateway.catalog.unmatched_report import fetch_from_admin, read_from_store
    from gateway.quota.keys import utc_day
    from gateway.settings.loader import load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    # The operator's wall clock picks "today"; the gateway counts in UTC days.
    day = utc_day(time.time())
    try:
        if is_shared(settings.store):
            report = asyncio.run(read_from_store(settings.store, day))
        elif settings.admin_listen is not None:
            report = fetch_from_admin(settings.admin_listen, settings.guards.admin_token)
        else:
            print(
                "linkedin-gateway catalog: a memory:// store keeps the tally in the serving "
                "process, and admin_listen is off: nowhere to read it from",
                file=sys.stderr,
            )
            return 1
    except OSError as exc:
        print(f"linkedin-gateway catalog: cannot read the tally: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(format_report(report))
    return 0


def format_report(report: dict[str, object]) -> str:
    """``calls  path`` lines under a heading naming the UTC day."""
    paths = report.get("paths")
    rows = paths if isinstance(paths, list) else []
    lines = [f"Calls outside the catalog on {report.get('day')} (UTC): {len(rows)} path(s)"]
    lines += [f"{row['calls']:>8}  {row['path']}" for row in rows if isinstance(row, dict)]
    return "\n".join(lines) + "\n"
