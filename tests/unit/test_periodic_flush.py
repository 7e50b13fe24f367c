"""The flush timer: it flushes while the block runs, stops its companions, and flushes
once more after them, even when the block fails."""

from __future__ import annotations

import asyncio

import pytest

from gateway.support.periodic_flush import flushing


async def test_it_flushes_on_the_timer_and_once_at_the_end() -> None:
    flushed: list[float] = []
    ticked = asyncio.Event()

    async def flush(now: float) -> None:
        flushed.append(now)
        ticked.set()

    async with flushing(flush, lambda: 7.0, 0.01):
        await asyncio.wait_for(ticked.wait(), 10)
        during = len(flushed)
    assert during >= 1
    assert flushed == [7.0] * len(flushed)
    assert len(flushed) == during + 1


async def test_its_companions_are_stopped_before_the_last_flush() -> None:
    order: list[str] = []

    async def companion() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            order.append("companion stopped")

    async def flush(now: float) -> None:
        order.append("flushed")

    task = asyncio.create_task(companion())

    async def failing_block() -> None:
        async with flushing(flush, lambda: 0.0, 3600, stop_with=(task,)):
            await asyncio.sleep(0)
            raise RuntimeError("the block failed")

    with pytest.raises(RuntimeError):
        await failing_block()
    assert task.cancelled()
    assert order == ["companion stopped", "flushed"]
