"""``linkedin-gateway catalog``: the catalog as text or as docs/catalog.md, and the calls it
did not know (``--unmatched``)."""

from __future__ import annotations

import argparse
import sys

from gateway.errors import ConfigError

COMMAND = "catalog"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalog = sub.add_parser(COMMAND, help="print the product catalog readably")
    catalog.add_argument("--catalog", help="a catalog.yaml (default: the shipped one)")
    catalog.add_argument(
        "--markdown",
        action="store_true",
        help="print docs/catalog.md: product -> endpoint -> methods -> permissions -> roles",
    )


def run(args: argparse.Namespace) -> int:
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
