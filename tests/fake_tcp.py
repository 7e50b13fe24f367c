"""A fake TCP server's lifetime: listen on a free local port, and on the way out close the
connections it accepted before the listener, so no test leaves a socket behind."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol, TypeVar


class FakeServer(Protocol):
    port: int
    writers: list[asyncio.StreamWriter]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None: ...


Fake = TypeVar("Fake", bound=FakeServer)


@contextlib.asynccontextmanager
async def listening(made: Fake) -> AsyncIterator[Fake]:
    server = await asyncio.start_server(made.serve, "127.0.0.1", 0)
    made.port = server.sockets[0].getsockname()[1]
    try:
        yield made
    finally:
        for writer in made.writers:
            writer.close()
        server.close()
        await server.wait_closed()
