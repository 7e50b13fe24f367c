"""For every request the gateway admits, the upstream receives the request it classified.

Hypothesis generates requests — catalogued and uncatalogued paths, Rest.li methods declared
or not, finders, batch ids, tunneled queries, JSON bodies, chunked framing — and header
tricks (a repeated or re-cased Authorization, ``Connection`` naming a header the gateway
read, ``_`` spellings, ``Content-Encoding``). Each is written byte for byte on a raw socket
to a gateway whose upstream records what it reads off its own socket. Then:

* admitted: the upstream got exactly one request, with the method, target (path and
  query), body bytes and classified headers that were sent, exactly one Authorization
  (the one checked), and ``classify`` reads it exactly as it reads what was sent;
* refused: the upstream got nothing. Header tricks are always refused.

The gateway and the upstream run on an event loop of their own thread, so Hypothesis can
drive them from a plain test function.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from gateway.app import build_gateway_app
from gateway.errors import GatewayError
from gateway.restli.classify import classify
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, write_config
from tests.security.raw_http import exchange as raw_exchange
from tests.security.recording_upstream import Recorded, RecordingUpstream

T = TypeVar("T")
WAIT = 10.0
TOKEN = "tok-std"  # Community Management Standard: nothing is refused for quota
CLASSIFIED = (
    "X-RestLi-Method",
    "X-HTTP-Method-Override",
    "Content-Type",
    "LinkedIn-Version",
    "X-Restli-Protocol-Version",
)
PATHS = [
    "/rest/posts",
    "/rest/posts/urn%3Ali%3Ashare%3A1",
    "/rest/organizationAcls",
    "/rest/organizations/123",
    "/rest/organizations",
    "/rest/socialActions/urn%3Ali%3Ashare%3A1/comments",
    "/rest/socialActions/urn%3Ali%3Ashare%3A1/comments/9",
    "/rest/organizationPageStatistics",
    "/rest/networkSizes/urn%3Ali%3Aorganization%3A1",
    "/rest/someNewResource",
    "/v2/me",
    "/v2/organizations/5",
]
RESTLI = ["GET", "BATCH_GET", "GET_ALL", "FINDER", "CREATE", "BATCH_CREATE", "UPDATE"]
RESTLI += ["PARTIAL_UPDATE", "BATCH_PARTIAL_UPDATE", "DELETE", "BATCH_DELETE", "ACTION"]
QUERIES = [
    "",
    "q=roleAssignee",
    "q=author&author=urn%3Ali%3Aorganization%3A1",
    "ids=List(1,2)",
    "ids=List(urn%3Ali%3Aorganization%3A1)",
    "action=go",
    "fields=id,name",
    "bq=x",
]
TRICKS = [
    "repeated authorization",
    "re-cased authorization",
    "connection names a read header",
    "underscore header",
    "content-encoding",
]


@dataclass(frozen=True)
class Sent(Recorded):
    """A request as the test sends it to the gateway, and the trick it plays, if any."""

    trick: str | None

    def wire(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", "Host: gateway.test"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(self.body) // 2
            parts = [p for p in (self.body[:half], self.body[half:]) if p]
            framed = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)
            payload = framed + b"0\r\n\r\n"
        else:
            if self.body or self.method in ("POST", "PUT"):
                lines.append(f"Content-Length: {len(self.body)}")
            payload = self.body
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@st.composite
def requests(draw: st.DrawFn) -> Sent:
    path = draw(st.sampled_from(PATHS))
    query = draw(st.sampled_from(QUERIES))
    target = f"{path}?{query}" if query else path
    headers: list[tuple[str, str]] = [
        ("Authorization", f"Bearer {TOKEN}"),
        ("LinkedIn-Version", "202505"),
    ]
    if draw(st.booleans()):
        headers.append(("X-Restli-Protocol-Version", "2.0.0"))
    tunneled = draw(st.integers(0, 4)) == 0
    body = b""
    if tunneled:
        method = "POST"
        headers.append(("X-HTTP-Method-Override", draw(st.sampled_from(["GET", "DELETE", "PUT"]))))
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        body = (query or "fields=id").encode()
        target = path
    else:
        method = draw(st.sampled_from(["GET", "GET", "POST", "POST", "PUT", "DELETE"]))
        if method in ("POST", "PUT"):
            entity = draw(
                st.dictionaries(
                    st.sampled_from(["author", "commentary", "name", "patch"]),
                    st.text(st.characters(codec="utf-8"), max_size=20),
                    max_size=3,
                )
            )
            body = json.dumps(entity, ensure_ascii=draw(st.booleans())).encode()
            headers.append(("Content-Type", "application/json"))
    if draw(st.booleans()):
        headers.append(("X-RestLi-Method", draw(st.sampled_from(RESTLI))))
    trick = draw(st.none() | st.sampled_from(TRICKS))
    if trick == "repeated authorization":
        headers.append(("Authorization", "Bearer tok-ads"))
    elif trick == "re-cased authorization":
        headers.append(("authorization", f"Bearer {TOKEN}"))
    elif trick == "connection names a read header":
        named = draw(st.sampled_from(["Authorization", "X-RestLi-Method", "LinkedIn-Version"]))
        headers.append(("Connection", f"keep-alive, {named}"))
    elif trick == "underscore header":
        headers.append(("X_RestLi_Method", "BATCH_DELETE"))
    elif trick == "content-encoding":
        headers.append(("Content-Encoding", "gzip"))
        body = gzip.compress(body)
        if method not in ("POST", "PUT"):
            method = "POST"
    order = draw(st.permutations(headers))
    chunked = bool(body) and draw(st.booleans())
    return Sent(method, target, tuple(order), body, chunked, trick)


@dataclass
class Stack:
    loop: asyncio.AbstractEventLoop
    upstream: RecordingUpstream
    runner: web.AppRunner
    port: int

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT * 2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    upstream = RecordingUpstream()

    async def start() -> tuple[web.AppRunner, int]:
        await upstream.start()
        path = write_config(Path(tmp_path_factory.mktemp("invariant")), gateway_yaml(upstream.url))
        app = build_gateway_app(load_settings(path, environ={}), clock=time.time)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, runner.addresses[0][1]

    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(WAIT)
    built = Stack(loop, upstream, runner, port)
    try:
        yield built
    finally:
        built.run(runner.cleanup())
        built.run(upstream.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


async def exchange(port: int, data: bytes) -> tuple[int, dict[str, str]]:
    status, headers, _ = await raw_exchange(port, data)
    return status, headers


def classified(method: str, target: str, headers: tuple[tuple[str, str], ...], body: bytes) -> Any:
    """What ``classify`` makes of a request, or the refusal it raises."""
    try:
        return classify(method, target, CIMultiDict(headers), body)
    except GatewayError as exc:
        return exc.refusal.reason


def _values(headers: tuple[tuple[str, str], ...], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


@pytest.mark.timeout(300)
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sent=requests())
def test_the_upstream_receives_the_request_the_gateway_classified(stack: Stack, sent: Sent) -> None:
    before = len(stack.upstream.requests)

    status, answer = stack.run(exchange(stack.port, sent.wire()))

    new = stack.upstream.requests[before:]
    admitted = "x-gateway-reason" not in answer
    event("admitted" if admitted else f"refused {answer.get('x-gateway-reason')}")
    if sent.trick is not None:
        assert not admitted, (sent, status)
    if not admitted:
        assert new == [], (sent, status, answer.get("x-gateway-reason"))
        return
    assert status == 200
    [seen] = new
    _same_request(sent, seen)


def _same_request(sent: Sent, seen: Recorded) -> None:
    assert (seen.method, seen.target, seen.body) == (sent.method, sent.target, sent.body)
    assert seen.all("Authorization") == [f"Bearer {TOKEN}"]
    for name in CLASSIFIED:
        assert seen.all(name) == _values(sent.headers, name), name
    assert seen.all("Content-Encoding") == []
    assert classified(seen.method, seen.target, seen.headers, seen.body) == classified(
        sent.method, sent.target, sent.headers, sent.body
    )
