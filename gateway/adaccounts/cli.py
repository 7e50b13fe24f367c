"""``linkedin-gateway ad-accounts list|reset APP``: view or forget an app's ad-account ledger."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from gateway.adaccounts.accounts import account_urn
from gateway.adaccounts.ledger import LedgerView
from gateway.adaccounts.rules import ad_account_rules
from gateway.backends import Backends
from gateway.catalog.model import AdAccountRules
from gateway.errors import ConfigError, StoreError
from gateway.quota.schemes import is_shared
from gateway.settings.loader import load_settings
from gateway.settings.model import Settings

COMMAND = "ad-accounts"


def add_parser(sub: Any) -> None:
    """Add the ``ad-accounts`` command to the CLI's subparsers."""
    parser = sub.add_parser(
        COMMAND, help="view or reset the ad accounts an app has edited and its test account"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    for action, text in (
        ("list", "show the ad accounts APP has edited and the test accounts it created"),
        ("reset", "forget them: APP may edit that many new ad accounts again"),
    ):
        one = actions.add_parser(action, help=text)
        one.add_argument("app", metavar="APP")
        one.add_argument("--config", help="gateway.yaml (default: $GATEWAY_CONFIG or the demo)")
        if action == "reset":
            one.add_argument(
                "-y", "--yes", action="store_true", help="do not ask (needed without a terminal)"
            )


def run(args: argparse.Namespace) -> int:
    """Run ``ad-accounts list|reset``; 0 on success, 1 on a config, app or store problem or
    a reset the user declined, 2 for a reset without ``--yes`` and no terminal to ask on."""
    confirm = args.action == "reset" and not args.yes
    if confirm and not sys.stdin.isatty():
        print(
            "error: reset forgets the ledger for good; stdin is not a terminal to ask on, "
            "so pass --yes",
            file=sys.stderr,
        )
        return 2
    try:
        # Neither action calls LinkedIn: another app's unset secret must not stop them.
        settings = load_settings(args.config, require_secrets=False)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.app not in settings.apps:
        known = ", ".join(sorted(settings.apps)) or "none"
        print(f"error: unknown app {args.app!r} (apps: {known})", file=sys.stderr)
        return 1
    if not is_shared(settings.store):
        print(
            f"error: the store is {settings.store}: each gateway process keeps its own ledger "
            "in memory, gone when it stops; configure a redis:// store to share, keep and "
            "manage it",
            file=sys.stderr,
        )
        return 1
    return asyncio.run(_run(settings, args.app, args.action, confirm=confirm))


async def _run(settings: Settings, app: str, action: str, *, confirm: bool) -> int:
    backends = Backends.open(settings.store)
    ledger = backends.ad_account_ledger()
    rules = ad_account_rules(settings.apps[app], settings.catalog)
    try:
        if confirm:
            sys.stdout.write(render(app, await ledger.view(app), rules, reset=False))
            if not await asyncio.to_thread(_confirmed, app):
                print("nothing changed", file=sys.stderr)
                return 1
        view = await (ledger.reset(app) if action == "reset" else ledger.view(app))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(StoreError):
            await backends.close()
    sys.stdout.write(render(app, view, rules, reset=action == "reset"))
    return 0


def _confirmed(app: str) -> bool:
    sys.stdout.write(
        f"Forget these for app {app}? It may then edit that many new ad accounts again. [y/N] "
    )
    sys.stdout.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _of(limit: int | None) -> str:
    return "unlimited" if limit is None else f"of {limit}"


def render(app: str, view: LedgerView, rules: AdAccountRules | None, *, reset: bool) -> str:
    """The ledger as text; after a reset, what was forgotten."""
    editable = rules.editable_accounts if rules is not None else None
    tests = rules.test_account_creates if rules is not None else None
    verb = "forgot" if reset else "has"
    lines = [f"app {app} {verb} {len(view.edited)} edited ad account(s) ({_of(editable)})"]
    lines += [f"  {account_urn(a)}" for a in view.edited]
    lines.append(f"app {app} {verb} {view.test_slots} test ad account create(s) ({_of(tests)})")
    lines += [f"  {account_urn(a)}" for a in view.test_accounts]
    return "\n".join(lines) + "\n"
