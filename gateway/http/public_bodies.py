"""Bodies of the requests anyone may send without a token (``/webhooks/*``, ``/oauth/*``).

Each route has a small cap of its own (``webhook_max_body_bytes``, ``oauth_max_body_bytes``)
checked on Content-Length before a byte is read and again on the streamed read; and at most
``public_body_reads`` such bodies are read at once per process. Past that bound the request
is refused at once (503 ``public_body_reads_busy``, ``Retry-After: 1``) rather than queued:
a flood of slow bodies holds a few kilobytes each, never megabytes, and never waits in line.
"""

from __future__ import annotations

from aiohttp import web

from gateway.errors import GatewayError, Refusal
from gateway.http.bodies import read_body

BUSY_RETRY_SECONDS = 1


class PublicBodies:
    """How many unauthenticated bodies are being read now, against ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._reading = 0

    @property
    def reading(self) -> int:
        return self._reading

    async def read(self, request: web.Request, max_bytes: int) -> bytes:
        """The whole body (at most ``max_bytes``: 413 ``body_too_large`` past it), or 503
        ``public_body_reads_busy`` while ``limit`` other bodies are being read."""
        declared = request.content_length
        if declared is not None and declared > max_bytes:
            return await read_body(request, max_bytes)  # refuses on the declared length
        if not request.body_exists:
            return b""
        if self._reading >= self._limit:
            raise GatewayError(
                Refusal(
                    status=503,
                    reason="public_body_reads_busy",
                    code="SERVICE_UNAVAILABLE",
                    message="too many request bodies are being read; retry shortly",
                    headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
                )
            )
        self._reading += 1
        try:
            return await read_body(request, max_bytes)
        finally:
            self._reading -= 1


PUBLIC_BODIES = web.AppKey("public_bodies", PublicBodies)
