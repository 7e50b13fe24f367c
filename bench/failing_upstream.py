"""An upstream that fails every call one way, for the soak benchmark.

    python bench/failing_upstream.py --port 8097 --mode reset|hang

``reset`` accepts and at once closes with a TCP reset (SO_LINGER 0); ``hang`` accepts,
reads, and never answers, so the caller's own timeout ends the call. (The third way,
``refused``, needs no server: a port nothing listens on.)
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import struct
from collections.abc import Sequence

# Connections a hanging upstream keeps open at most; older ones are dropped first, so the
# benchmark's own upstream cannot run out of descriptors before the gateway would.
HANG_LIMIT = 4096


async def serve(port: int, mode: str) -> None:
    hanging: list[asyncio.StreamWriter] = []

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hanging.append(writer)
        if len(hanging) > HANG_LIMIT:
            hanging.pop(0).transport.abort()
        while await reader.read(65536):
            pass
        writer.transport.abort()

    server = await asyncio.start_server(
        reset if mode == "reset" else hang, "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="An upstream that fails every call.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["reset", "hang"], required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.mode))


if __name__ == "__main__":
    main()
