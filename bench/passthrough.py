"""The baseline for the benchmark: the smallest honest aiohttp reverse proxy.

One ``ClientSession`` with keep-alive connections to the upstream; every request's method,
raw path and query, end-to-end headers and body go upstream as they are, and the response
is streamed back chunk by chunk. No authentication, no quota, no logging: whatever the
gateway costs on top of this is the price of its checks.

    python bench/passthrough.py --upstream http://127.0.0.1:8090 --port 8095
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence

import aiohttp
from aiohttp import web
from yarl import URL

from gateway.server.event_loop import loop_factory
from gateway.upstream import end_to_end

# The gateway's own header filter (RFC 9110 §7.6.1 hop-by-hop fields and those the
# Connection header names), so the baseline forwards exactly what the gateway does.
# Content-Length is recomputed by aiohttp on both legs.
RECOMPUTED = frozenset({"content-length"})
CHUNK_BYTES = 64 * 1024
SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


async def forward(request: web.Request) -> web.StreamResponse:
    session = request.app[SESSION]
    url = URL(request.app[UPSTREAM] + request.raw_path, encoded=True)
    body = request.content if request.body_exists else None
    async with session.request(
        request.method,
        url,
        headers=end_to_end(request.headers, RECOMPUTED),
        data=body,
        allow_redirects=False,
    ) as upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        response.headers.extend(end_to_end(upstream.headers, RECOMPUTED))
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(CHUNK_BYTES):
            await response.write(chunk)
        await response.write_eof()
        return response


def make_app(upstream: str) -> web.Application:
    """A proxy application forwarding everything to ``upstream`` (a base URL)."""
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        # Same connector settings as the gateway's upstream client: unbounded pool,
        # bytes passed through undecoded.
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            app[SESSION] = session
            yield

    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A bare aiohttp pass-through reverse proxy.")
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:8090")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # The gateway's own loop choice (GATEWAY_EVENT_LOOP), so both proxies run on the same.
    web.run_app(
        make_app(args.upstream),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=loop_factory()(),
    )


if __name__ == "__main__":
    main()
