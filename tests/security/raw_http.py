"""Raw sockets to a server under test: an HTTP client would tidy the requests these send."""

from __future__ import annotations

import asyncio

WAIT = 10.0


async def exchange(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data``, read one answer (Content-Length framed): status, headers (lower-case
    names), body. The connection is closed after it."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
    try:
        writer.write(data)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), WAIT) if length else b""
        return int(lines[0].split(" ", 2)[1]), headers, body
    finally:
        writer.close()


async def status_and_head(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` and ``body``; the answer's status and its head, as bytes."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        return int(answer.split(b" ", 2)[1]), answer
    finally:
        writer.close()
