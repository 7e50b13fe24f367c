"""Single-flight: concurrent callers asking for the same key share one call.

A hundred first requests carrying the same new token make one introspection call. The
shared call runs as its own task, so a caller that goes away (a client disconnect cancels
its handler) neither cancels it nor leaves the others without an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        """The result of ``call()``, or of the call already in flight for ``key``."""
        task = self._calls.get(key)
        if task is None:
            task = asyncio.ensure_future(call())
            self._calls[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        if self._calls.get(key) is task:
            del self._calls[key]
        # Every waiter may have gone: read the outcome so an error is never left unretrieved.
        if not task.cancelled():
            task.exception()
