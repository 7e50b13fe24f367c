"""The ad-account steps of the request path: hold allowances before forwarding, settle after.

A write on an ad-account-scoped route claims what it needs from the app's ledger after its
quota was counted and before it goes upstream; a refused claim sends the 403. A test-account
create keeps its slot only if the upstream created the account: its ``x-restli-id`` is
recorded, and the slot is given back when the create failed or never arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.adaccounts.accounts import parse_account
from gateway.adaccounts.rules import (
    AdAccountClaim,
    EditClaim,
    create_limit_refusal,
    edit_limit_refusal,
)
from gateway.errors import BadRequest, Refusal, StoreError
from gateway.quota.buckets import store_unavailable_refusal
from gateway.runtime import Runtime
from gateway.settings.model import OnStoreError
from gateway.support.metrics import STORE_ERRORS

log = logging.getLogger("gateway")


@dataclass(frozen=True)
class Held:
    """What an admitted write holds until the upstream answers: test-account slots."""

    app: str = ""
    test_slots: int = 0


NOTHING_HELD = Held()


async def hold(runtime: Runtime, app: str, claim: AdAccountClaim | None) -> Held | Refusal:
    """Claim ``claim`` from ``app``'s ledger: what the write holds, or the refusal to send.

    A ledger failure is handled like a quota store failure (``on_store_error``).
    """
    if claim is None:
        return NOTHING_HELD
    ledger = runtime.ad_accounts
    try:
        if isinstance(claim, EditClaim):
            outcome = await ledger.claim_edit(app, claim.accounts, claim.limit)
            if not outcome.admitted:
                return edit_limit_refusal(app, outcome.edited, claim.accounts, claim.limit)
            return NOTHING_HELD
        if not await ledger.claim_test_accounts(app, claim.count, claim.limit):
            return create_limit_refusal(claim.limit)
        return Held(app=app, test_slots=claim.count)
    except StoreError as exc:
        on_store_error = runtime.settings.on_store_error
        runtime.metrics.inc(STORE_ERRORS, action=on_store_error.value)
        log.warning("ad-account ledger failed (%s); on_store_error=%s", exc, on_store_error.value)
        if on_store_error is OnStoreError.OPEN:
            return NOTHING_HELD
        return store_unavailable_refusal()


def _created_account(headers: Mapping[str, str]) -> str | None:
    raw = headers.get("x-restli-id")
    if raw is None:
        return None
    try:
        return parse_account(raw)
    except BadRequest:
        return None


async def settle(
    runtime: Runtime, held: Held, status: int | None, headers: Mapping[str, str]
) -> None:
    """After the upstream answered (``status``) or failed (None): keep or give back slots."""
    if not held.test_slots:
        return
    ledger = runtime.ad_accounts
    try:
        if status is not None and 200 <= status < 300:
            created = _created_account(headers)
            if created is not None:
                await ledger.record_test_account(held.app, created)
            return
        await ledger.release_test_accounts(held.app, held.test_slots)
    except StoreError as exc:
        # The slot stays taken: counting a create that may not have happened is the safe side.
        log.warning("ad-account ledger could not settle a test account create: %s", exc)
