"""Single-flight: concurrent callers with the same key share one call."""

from __future__ import annotations

import asyncio

import pytest

from gateway.tokens.singleflight import SingleFlight


async def test_a_hundred_concurrent_callers_make_one_call() -> None:
    flights: SingleFlight[int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def slow() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiters = [asyncio.ensure_future(flights.run("k", slow)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert results == [42] * 100 and calls == 1
    assert len(flights) == 0


async def test_different_keys_do_not_share() -> None:
    flights: SingleFlight[str] = SingleFlight()

    async def echo(value: str) -> str:
        await asyncio.sleep(0)
        return value

    a, b = await asyncio.gather(
        flights.run("a", lambda: echo("a")), flights.run("b", lambda: echo("b"))
    )
    assert (a, b) == ("a", "b")


async def test_an_error_reaches_every_waiter_and_the_next_call_runs_again() -> None:
    flights: SingleFlight[int] = SingleFlight()
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise RuntimeError("down")

    results = await asyncio.gather(
        *(flights.run("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results) and calls == 1
    with pytest.raises(RuntimeError):
        await flights.run("k", failing)
    assert calls == 2


async def test_a_cancelled_waiter_does_not_cancel_the_others() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 7

    first = asyncio.ensure_future(flights.run("k", slow))
    second = asyncio.ensure_future(flights.run("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await asyncio.wait_for(second, 5) == 7
    assert first.cancelled()
