"""Flush what a process has buffered on a timer while the gateway runs, and once more when
it stops, so nothing noted in its last seconds is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager


@asynccontextmanager
async def flushing(
    flush: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    every: float,
    *,
    stop_with: Sequence[asyncio.Task[None]] = (),
) -> AsyncIterator[None]:
    """``flush(clock())`` every ``every`` seconds inside the block. After it the timer and
    the tasks of ``stop_with`` are cancelled and awaited, then comes the last flush."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            await flush(clock())

    flusher = asyncio.create_task(loop())
    tasks = (flusher, *stop_with)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await flush(clock())
