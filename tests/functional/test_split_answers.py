"""Answers of the servers the gateway calls are read whole, however they arrive split.

One ``read`` on a response returns what has arrived so far. An OAuth endpoint or a member
look-up whose JSON came in two TCP segments (two TLS records, a slow proxy) was cut at the
first and read as broken JSON. A raw server here sends the head and the first half of the
body, pauses, then the rest; past a bound, the answer is refused instead of buffered.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.errors import UpstreamUnreachable
from gateway.oauth.client import MAX_ANSWER_BYTES, LinkedInOAuth, OAuthUnavailable
from gateway.upstream import CALL_ANSWER_BYTES, Upstream
from tests.fake_tcp import listening

DOCUMENT = {"sub": "abc123", "name": "A Member", "padding": "p" * 3000}


class SplitAnswer:
    """Answers every request 200 with ``body`` (framed by Content-Length), in two writes
    a moment apart."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        half = len(self.body) // 2
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(self.body)).encode() + b"\r\n\r\n" + self.body[:half]
        )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(self.body[half:])
        await writer.drain()
        await reader.read()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def test_an_oauth_answer_in_two_parts_is_read_whole() -> None:
    body = json.dumps(DOCUMENT).encode()
    async with listening(SplitAnswer(body)) as server:
        oauth = LinkedInOAuth(server.base, f"{server.base}/discovery", timeout=5)
        await oauth.start()
        try:
            assert await oauth.fetch_json(f"{server.base}/discovery") == DOCUMENT
        finally:
            await oauth.close()


async def test_an_oauth_answer_past_its_bound_is_refused() -> None:
    async with listening(SplitAnswer(b"[" + b" " * MAX_ANSWER_BYTES + b"]")) as server:
        oauth = LinkedInOAuth(server.base, f"{server.base}/discovery", timeout=5)
        await oauth.start()
        try:
            with pytest.raises(OAuthUnavailable, match="answered more than"):
                await oauth.fetch_json(f"{server.base}/discovery")
        finally:
            await oauth.close()


async def test_a_member_look_up_answer_in_two_parts_is_read_whole() -> None:
    body = json.dumps(DOCUMENT).encode()
    async with listening(SplitAnswer(body)) as server:
        upstream = Upstream(server.base, connect_timeout=2, timeout=5)
        await upstream.start()
        try:
            status, got = await upstream.call("GET", "/v2/userinfo", {"Authorization": "x"})
        finally:
            await upstream.close()
    assert (status, json.loads(got)) == (200, DOCUMENT)


async def test_a_member_look_up_answer_past_its_bound_is_an_upstream_error() -> None:
    async with listening(SplitAnswer(b"x" * (CALL_ANSWER_BYTES + 1))) as server:
        upstream = Upstream(server.base, connect_timeout=2, timeout=5)
        await upstream.start()
        try:
            with pytest.raises(UpstreamUnreachable, match="answered more than") as failed:
                await upstream.call("GET", "/v2/userinfo", {"Authorization": "x"})
        finally:
            await upstream.close()
    assert failed.value.sent
