"""Bounded reads of an aiohttp stream: a request's body or an upstream's answer."""

from __future__ import annotations

import aiohttp


async def read_up_to(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The stream's first ``limit`` bytes, or all of it when shorter, however the sender
    split it (one ``read`` returns what has arrived so far, not the whole body)."""
    data = bytearray()
    while len(data) < limit and (chunk := await stream.read(limit - len(data))):
        data += chunk
    return bytes(data)
