"""Request bodies, always bounded by ``max_body_bytes``: read whole, or streamed through."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway.errors import BadRequest
from gateway.support.streams import read_up_to


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body; 413 ``body_too_large`` past ``limit`` bytes."""
    _check_length(request, limit)
    data = await read_up_to(request.content, limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


async def stream_body(request: web.Request, limit: int) -> bytes | AsyncIterator[bytes] | None:
    """The body to forward: streamed when its length is declared (and within ``limit``)."""
    if not request.body_exists:
        return None
    _check_length(request, limit)
    if request.content_length is None:
        # Chunked upload of unknown size: bounded by reading it whole.
        return await read_body(request, limit)
    return _chunks(request)


async def _chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(64 * 1024):
        yield chunk


def _check_length(request: web.Request, limit: int) -> None:
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> BadRequest:
    return BadRequest(
        f"the request body is larger than {limit} bytes", reason="body_too_large", status=413
    )
