"""The per-app record of ad-account allowances: the contract, and the one-process store.

Contract (tested on every ledger by ``tests/contract/test_adaccount_ledger.py``):
- ``claim_edit`` adds the accounts a write names to the app's set of edited accounts only
  if the set then holds at most ``limit``, in one atomic step; accounts already in the set
  are always admitted. A refused claim changes nothing.
- ``claim_test_accounts`` takes ``count`` test-account slots only if at most ``limit`` are
  then taken; ``release_test_accounts`` gives back slots of a create that failed;
  ``record_test_account`` notes the id of a created one.
- Nothing expires: these are allowances for the life of the app (the only keys without a
  TTL). ``reset`` forgets an app's record; ``view`` shows it.
- Failures of the backing service raise ``gateway.errors.StoreError``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from gateway.adaccounts.accounts import sort_accounts


@dataclass(frozen=True)
class EditOutcome:
    """``edited``: the app's accounts after an admitted claim, or as they stand when refused."""

    admitted: bool
    edited: tuple[str, ...]
    added: tuple[str, ...]


@dataclass(frozen=True)
class LedgerView:
    edited: tuple[str, ...]
    test_slots: int
    test_accounts: tuple[str, ...]


class AdAccountLedger(Protocol):
    async def claim_edit(self, app: str, accounts: Collection[str], limit: int) -> EditOutcome: ...

    async def claim_test_accounts(self, app: str, count: int, limit: int) -> bool: ...

    async def release_test_accounts(self, app: str, count: int) -> None: ...

    async def record_test_account(self, app: str, account: str) -> None: ...

    async def view(self, app: str) -> LedgerView: ...

    async def reset(self, app: str) -> LedgerView: ...


@dataclass
class _Record:
    edited: set[str] = field(default_factory=set)
    test_slots: int = 0
    test_accounts: set[str] = field(default_factory=set)

    def view(self) -> LedgerView:
        return LedgerView(
            sort_accounts(self.edited), self.test_slots, sort_accounts(self.test_accounts)
        )


class MemoryLedger:
    """One process's ledger. Atomic because nothing here awaits between check and write."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}

    def _record(self, app: str) -> _Record:
        return self._records.setdefault(app, _Record())

    async def claim_edit(self, app: str, accounts: Collection[str], limit: int) -> EditOutcome:
        record = self._record(app)
        new = set(accounts) - record.edited
        if new and len(record.edited) + len(new) > limit:
            return EditOutcome(False, sort_accounts(record.edited), ())
        record.edited |= new
        return EditOutcome(True, sort_accounts(record.edited), sort_accounts(new))

    async def claim_test_accounts(self, app: str, count: int, limit: int) -> bool:
        record = self._record(app)
        if record.test_slots + count > limit:
            return False
        record.test_slots += count
        return True

    async def release_test_accounts(self, app: str, count: int) -> None:
        record = self._record(app)
        record.test_slots = max(record.test_slots - count, 0)

    async def record_test_account(self, app: str, account: str) -> None:
        self._record(app).test_accounts.add(account)

    async def view(self, app: str) -> LedgerView:
        record = self._records.get(app)
        return record.view() if record is not None else LedgerView((), 0, ())

    async def reset(self, app: str) -> LedgerView:
        record = self._records.pop(app, None)
        return record.view() if record is not None else LedgerView((), 0, ())
