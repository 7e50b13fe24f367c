"""The webhook endpoint must not sign for anyone, and must not buffer what it cannot check.

LinkedIn's challenge answers HMAC(client_secret, challengeCode) to whoever asks; a push is
accepted when X-LI-Signature is HMAC(client_secret, "hmacsha256=" + body). Answering any
code made the challenge an oracle: asking for "hmacsha256=" + body gave the signature of a
forged push. Only UUID codes are answered now, and no string a challenge answers verifies a
push. Push bodies are capped (``webhook_max_body_bytes``) before they are read.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.runtime import RUNTIME
from gateway.sandbox.app import make_sandbox_app
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import FakeClock
from tests.security.raw_http import status_and_head

ServerFactory = Callable[..., Awaitable[TestServer]]
APP = "hooks"
SECRET = "s-hooks-secret"
NOW = 1_800_000_000.0
WAIT = 10.0


class Receiver:
    """The app's internal webhook endpoint: records every delivery."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(json.loads(await request.read()))
        self.arrived.set()
        return web.Response()


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> tuple[Receiver, str]:
    made = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", made.handle)
    server = await aiohttp_server(app)
    return made, str(server.make_url("/hooks"))


async def start(
    aiohttp_server: ServerFactory, tmp_path: Path, forward_to: str, extra: str = ""
) -> TestServer:
    sandbox = await aiohttp_server(make_sandbox_app())
    path = tmp_path / f"gateway-{time.monotonic_ns()}.yaml"
    path.write_text(
        f"""\
listen: 127.0.0.1:0
admin_listen: null
upstream: {sandbox.make_url("")}
store: "memory://"
{extra}
apps:
  {APP}:
    client_id: c-hooks
    client_secret: {SECRET}
    products: {{community_management: {{tier: standard}}}}
    webhook: {{forward_to: "{forward_to}"}}
"""
    )
    settings = load_settings(str(path), environ={})
    return await aiohttp_server(build_gateway_app(settings, clock=FakeClock(NOW)))


async def ask_challenge(session: aiohttp.ClientSession, gw: TestServer, code: str) -> Any:
    url = gw.make_url(f"/webhooks/{APP}").with_query({"challengeCode": code})
    async with session.get(url) as resp:
        return resp.status, resp.headers.get("X-Gateway-Reason"), await resp.json()


async def send_push(
    session: aiohttp.ClientSession, gw: TestServer, body: bytes, signature: str
) -> tuple[int, str | None]:
    headers = {"Content-Type": "application/json", "X-LI-Signature": signature}
    async with session.post(gw.make_url(f"/webhooks/{APP}"), data=body, headers=headers) as resp:
        await resp.read()
        return resp.status, resp.headers.get("X-Gateway-Reason")


FORGED = json.dumps(
    {"type": "LEAD_ACTION", "notifications": [{"notificationId": 666, "action": "FORGED"}]},
    separators=(",", ":"),
).encode()


