"""The contract every quota store keeps, and the choice of store from a URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.quota.model import BucketSpec, BucketState, QuotaOutcome, Ticket


class QuotaStore(Protocol):
    """Counts calls against buckets.

    Contract (tested on every store by ``tests/contract``):
    - ``consume`` checks all buckets and, only if every limited one has room, counts the
      call in all of them, in one atomic step (one round trip on Redis).
    - A refused call changes nothing.
    - ``refund`` undoes exactly one admitted call; the caller refunds a ticket at most once,
      and a refund never takes a counter below zero.
    - Every key a store writes expires (TTL) once its window cannot matter any more.
    - ``now`` is always passed in: stores have no clock of their own.
    - Failures of the backing service raise ``gateway.errors.StoreError``.
    """

    async def consume(self, buckets: Sequence[BucketSpec], now: float) -> QuotaOutcome: ...

    async def refund(self, ticket: Ticket, now: float) -> None: ...

    async def peek(self, buckets: Sequence[BucketSpec], now: float) -> tuple[BucketState, ...]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
