"""Gateway-made responses: a Refusal becomes LinkedIn's error body plus our headers."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from gateway.errors import Refusal


def refusal_response(
    refusal: Refusal, extra_headers: Mapping[str, str] | None = None
) -> web.Response:
    headers = dict(extra_headers or {})
    headers.update(refusal.all_headers())
    return web.Response(status=refusal.status, body=refusal.body_bytes(), headers=headers)
