"""The alert teller stops when cancelled, even if the store call it was in swallowed the
cancel (redis-py may, while it tears a connection down): otherwise serve's drain waits on
it forever."""

from __future__ import annotations

import asyncio
import contextlib

from gateway.support.metrics import Metrics
from gateway.usage.alerts import AlertEvent, Alerts
from gateway.usage.ledger import MemoryUsageLedger


class SwallowingLedger(MemoryUsageLedger):
    """A ledger whose alert mark, like a client busy tearing down its connection, finishes
    its work when cancelled instead of raising."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()

    async def first_alert(self, key: str, now: float) -> bool:
        self.entered.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        return await super().first_alert(key, now)


async def test_a_cancel_swallowed_by_the_store_still_stops_the_teller() -> None:
    ledger = SwallowingLedger()
    alerts = Alerts(ledger, Metrics(), (75,), None)

    async def post(url: str, payload: dict[str, object]) -> int:
        return 200

    task = asyncio.create_task(alerts.run(post))
    event = AlertEvent("app", "app", None, 75, 75, 100, 86400.0, 0.0, "k")
    alerts._queue.put_nowait(event)
    await asyncio.wait_for(ledger.entered.wait(), 10)
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
    assert task.cancelled()
