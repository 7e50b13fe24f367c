"""An upstream on port 0 that records every request exactly as it arrived on the socket.

No HTTP library reads the requests: the head is split by hand and the body is taken as
framed (Content-Length or chunked), so what a test compares is what a server at LinkedIn
would have read, not what a client or server library tidied up. Each request is answered
200 with a small JSON body (or with ``x-restli-id`` for a create).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Recorded:
    """One request as the upstream received it."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunked: bool

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, (name, values)
        return values[0] if values else None


@dataclass
class RecordingUpstream:
    requests: list[Recorded] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            # Keep-alive connections of the gateway's client session are closed by it.
            await asyncio.wait_for(self.server.wait_closed(), READ_TIMEOUT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            while True:
                recorded = await asyncio.wait_for(read_request(reader), READ_TIMEOUT)
                if recorded is None:
                    break
                self.requests.append(recorded)
                body = b'{"id":1}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"x-restli-id: urn:li:sponsoredAccount:900\r\n"
                    # LinkedIn sets cookies of its own domain on API answers too; the
                    # host-only one is kept by a client jar for whatever host this is.
                    b'Set-Cookie: lidc="b=VB:s=V"; Path=/; Domain=.linkedin.com\r\n'
                    b'Set-Cookie: bcookie="v=2&caller-one"; Path=/\r\n'
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        writer.close()


async def read_request(reader: asyncio.StreamReader) -> Recorded | None:
    """One HTTP/1.1 request off ``reader``; None at a clean end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip(" \t")))
    lower = {name.lower(): value for name, value in headers}
    chunked = lower.get("transfer-encoding", "").lower() == "chunked"
    if chunked:
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(lower.get("content-length", "0")))
    return Recorded(method, target, tuple(headers), body, chunked)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailer section, then the final CRLF.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)