async def test_the_challenge_no_longer_signs_a_forged_push(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """The attack as reproduced: ask the challenge for "hmacsha256=" + body, push with it."""
    hook, forward_to = receiver
    gw = await start(aiohttp_server, tmp_path, forward_to)
    async with aiohttp.ClientSession() as session:
        status, reason, body = await ask_challenge(session, gw, "hmacsha256=" + FORGED.decode())
        # Whatever it answered, push with it: it must not pass as a signature.
        answer = str(body.get("challengeResponse", "0" * 64))
        assert await send_push(session, gw, FORGED, answer) == (401, "webhook_signature_invalid")
        assert (status, reason) == (400, "webhook_challenge_invalid")
        assert body["status"] == 400 and body["code"] == "BAD_REQUEST"
        assert "challengeResponse" not in body
    assert await gw.app[RUNTIME].webhook_queue.pending(APP) == 0
    assert hook.got == []


async def test_no_challenge_answer_verifies_any_push(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """Every answer the challenge gives, tried as the signature (bare, prefixed, upper
    case) of the push whose body is the code itself and of a forged notification."""
    hook, forward_to = receiver
    gw = await start(aiohttp_server, tmp_path, forward_to)
    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            code = str(uuid.uuid4())
            status, _, answered = await ask_challenge(session, gw, code)
            assert status == 200 and answered["challengeCode"] == code
            mac = str(answered["challengeResponse"])
            for body in (FORGED, code.encode(), b"", json.dumps(code).encode()):
                for signature in (mac, "hmacsha256=" + mac, mac.upper(), " " + mac):
                    assert await send_push(session, gw, body, signature) == (
                        401,
                        "webhook_signature_invalid",
                    )
    assert hook.got == []


@pytest.mark.parametrize(
    "code",
    [
        "hmacsha256={}",
        "x",
        "890e4665-4dfe-4ab1-b689-ed553bceeed5\n",
        "890e4665-4dfe-4ab1-b689-ed553bceeed5 ",
        "{890e4665-4dfe-4ab1-b689-ed553bceeed5}",
        "890e46654dfe4ab1b689ed553bceeed5",
        "890e4665-4dfe-4ab1-b689-ed553bceeed5-890e4665",
        "890e4665-4dfe-4ab1-b689-ed553bceeezz",
        "\uff18\uff19\uff10e4665-4dfe-4ab1-b689-ed553bceeed5",
    ],
)
async def test_only_uuid_challenge_codes_are_answered(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str], code: str
) -> None:
    gw = await start(aiohttp_server, tmp_path, receiver[1])
    async with aiohttp.ClientSession() as session:
        status, reason, body = await ask_challenge(session, gw, code)
    assert (status, reason) == (400, "webhook_challenge_invalid")
    assert body["status"] == 400 and body["code"] == "BAD_REQUEST"
    assert "UUID" in body["message"]


async def test_a_real_push_still_goes_through(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """What LinkedIn sends (signature over "hmacsha256=" + body) is queued and delivered."""
    import hashlib
    import hmac

    hook, forward_to = receiver
    gw = await start(aiohttp_server, tmp_path, forward_to)
    body = json.dumps({"type": "LEAD_ACTION", "notifications": [{"notificationId": 7}]}).encode()
    signature = hmac.new(SECRET.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as session:
        assert await send_push(session, gw, body, signature) == (200, None)
    await asyncio.wait_for(hook.arrived.wait(), WAIT)
    assert [n["notificationId"] for n in hook.got[0]["notifications"]] == [7]


# --- the body cap --------------------------------------------------------------------------


async def raw_exchange(gw: TestServer, head: str, body: bytes = b"") -> tuple[int, bytes]:
    assert gw.port is not None
    return await status_and_head(gw.port, head, body)


async def test_a_declared_oversized_push_is_refused_before_its_body(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """Content-Length past the cap: 413 at once, though not one byte of body was sent."""
    gw = await start(aiohttp_server, tmp_path, receiver[1])
    head = (
        f"POST /webhooks/{APP} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        f"X-LI-Signature: {'0' * 64}\r\nContent-Length: {5 * 1024 * 1024}\r\n\r\n"
    )
    status, answer = await raw_exchange(gw, head)
    assert status == 413 and b"X-Gateway-Reason: body_too_large" in answer


async def test_a_chunked_push_is_cut_off_at_the_cap(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """No declared length: the streamed read stops at the configured cap (1 KB here)."""
    gw = await start(aiohttp_server, tmp_path, receiver[1], "webhook_max_body_bytes: 1024")
    assert gw.app[RUNTIME].settings.public.webhook_max_body_bytes == 1024
    chunk = b"x" * 600
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3))
    head = (
        f"POST /webhooks/{APP} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        f"X-LI-Signature: {'0' * 64}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, answer = await raw_exchange(gw, head, chunked)
    assert status == 413 and b"X-Gateway-Reason: body_too_large" in answer


async def test_the_default_cap_is_64_kb(
    aiohttp_server: ServerFactory, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    gw = await start(aiohttp_server, tmp_path, receiver[1])
    sig = "0" * 64
    async with aiohttp.ClientSession() as session:
        # At the cap: read and judged on its signature; one byte past it: 413.
        assert await send_push(session, gw, b" " * 65536, sig) == (
            401,
            "webhook_signature_invalid",
        )
        assert await send_push(session, gw, b" " * 65537, sig) == (413, "body_too_large")
