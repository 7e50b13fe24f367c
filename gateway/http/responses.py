"""Gateway-made responses: a Refusal becomes LinkedIn's error body plus our headers."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from aiohttp import web

from gateway.errors import Refusal


@lru_cache(maxsize=1024)
def _body(status: int, service_error_code: int | None, code: str, message: str) -> bytes:
    # A refusal's body is one of a few texts sent over and over (a 429 storm): serialised once.
    return Refusal(
        status=status,
        reason="",
        code=code,
        message=message,
        service_error_code=service_error_code,
    ).body_bytes()


def refusal_response(
    refusal: Refusal, extra_headers: Mapping[str, str] | None = None
) -> web.Response:
    headers = refusal.all_headers()
    if extra_headers:
        headers = {**extra_headers, **headers}
    body = _body(refusal.status, refusal.service_error_code, refusal.code, refusal.message)
    return web.Response(status=refusal.status, body=body, headers=headers)
