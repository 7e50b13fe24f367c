"""Headers that would change meaning between the gateway and the upstream are refused.

Before: a ``Connection`` header naming a header the gateway classified with made the proxy
strip it on the way out; with two ``Authorization`` headers the first was checked and both
were forwarded; a gzip body was decompressed by the server and forwarded as plain bytes
under the client's ``Content-Encoding: gzip`` and original length. Each is now refused
before anything is counted, and the upstream (recording what it reads off the socket)
never sees the request. Raw sockets throughout: an HTTP client would tidy these requests.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.runtime import RUNTIME
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, member_token, write_config
from tests.security.raw_http import exchange as raw_exchange
from tests.security.recording_upstream import RecordingUpstream

ServerFactory = Callable[..., Awaitable[TestServer]]
POSTS = "/rest/posts"
FINDER = "/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A1"
BODY = json.dumps(
    {"author": "urn:li:organization:1", "commentary": "hello " * 40, "visibility": "PUBLIC"}
).encode()
# A Community Management Development member: every admitted call is counted.
TOKEN = member_token(0)
WAIT = 10.0


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> TestServer:
    path = write_config(tmp_path, gateway_yaml(upstream.url, upstream_timeout=2))
    app = build_gateway_app(load_settings(path, environ={}), clock=time.time)
    return await aiohttp_server(app)


def head(method: str, target: str, *lines: str) -> bytes:
    return "\r\n".join([f"{method} {target} HTTP/1.1", "Host: gw.test", *lines, "", ""]).encode()


def standard(*, token: str = TOKEN) -> tuple[str, ...]:
    return (f"Authorization: Bearer {token}", "LinkedIn-Version: 202505")


async def exchange(gw: TestServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    assert gw.port is not None
    return await raw_exchange(gw.port, data)


def counted(gw: TestServer) -> float:
    return gw.app[RUNTIME].metrics.value("gateway_quota_consumed_total", app="social")


READ_HEADERS = [
    "Authorization",
    "X-RestLi-Method",
    "X-HTTP-Method-Override",
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "LinkedIn-Version",
    "X-Gateway-Member",
    "X-Gateway-Member-Secret",
    "X-Restli-Protocol-Version",
    "Transfer-Encoding",
    "Host",
]


@pytest.mark.parametrize(
    "named", [*READ_HEADERS, "x-restli-method", "keep-alive, LinkedIn-Version"]
)
async def test_connection_naming_a_header_the_gateway_reads_is_refused(
    gateway: TestServer, upstream: RecordingUpstream, named: str
) -> None:
    data = head("GET", FINDER, *standard(), "X-RestLi-Method: FINDER", f"Connection: {named}")

    status, headers, body = await exchange(gateway, data)

    assert status == 400, body
    assert headers["x-gateway-reason"] == "connection_header_refused"
    assert json.loads(body)["code"] == "BAD_REQUEST"
    assert upstream.requests == []
    assert counted(gateway) == 0


async def test_connection_naming_only_hop_by_hop_fields_still_works(
    gateway: TestServer, upstream: RecordingUpstream
) -> None:
    data = head("GET", FINDER, *standard(), "Connection: keep-alive, TE", "TE: trailers")

    status, _, body = await exchange(gateway, data)

    assert status == 200, body
    [seen] = upstream.requests
    assert seen.all("TE") == []
    assert seen.all("Authorization") == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize(
    "repeated",
    [
        ("Authorization: Bearer tok-std",),
        (f"Authorization: Bearer {TOKEN}",),
        (f"authorization: Bearer {TOKEN}",),
        ("LinkedIn-Version: 202505",),
        ("linkedin-version: 202406",),
        ("X-RestLi-Method: FINDER", "X-RestLi-Method: FINDER"),
        ("X-Restli-Protocol-Version: 2.0.0", "X-RESTLI-PROTOCOL-VERSION: 1.0.0"),
        ("X-Gateway-Member: urn:li:person:a", "X-Gateway-Member: urn:li:person:b"),
    ],
)
async def test_a_repeated_header_the_gateway_reads_is_refused(
    gateway: TestServer, upstream: RecordingUpstream, repeated: tuple[str, ...]
) -> None:
    data = head("GET", FINDER, *standard(), *repeated)

    status, headers, body = await exchange(gateway, data)

    assert status == 400, body
    assert headers["x-gateway-reason"] == "repeated_header"
    assert upstream.requests == []
    assert counted(gateway) == 0


@pytest.mark.parametrize("cookie", ["Cookie: li_at=AQEDAR", "cookie: JSESSIONID=ajax:1"])
async def test_a_cookie_a_second_credential_is_refused(
    gateway: TestServer, upstream: RecordingUpstream, cookie: str
) -> None:
    data = head("GET", FINDER, *standard(), cookie)

    status, headers, body = await exchange(gateway, data)

    assert status == 400, body
    assert headers["x-gateway-reason"] == "cookie_refused"
    assert b"AQEDAR" not in body and b"ajax" not in body
    assert upstream.requests == []
    assert counted(gateway) == 0


async def test_cookies_linkedin_sets_do_not_reach_the_client(
    gateway: TestServer, upstream: RecordingUpstream
) -> None:
    # An SDK keeping a cookie jar would otherwise send them back, and be refused.
    status, headers, body = await exchange(gateway, head("GET", FINDER, *standard()))

    assert status == 200, body
    assert len(upstream.requests) == 1
    assert "set-cookie" not in headers
    assert headers["x-restli-id"] == "urn:li:sponsoredAccount:900"


async def test_cookies_linkedin_sets_never_ride_on_a_later_call_upstream(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> None:
    # By name, not by address: a client jar ignores cookies of an IP address, as it would
    # not ignore api.linkedin.com's.
    named = f"http://localhost:{upstream.port}"
    path = write_config(tmp_path, gateway_yaml(named, upstream_timeout=2))
    gw = await aiohttp_server(build_gateway_app(load_settings(path, environ={}), clock=time.time))
    for token in (member_token(0), member_token(1)):
        status, _, body = await exchange(gw, head("GET", FINDER, *standard(token=token)))
        assert status == 200, body

    assert len(upstream.requests) == 2
    # The second member's call carries nothing the first one's answer set.
    assert [request.all("cookie") for request in upstream.requests] == [[], []]


@pytest.mark.parametrize(
    "spelling", ["X_RestLi_Method: BATCH_DELETE", "Linkedin_Version: 202304", "authorization_: x"]
)
async def test_a_header_name_read_as_another_by_cgi_style_servers_is_refused(
    gateway: TestServer, upstream: RecordingUpstream, spelling: str
) -> None:
    # CGI and several proxies map "_" to "-": X_RestLi_Method would become the method.
    data = head("GET", FINDER, *standard(), spelling)

    status, headers, body = await exchange(gateway, data)

    if spelling.startswith("authorization_"):
        # Not a header the gateway reads under any spelling: forwarded as sent.
        assert status == 200, body
        assert upstream.requests[0].all("authorization_") == ["x"]
        return
    assert status == 400, body
    assert headers["x-gateway-reason"] == "header_name_ambiguous"
    assert upstream.requests == []


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "identity", "GZIP"])
async def test_a_compressed_request_body_is_refused_415(
    gateway: TestServer, upstream: RecordingUpstream, coding: str
) -> None:
    payload = gzip.compress(BODY) if coding.lower() == "gzip" else BODY
    data = head(
        "POST",
        POSTS,
        *standard(),
        "Content-Type: application/json",
        f"Content-Encoding: {coding}",
        f"Content-Length: {len(payload)}",
    )

    status, headers, body = await exchange(gateway, data + payload)

    if coding == "br" and status == 400:
        # Without a Brotli decoder aiohttp's parser refuses it before the gateway runs.
        assert upstream.requests == []
        return
    assert status == 415, body
    assert headers["x-gateway-reason"] == "content_encoding_unsupported"
    assert json.loads(body)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert headers["accept-encoding"] == "identity"
    assert upstream.requests == []
    assert counted(gateway) == 0


async def test_a_transfer_coding_other_than_chunked_is_refused(
    gateway: TestServer, upstream: RecordingUpstream
) -> None:
    chunked = f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"
    data = head(
        "POST",
        POSTS,
        *standard(),
        "Content-Type: application/json",
        "Transfer-Encoding: gzip, chunked",
    )

    status, headers, body = await exchange(gateway, data + chunked)

    assert status == 501, body
    assert headers["x-gateway-reason"] == "transfer_encoding_unsupported"
    assert upstream.requests == []


async def test_a_chunked_body_reaches_the_upstream_as_the_bytes_classified(
    gateway: TestServer, upstream: RecordingUpstream
) -> None:
    half = len(BODY) // 2
    chunked = (
        f"{half:x}\r\n".encode()
        + BODY[:half]
        + f"\r\n{len(BODY) - half:x}\r\n".encode()
        + BODY[half:]
        + b"\r\n0\r\nX-RestLi-Method: DELETE\r\n\r\n"
    )
    data = head(
        "POST", POSTS, *standard(), "Content-Type: application/json", "Transfer-Encoding: chunked"
    )

    status, _, body = await exchange(gateway, data + chunked)

    assert status == 200, body
    [seen] = upstream.requests
    assert (seen.method, seen.target, seen.body) == ("POST", POSTS, BODY)
    # The trailer never becomes a header upstream.
    assert seen.all("X-RestLi-Method") == []
    assert seen.all("Transfer-Encoding") in ([], ["chunked"])


async def test_expect_100_continue_is_answered_here_and_not_forwarded(
    gateway: TestServer, upstream: RecordingUpstream
) -> None:
    data = head(
        "POST",
        POSTS,
        *standard(),
        "Content-Type: application/json",
        f"Content-Length: {len(BODY)}",
        "Expect: 100-continue",
    )
    assert gateway.host is not None and gateway.port is not None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(gateway.host, gateway.port), WAIT
    )
    try:
        writer.write(data)
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert interim.startswith(b"HTTP/1.1 100")
        writer.write(BODY)
        await writer.drain()
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert final.startswith(b"HTTP/1.1 200"), final
    finally:
        writer.close()
    [seen] = upstream.requests
    assert seen.body == BODY
    assert seen.all("Expect") == []


@pytest.mark.parametrize(
    ("method", "target", "lines", "body"),
    [
        # The override is read on POST only (Rest.li's QueryTunnelUtil).
        ("GET", FINDER, ("X-HTTP-Method-Override: DELETE",), b""),
        ("PUT", POSTS + "/1", ("X-HTTP-Method-Override: GET",), b"q=author"),
        # A second credential in the query, in any case, or in a tunneled query.
        ("GET", FINDER + "&oauth2_access_token=tok-std", (), b""),
        ("GET", FINDER + "&OAUTH2_ACCESS_TOKEN=tok-std", (), b""),
        ("GET", FINDER + "&access%5Ftoken=tok-std", (), b""),
        (
            "POST",
            POSTS,
            (
                "X-HTTP-Method-Override: GET",
                "Content-Type: application/x-www-form-urlencoded",
            ),
            b"q=author&author=urn%3Ali%3Aorganization%3A1&oauth2_access_token=tok-std",
        ),
    ],
)
async def test_tunneling_off_post_and_credentials_in_the_query_are_refused(
    gateway: TestServer,
    upstream: RecordingUpstream,
    method: str,
    target: str,
    lines: tuple[str, ...],
    body: bytes,
) -> None:
    framing = (f"Content-Length: {len(body)}",) if body else ()
    data = head(method, target, *standard(), *lines, *framing) + body

    status, headers, answer = await exchange(gateway, data)

    assert status == 400, answer
    assert headers["x-gateway-reason"] == "bad_request"
    assert upstream.requests == []


@pytest.mark.parametrize(
    "lines",
    [
        ("Content-Length: 3", "Content-Length: 3"),
        ("Content-Length: 3", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
        ("Host: other.test",),
        ("Content-Type: text/plain",),
        ("Authorization : Bearer tok-std",),
        ("X-A: a", " folded"),
    ],
)
async def test_framing_tricks_never_reach_the_upstream(
    gateway: TestServer, upstream: RecordingUpstream, lines: tuple[str, ...]
) -> None:
    data = head("POST", POSTS, *standard(), "Content-Type: application/json", *lines)

    status, _, _ = await exchange(gateway, data + b"3\r\nabc\r\n0\r\n\r\n")

    assert status == 400
    assert upstream.requests == []
