"""Forward a checked request upstream and stream the answer back.

aiohttp's exceptions are translated here, once, into ``UpstreamUnreachable`` /
``UpstreamTimeout`` with ``sent`` telling whether the request may have reached LinkedIn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gateway.errors import (
    BodyStalled,
    RequestTimeout,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from gateway.support.client_session import (
    AnswerTooLarge,
    SessionOwner,
    outbound_session,
    read_at_most,
)
from gateway.support.streams import read_up_to

# RFC 9110 §7.6.1 hop-by-hop fields, plus what the proxy recomputes itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        # The gateway answered the expectation itself (aiohttp sent 100 Continue) and
        # already holds or streams the body: the upstream is not asked again.
        "expect",
    }
)
# Answers whose bodies the gateway reads before passing them on (see ``forward``).
INSPECTED_STATUSES = frozenset({401, 429})
# An answer of a declared length up to this is read whole and sent in one write: most of
# LinkedIn's JSON answers. Longer or unframed answers stream through chunk by chunk.
WHOLE_ANSWER_BYTES = 64 * 1024
# The most a member look-up's answer (``call``) may hold: a profile is a few kilobytes.
CALL_ANSWER_BYTES = 1024 * 1024
# Statuses that carry no body, whatever their headers say (RFC 9110 §6.4.1).
BODILESS_STATUSES = frozenset({204, 304})
# Headers only the gateway may set on a request it forwards.
GATEWAY_ONLY = frozenset({"x-gateway-member", "x-gateway-member-secret"})


def end_to_end(
    headers: CIMultiDictProxy[str], drop: frozenset[str] = frozenset()
) -> CIMultiDict[str]:
    """``headers`` without hop-by-hop fields, those the Connection header names, and ``drop``."""
    # One set test per header on every forwarded call; a Connection header naming further
    # fields is rare, so its parsing is paid only when one is there.
    dropped = _DROPPED.get(drop)
    if dropped is None:
        dropped = _DROPPED.setdefault(drop, HOP_BY_HOP | drop)
    if "Connection" in headers:
        dropped = dropped | {
            token.strip().lower()
            for value in headers.getall("Connection")
            for token in value.split(",")
        }
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in dropped:
            out.add(name, value)
    return out


# HOP_BY_HOP and each ``drop`` set, joined once per set rather than tested apart per header.
_DROPPED: dict[frozenset[str], frozenset[str]] = {}


def forward_headers(headers: CIMultiDictProxy[str], upstream_host: str) -> CIMultiDict[str]:
    out = end_to_end(headers, GATEWAY_ONLY)
    out["Host"] = upstream_host
    return out


# The length is recomputed by the response. LinkedIn's cookies are dropped: a client's
# cookie jar would send them back, and the gateway refuses cookies on a request.
UPSTREAM_ONLY = frozenset({"content-length", "set-cookie"})


def response_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    return end_to_end(headers, UPSTREAM_ONLY)


class Upstream(SessionOwner):
    """One ClientSession to one upstream base URL."""

    def __init__(self, base_url: str, *, connect_timeout: float, timeout: float) -> None:
        super().__init__(aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout))
        self.base_url = base_url.rstrip("/")
        self.host = URL(self.base_url).raw_authority

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        # Bytes pass through untouched: the caller decompresses, not the proxy.
        return outbound_session(connector=connector, auto_decompress=False, timeout=self._timeout)

    async def forward(
        self,
        request: web.Request,
        body: bytes | AsyncIterator[bytes] | None,
        extra_headers: Mapping[str, str],
        inspect_answer: Callable[[int, bytes], Awaitable[None]] | None = None,
    ) -> web.StreamResponse:
        """Send ``request`` upstream with ``body`` and stream the response to the caller.

        ``inspect_answer`` sees the status and body of an upstream 401 or 429 before the
        caller does: a revoked or expired token is evicted from the token cache first, and
        LinkedIn's quota 429 teaches the gateway a limit.
        """
        session = self._started
        # aiohttp's total timeout only runs while it reads from the upstream; writing to a
        # caller that reads slowly is bounded by this deadline on the whole exchange.
        total = self._timeout.total
        deadline = None if total is None else asyncio.get_running_loop().time() + total
        url = self.base_url + request.raw_path
        headers = forward_headers(request.headers, self.host)
        if isinstance(body, bytes):
            headers["Content-Length"] = str(len(body))
        try:
            async with session.request(
                request.method,
                URL(url, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as upstream:
                headers = response_headers(upstream.headers)
                headers.update(extra_headers)
                if _whole(upstream):
                    # Read before answering: one write of head and body, and the upstream
                    # connection is free again before the caller reads a byte.
                    data = await upstream.read()
                    if upstream.status in INSPECTED_STATUSES and inspect_answer is not None:
                        await inspect_answer(upstream.status, data)
                    return web.Response(
                        status=upstream.status, reason=upstream.reason, body=data, headers=headers
                    )
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                response.headers.extend(headers)
                if upstream.content_length is not None:
                    response.content_length = upstream.content_length
                first = b""
                if upstream.status in INSPECTED_STATUSES and inspect_answer is not None:
                    # LinkedIn's 401 and 429 bodies are a few hundred bytes of JSON, sent
                    # unframed (chunked) at times: read whole, however it is split.
                    first = await read_up_to(upstream.content, WHOLE_ANSWER_BYTES)
                    if upstream.content.at_eof():
                        await inspect_answer(upstream.status, first)
                        response.content_length = len(first)
                        await response.prepare(request)
                        await response.write(first)
                        await response.write_eof()
                        return response
                    # Longer than any error body of LinkedIn's: passed on as it is.
                await response.prepare(request)
                try:
                    if first:
                        await response.write(first)
                    async with asyncio.timeout_at(deadline):
                        async for chunk in upstream.content.iter_chunked(64 * 1024):
                            await response.write(chunk)
                except (aiohttp.ClientError, TimeoutError):
                    # The status line is already out; the only honest signal left is to
                    # cut the connection so the caller sees a truncated response. Reset,
                    # not close: a close would wait for a caller that stopped reading.
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                await response.write_eof()
                return response
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _upstream_error(self.host, exc) from None

    async def call(self, method: str, path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """A small non-streaming call (the member lookups): status and body, at most 1 MB."""
        session = self._started
        sent = {**headers, "Host": self.host, "Accept-Encoding": "identity"}
        try:
            async with session.request(
                method, self.base_url + path, headers=sent, allow_redirects=False
            ) as upstream:
                return upstream.status, await read_at_most(upstream, CALL_ANSWER_BYTES)
        except AnswerTooLarge:
            raise UpstreamUnreachable(
                f"upstream {self.host} answered more than {CALL_ANSWER_BYTES} bytes", sent=True
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _upstream_error(self.host, exc) from None


def _whole(upstream: aiohttp.ClientResponse) -> bool:
    """Whether the answer is small and framed by its length."""
    length = upstream.content_length
    return (
        length is not None
        and length <= WHOLE_ANSWER_BYTES
        and upstream.status not in BODILESS_STATUSES
    )


def _upstream_error(host: str, exc: aiohttp.ClientError | TimeoutError) -> UpstreamError:
    if isinstance(exc, RequestTimeout):
        return BodyStalled(str(exc), sent=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnreachable(
            f"upstream {host} refused the connection ({exc.os_error.strerror or 'error'})",
            sent=False,
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamTimeout(f"upstream {host} did not accept the connection in time", sent=False)
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"upstream {host} did not answer in time", sent=True)
    return UpstreamUnreachable(f"upstream {host} failed: {type(exc).__name__}", sent=True)
