"""No secret reaches a log line, the start-up line or the demo banner.

Secrets are planted in every kind of malformed request (request line, oversized header,
bad header, bad Content-Length, bad method) and failure (invalid token with introspection
down, a query token, upstream down, store down, an OAuth callback with a code, a refresh
with a refresh_token), then every byte a real ``linkedin-gateway serve`` wrote to stdout and
stderr — at DEBUG and at INFO — is searched for them; the same requests against an
in-process gateway are searched for in every captured log record.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.settings.loader import load_settings
from gateway.support.redact import mask_text, mask_url
from tests.redis_server import RedisUnavailable, start_redis_server
from tests.serve_process import (
    answering,
    demo_env,
    free_port,
    launched,
    stop,
    wait_listening,
)

REDIS_PASSWORD = "SECRET-redis-pw-7f3a"
CLIENT_SECRET = "SECRET-client-9b21"
STATIC_TOKEN = "SECRET-static-token-5c0d"
SECRETS_IN_REQUESTS = {
    "bad_line": "SECRET-bad-line-1a",
    "bad_header_auth": "SECRET-bad-header-auth-2b",
    "bad_header_code": "SECRET-bad-header-code-3c",
    "long_header_query": "SECRET-long-header-query-4d",
    "long_header_auth": "SECRET-long-header-auth-4e",
    "bad_length_auth": "SECRET-bad-length-auth-5e",
    "bad_method": "SECRET-bad-method-6f",
    "query_token": "SECRET-query-token-7a",
    "invalid_token": "SECRET-invalid-token-8b",
    "callback_code": "SECRET-callback-code-9c",
    "refresh_token": "SECRET-refresh-token-0d",
}
ALL_SECRETS = (REDIS_PASSWORD, CLIENT_SECRET, STATIC_TOKEN, *SECRETS_IN_REQUESTS.values())


def config_text(listen: int, admin: int, dead: int) -> str:
    """Upstream, store and LinkedIn's OAuth endpoints all on a port nothing listens on."""
    return f"""\
listen: 127.0.0.1:{listen}
admin_listen: 127.0.0.1:{admin}
upstream: http://127.0.0.1:{dead}
store: redis://:{REDIS_PASSWORD}@127.0.0.1:{dead}/0?socket_timeout=0.5&connect_timeout=0.5
on_store_error: open
upstream_connect_timeout: 1
upstream_timeout: 2
oauth: {{base: 'http://127.0.0.1:{dead}/oauth/v2', timeout: 1}}
apps:
  social:
    client_id: c-social
    client_secret_env: LEAK_TEST_SECRET
    redirect_uri: http://127.0.0.1:{listen}/oauth/callback
    return_url: http://127.0.0.1:9/done
    products:
      community_management: {{tier: development, since: 2026-06-01}}
tokens:
  - {{token: {STATIC_TOKEN}, app: social, member: 'urn:li:person:alice', scopes: [r_organization_social, rw_organization_admin]}}
"""


def malformed_requests() -> list[bytes]:
    s = SECRETS_IN_REQUESTS
    return [
        # A request line the parser refuses, a token in its query.
        f"GET /rest/posts?oauth2_access_token={s['bad_line']} HTTP/1.1 extra\r\n\r\n".encode(),
        # A header that is not a header, after the Authorization header; a code in the query.
        (
            f"GET /oauth/callback?code={s['bad_header_code']} HTTP/1.1\r\nHost: gw\r\n"
            f"Authorization: Bearer {s['bad_header_auth']}\r\nBad Header: x\r\n\r\n"
        ).encode(),
        # A header longer than the parser takes, ending in a secret.
        (
            f"GET /rest/posts?access_token={s['long_header_query']} HTTP/1.1\r\nHost: gw\r\n"
            f"Authorization: Bearer {'a' * 9000}{s['long_header_auth']}\r\n\r\n"
        ).encode(),
        # A bad Content-Length after the Authorization header.
        (
            f"POST /rest/posts HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
            f"{s['bad_length_auth']}\r\nContent-Length: 1x\r\n\r\n"
        ).encode(),
        # A method that is not a token (logged at DEBUG by aiohttp).
        f"G@T /rest/posts?code={s['bad_method']} HTTP/1.1\r\nHost: gw\r\n\r\n".encode(),
    ]


def wellformed_requests() -> list[bytes]:
    s = SECRETS_IN_REQUESTS
    form = f"app=social&refresh_token={s['refresh_token']}"
    return [
        # A token in the query: refused 400.
        f"GET /rest/posts?q=author&oauth2_access_token={s['query_token']} HTTP/1.1\r\n"
        f"Host: gw\r\nAuthorization: Bearer {STATIC_TOKEN}\r\nConnection: close\r\n\r\n".encode(),
        # An unknown token: introspection is down, 503.
        f"GET /rest/posts HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {s['invalid_token']}\r\n"
        "Connection: close\r\n\r\n".encode(),
        # A known token: store down (admitted, open), upstream down, 502.
        f"GET /rest/organizationAcls?q=roleAssignee HTTP/1.1\r\nHost: gw\r\n"
        f"Authorization: Bearer {STATIC_TOKEN}\r\nLinkedIn-Version: 202505\r\n"
        "Connection: close\r\n\r\n".encode(),
        # An OAuth callback with a code: the state store is down, 503.
        f"GET /oauth/callback?code={s['callback_code']}&state=unknown HTTP/1.1\r\n"
        "Host: gw\r\nConnection: close\r\n\r\n".encode(),
        # A refresh: LinkedIn's token endpoint is down.
        (
            "POST /oauth/refresh HTTP/1.1\r\nHost: gw\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n{form}"
        ).encode(),
    ]


