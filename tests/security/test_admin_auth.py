"""The admin listener: a bearer token guards everything but the probes, and a listener off
loopback cannot start without one. Its own answers are JSON like the gateway's."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.errors import ConfigError
from gateway.http.admin import build_admin_app
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, write_config

ServerFactory = Callable[..., Awaitable[TestServer]]
TOKEN = "adm-7c1f0e5b9a2d4e6f8a0b"
ENV = {"ADMIN_TOKEN": TOKEN}


def minimal(admin_listen: str, extra: str = "") -> str:
    return f"""\
admin_listen: {admin_listen!r}
{extra}
apps:
  demo:
    client_id: c-demo
    client_secret: s-demo
    products:
      community_management: {{tier: development}}
"""


@pytest.mark.parametrize(
    "where", ["0.0.0.0:8081", "[::]:8081", "10.1.2.3:8081", "admin.internal:8081"]
)
def test_an_admin_listener_off_loopback_needs_a_token(tmp_path: Path, where: str) -> None:
    path = write_config(tmp_path, minimal(where))

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})

    assert any(p.path == "admin_token_env" for p in caught.value.problems), caught.value
    assert (
        load_settings(
            write_config(tmp_path, minimal(where, "admin_token_env: ADMIN_TOKEN"), "with.yaml"),
            environ=ENV,
        ).guards.admin_token
        == TOKEN
    )


def test_the_environment_cannot_move_the_listener_off_loopback_without_a_token(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, minimal("127.0.0.1:8081"))

    with pytest.raises(ConfigError, match="admin_token_env"):
        load_settings(path, environ={"GATEWAY_ADMIN_LISTEN": "0.0.0.0:9000"})


@pytest.mark.parametrize("where", ["127.0.0.1:8081", "localhost:8081", "[::1]:8081", "127.9.9.9:1"])
def test_a_loopback_admin_listener_may_go_without_a_token(tmp_path: Path, where: str) -> None:
    settings = load_settings(write_config(tmp_path, minimal(where)), environ={})

    assert settings.guards.admin_token is None


@pytest.mark.parametrize(
    ("env", "message"),
    [({}, "is not set"), ({"ADMIN_TOKEN": "short"}, "fewer than 16 characters")],
)
def test_a_missing_or_weak_admin_token_is_a_config_error(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    path = write_config(tmp_path, minimal("127.0.0.1:8081", "admin_token_env: ADMIN_TOKEN"))

    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path, environ=env)

    assert "short" not in str(caught.value)


async def admin_for(
    aiohttp_server: ServerFactory, tmp_path: Path, extra: str, env: dict[str, str]
) -> tuple[TestServer, TestServer]:
    """A gateway on the sandbox and its admin listener, both on real sockets."""
    settings = load_settings(
        write_config(tmp_path, gateway_yaml("sandbox", extra=extra)), environ=env
    )
    gateway = await aiohttp_server(build_gateway_app(settings, clock=time.time))
    return gateway, await aiohttp_server(build_admin_app(gateway.app))


async def fetch(
    server: TestServer, path: str, *, method: str = "GET", token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.make_url(path), headers=headers) as resp,
    ):
        text = await resp.text()
        body = await resp.json() if resp.content_type == "application/json" else text
        return resp.status, dict(resp.headers), body


def assert_refusal(body: Any, headers: dict[str, str], status: int, reason: str) -> None:
    assert isinstance(body, dict), body
    assert body["status"] == status and isinstance(body["code"], str) and body["message"]
    assert headers["X-Gateway-Reason"] == reason


@pytest.mark.parametrize(
    "path", ["/metrics", "/usage", "/usage/social?member=urn:li:person:m00", "/nope"]
)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "adm-7c1f0e5b9a2d4e6f8a0c", TOKEN + "x", TOKEN[:-1], TOKEN.upper()],
)
async def test_without_the_token_nothing_but_the_probes_answers(
    aiohttp_server: ServerFactory, tmp_path: Path, path: str, authorization: str | None
) -> None:
    _, admin = await admin_for(aiohttp_server, tmp_path, "admin_token_env: ADMIN_TOKEN", ENV)

    status, headers, body = await fetch(admin, path, token=authorization)

    assert status == 401
    assert_refusal(body, headers, 401, "admin_unauthorized")
    assert headers["WWW-Authenticate"].startswith("Bearer ")
    assert TOKEN not in str(body)


async def test_with_the_token_the_admin_endpoints_answer(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    gateway, admin = await admin_for(aiohttp_server, tmp_path, "admin_token_env: ADMIN_TOKEN", ENV)

    for probe in ("/healthz", "/readyz"):
        assert (await fetch(admin, probe))[0] == 200
    status, _, usage = await fetch(admin, "/usage/social?member=urn:li:person:m00", token=TOKEN)
    assert status == 200 and usage["app"] == "social"
    assert (await fetch(gateway, "/rest/me", token="nope"))[0] == 401
    status, _, text = await fetch(admin, "/metrics", token=TOKEN)
    assert status == 200
    assert 'reason="invalid_token",status="401"' in text

    status, headers, body = await fetch(admin, "/nope", token=TOKEN)
    assert status == 404
    assert_refusal(body, headers, 404, "admin_not_found")
    status, headers, body = await fetch(admin, "/usage/nobody", token=TOKEN)
    assert status == 404
    assert_refusal(body, headers, 404, "admin_not_found")
    status, headers, body = await fetch(admin, "/metrics", method="POST", token=TOKEN)
    assert status == 405
    assert_refusal(body, headers, 405, "method_not_allowed")
    assert "GET" in headers["Allow"]


async def test_a_loopback_listener_without_a_token_stays_open_and_answers_json(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    _, admin = await admin_for(aiohttp_server, tmp_path, "", {})

    assert (await fetch(admin, "/metrics"))[0] == 200
    status, headers, body = await fetch(admin, "/nope")
    assert status == 404
    assert_refusal(body, headers, 404, "admin_not_found")
    status, headers, body = await fetch(admin, "/healthz", method="DELETE")
    assert status == 405
    assert_refusal(body, headers, 405, "method_not_allowed")
