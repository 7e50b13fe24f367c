"""The ad-account steps of the request path: claim ad accounts and test-account slots
before forwarding, keep or give them back after.

A write on an ad-account-scoped route claims what it needs from the app's ledger after its
quota was counted and before it goes upstream; a refused claim raises the 403. A
test-account create keeps its slot only if the upstream created the account: its
``x-restli-id`` is recorded, and the slot is given back when the create failed or never
arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.adaccounts.accounts import parse_account
from gateway.adaccounts.ledger import AdAccountLedger
from gateway.adaccounts.rules import (
    AdAccountClaim,
    EditClaim,
    create_limit_refusal,
    edit_limit_refusal,
)
from gateway.errors import BadRequest, GatewayError, StoreError
from gateway.quota.buckets import store_unavailable_refusal
from gateway.settings.model import OnStoreError
from gateway.support.metrics import STORE_ERRORS, Metrics

log = logging.getLogger("gateway")


@dataclass(frozen=True)
class TestSlots:
    """Test-account slots a create holds until the upstream answers."""

    app: str = ""
    count: int = 0


NO_SLOTS = TestSlots()


@dataclass(frozen=True)
class AdAccountGate:
    """The app ledgers, and what a ledger failure does (``on_store_error``, as for quota)."""

    ledger: AdAccountLedger
    on_store_error: OnStoreError
    metrics: Metrics

    async def claim(self, app: str, claim: AdAccountClaim | None) -> TestSlots:
        """Claim ``claim`` from ``app``'s ledger; the test-account slots the write now holds.
        Raises the 403 when the ledger is full, the 503 when it fails (``closed``)."""
        if claim is None:
            return NO_SLOTS
        try:
            if isinstance(claim, EditClaim):
                outcome = await self.ledger.claim_edit(app, claim.accounts, claim.limit)
                if not outcome.admitted:
                    raise GatewayError(
                        edit_limit_refusal(app, outcome.edited, claim.accounts, claim.limit)
                    )
                return NO_SLOTS
            if not await self.ledger.claim_test_accounts(app, claim.count, claim.limit):
                raise GatewayError(create_limit_refusal(claim.limit))
            return TestSlots(app=app, count=claim.count)
        except StoreError as exc:
            action = self.on_store_error
            self.metrics.inc(STORE_ERRORS, action=action.value)
            log.warning("ad-account ledger failed (%s); on_store_error=%s", exc, action.value)
            if action is OnStoreError.OPEN:
                return NO_SLOTS
            raise GatewayError(store_unavailable_refusal()) from None

    async def settle_test_accounts(
        self, slots: TestSlots, status: int | None, headers: Mapping[str, str]
    ) -> None:
        """After the upstream answered (``status``) or failed (None): keep or give back."""
        if not slots.count:
            return
        try:
            if status is not None and 200 <= status < 300:
                created = _created_account(headers)
                if created is not None:
                    await self.ledger.record_test_account(slots.app, created)
                return
            await self.ledger.release_test_accounts(slots.app, slots.count)
        except StoreError as exc:
            # The slot stays taken: counting a create that may not have happened is the
            # safe side.
            log.warning("ad-account ledger could not settle a test account create: %s", exc)


def _created_account(headers: Mapping[str, str]) -> str | None:
    raw = headers.get("x-restli-id")
    if raw is None:
        return None
    try:
        return parse_account(raw)
    except BadRequest:
        return None