async def exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 20)
    finally:
        writer.close()


async def send_all(port: int) -> list[bytes]:
    return [await exchange(port, raw) for raw in malformed_requests() + wellformed_requests()]


def assert_answered(answers: list[bytes]) -> None:
    """The requests did what they were planted for: parser 400s, then the gateway's own."""
    statuses = [a.split(b"\r\n", 1)[0] for a in answers]
    assert all(b" 400 " in s for s in statuses[:5]), statuses
    assert [s.split()[1] for s in statuses[5:]] == [b"400", b"503", b"502", b"503", b"503"], (
        statuses
    )


def dead_port() -> int:
    return free_port()


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_serve_prints_no_secret(tmp_path: Path, level: str) -> None:
    port, admin, dead = free_port(), free_port(), dead_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(config_text(port, admin, dead))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["LEAK_TEST_SECRET"] = CLIENT_SECRET
    with launched(["--config", str(config), "--log-level", level], env) as proc:
        wait_listening(port, proc)
        answers = asyncio.run(send_all(port))
        out, err = stop(proc)
    assert_answered(answers)
    printed = out + err
    # What was printed is there: the start-up line with the masked store, the parser errors
    # as one line each, the access lines of the failures.
    assert f"redis://:***@127.0.0.1:{dead}/0" in err
    assert "BadStatusLine" in err and "LineTooLong" in err
    assert "method=GET path=/rest/posts" in err
    assert "reason=upstream_unreachable" in err
    leaked = [secret for secret in ALL_SECRETS if secret in printed]
    assert leaked == [], printed


def run_demo(store: str) -> tuple[int, str, str]:
    """``serve`` on the demo config with ``store``: stopped once it listens (or exited)."""
    port, admin = free_port(), free_port()
    with launched(env=demo_env(port, admin, GATEWAY_STORE=store)) as proc:
        answering(admin, proc)
        out, err = stop(proc)
    return proc.returncode, out, err


@pytest.fixture
def redis_with_password() -> Iterator[int]:
    """A private redis-server that wants REDIS_PASSWORD: its port."""
    try:
        server = start_redis_server()
    except RedisUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(f"CONFIG SET requirepass {REDIS_PASSWORD}\r\n".encode())
            assert conn.recv(16).startswith(b"+OK")
        yield server.port
    finally:
        server.stop()


def test_demo_banner_masks_the_store_password(redis_with_password: int) -> None:
    store = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis_with_password}/0"
    code, out, err = run_demo(store)
    assert code == 0, err
    assert f"store redis://:***@127.0.0.1:{redis_with_password}/0" in out  # the banner
    assert f"store redis://:***@127.0.0.1:{redis_with_password}/0" in err  # the start-up line
    assert REDIS_PASSWORD not in out + err


def test_a_store_unreachable_at_start_is_named_without_its_password() -> None:
    store = f"redis://user:{REDIS_PASSWORD}@127.0.0.1:{dead_port()}/0?connect_timeout=0.5"
    code, out, err = run_demo(store)
    assert code != 0
    assert "redis://user:***@127.0.0.1" in err
    assert REDIS_PASSWORD not in out + err


async def test_captured_records_hold_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port, dead = free_port(), dead_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(config_text(port, free_port(), dead))
    settings = load_settings(str(config), environ={"LEAK_TEST_SECRET": CLIENT_SECRET})
    server = TestServer(build_gateway_app(settings), port=port)
    await server.start_server()
    try:
        answers = await send_all(port)
    finally:
        await server.close()
    assert_answered(answers)
    records = caplog.records
    assert any(r.name == "aiohttp.server" for r in records)
    texts = [caplog.text]
    for record in records:
        texts.append(record.getMessage())
        texts.append(record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(str(record.exc_info[1]))
    leaked = [s for s in ALL_SECRETS if any(s in text for text in texts)]
    assert leaked == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:pw@host/0?socket_timeout=1", "rediss://user:***@host/0?socket_timeout=1"),
        ("unix:///run/redis.sock?db=0&password=pw", "unix:///run/redis.sock?db=0&password=***"),
        ("http://h/cb?code=c&state=s", "http://h/cb?code=***&state=s"),
        ("/x?oauth2_access_token=t&q=1", "/x?oauth2_access_token=***&q=1"),
        ("/x?CLIENT_SECRET=t&refresh_token=r", "/x?CLIENT_SECRET=***&refresh_token=***"),
        ("/x?access_token=a&password=p", "/x?access_token=***&password=***"),
        ("memory://", "memory://"),
        ("https://api.linkedin.com", "https://api.linkedin.com"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_mask_text_masks_urls_parameters_and_bearer_tokens_inside_a_line() -> None:
    line = (
        "failed redis://u:pw1@h/0 then GET /cb?state=s&code=c2 "
        "Authorization: Bearer t3, form refresh_token=r4"
    )
    masked = mask_text(line)
    assert masked == (
        "failed redis://u:***@h/0 then GET /cb?state=s&code=*** "
        "Authorization: Bearer ***, form refresh_token=***"
    )
