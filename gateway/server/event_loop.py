"""The event loop every gateway process runs on: uvloop where the platform has it.

uvloop (libuv) runs aiohttp's server and client noticeably cheaper per call than asyncio's
default loop (bench/run.py measures both proxies on the same loop). ``GATEWAY_EVENT_LOOP``
picks one explicitly: ``uvloop``, ``asyncio``, or ``auto`` (the default: uvloop when it is
installed, asyncio otherwise).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

LOOP_ENV = "GATEWAY_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(environ: Mapping[str, str] | None = None) -> LoopFactory:
    """The factory of the loop named by ``GATEWAY_EVENT_LOOP``; ``ValueError`` for a name
    it does not know or for ``uvloop`` where uvloop is not installed."""
    env = os.environ if environ is None else environ
    choice = env.get(LOOP_ENV, "").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ValueError(f"{LOOP_ENV}={choice!r}: expected one of {', '.join(CHOICES)}")
    if choice == "asyncio":
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ValueError(f"{LOOP_ENV}=uvloop, but uvloop is not installed") from None
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: the package the running loop comes from."""
    return type(loop).__module__.partition(".")[0]
