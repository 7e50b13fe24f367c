"""The webhook receiver and delivery through real sockets: LinkedIn -> gateway -> the app.

An internal receiver (a real aiohttp server) plays the app: it answers a scripted list of
statuses, or hangs until released, and records every delivery it gets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.runtime import RUNTIME, Runtime
from gateway.settings.model import AppConfig, WebhookConfig
from gateway.support.metrics import Metrics
from gateway.webhooks.delivery import LEASE_SECONDS, DeliveryWorker
from gateway.webhooks.notifications import parse_push
from gateway.webhooks.queue import MemoryWebhookQueue
from gateway.webhooks.signatures import challenge_response, push_signature
from tests.functional.gateway_harness import FIXED_NOW as NOW
from tests.functional.gateway_harness import FakeClock
from tests.redis_server import PATIENT, free_port, unique_app, with_query

ServerFactory = Callable[..., Awaitable[TestServer]]
SOCIAL = "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"
KEY = (
    "(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
    "user:urn%3Ali%3Aperson%3Aabc,entity:urn%3Ali%3Aorganization%3A1,"
    f"eventType:{SOCIAL})"
)


@dataclass
class Receiver:
    """The app's internal webhook endpoint."""

    statuses: list[int] = field(default_factory=list)
    hang_first: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    got: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), json.loads(await request.read())))
        if self.hang_first and len(self.got) == 1:
            await self.release.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def ids(self) -> list[str]:
        return [headers["X-Gateway-Notification-Id"] for headers, _ in self.got]


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> AsyncIterator[Receiver]:
    made = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", made.handle)
    made.server = await aiohttp_server(app)
    yield made
    made.release.set()


def config(upstream: str, receiver: Receiver, store: str = "memory://", suffix: str = "") -> str:
    return f"""\
listen: 127.0.0.1:0
admin_listen: null
upstream: {upstream}
store: "{store}"
apps:
  hooks-dev{suffix}:
    client_id: c-dev{suffix}
    client_secret: s-dev
    products: {{community_management: {{tier: development}}}}
    webhook: {{forward_to: "{receiver.url("/dev")}"}}
  hooks-std{suffix}:
    client_id: c-std{suffix}
    client_secret: s-std
    products: {{community_management: {{tier: standard}}}}
    webhook: {{forward_to: "{receiver.url("/std")}"}}
  nohook{suffix}:
    client_id: c-nohook{suffix}
    client_secret: s-nohook
    products: {{community_management: {{tier: standard}}}}
tokens:
  - {{token: tok-dev{suffix}, app: hooks-dev{suffix}, member: 'urn:li:person:abc', scopes: [rw_organization_admin]}}
  - {{token: tok-std{suffix}, app: hooks-std{suffix}, member: 'urn:li:person:abc', scopes: [rw_organization_admin]}}
"""


Start = Callable[..., Awaitable[TestServer]]


def runtime_of(server: TestServer) -> Runtime:
    return server.app[RUNTIME]


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait, bounded, for state another task changes (deliveries, counters)."""

    async def wait() -> None:
        while not check():  # noqa: ASYNC110 - the state belongs to the gateway under test
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


def envelope(*ids: int, kind: str = SOCIAL) -> bytes:
    notes = [{"notificationId": n, "action": "COMMENT"} for n in ids]
    return json.dumps({"type": kind, "notifications": notes}).encode()


async def push(
    server: TestServer, app: str, body: bytes, signature: str | None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-LI-Signature"] = signature
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.make_url(f"/webhooks/{app}"), data=body, headers=headers) as resp,
    ):
        return resp.status, dict(resp.headers), json.loads(await resp.read())


# --- validation -----------------------------------------------------------------------------


async def test_challenge_is_answered_with_the_hmac(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        async with session.get(gw.make_url(f"/webhooks/hooks-std?challengeCode={code}")) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert time.monotonic() - started < 3  # LinkedIn's limit
        assert body == {
            "challengeCode": code,
            "challengeResponse": challenge_response("s-std", code),
        }
        for path, status, reason in [
            ("/webhooks/hooks-std", 400, "webhook_bad_request"),
            ("/webhooks/nobody?challengeCode=x", 404, "webhook_unknown_app"),
            ("/webhooks/nohook?challengeCode=x", 404, "webhook_unknown_app"),
        ]:
            async with session.get(gw.make_url(path)) as resp:
                assert (resp.status, resp.headers["X-Gateway-Reason"]) == (status, reason)


# --- pushes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        lambda body: None,
        lambda body: push_signature("not-the-secret", body),
        lambda body: push_signature("s-std", body + b" "),
        lambda body: push_signature("s-std", body)[:-2] + "00",
        lambda body: "",
    ],
    ids=["missing", "wrong-secret", "other-body", "one-byte-off", "empty"],
)
async def test_forged_signatures_are_refused(
    sandbox: TestServer,
    receiver: Receiver,
    start_config: Start,
    forge: Callable[[bytes], str | None],
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    body = envelope(1, kind="LEAD_ACTION")
    status, headers, _ = await push(gw, "hooks-std", body, forge(body))
    assert (status, headers["X-Gateway-Reason"]) == (401, "webhook_signature_invalid")
    assert await runtime_of(gw).webhook_queue.pending("hooks-std") == 0


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b""])
async def test_non_json_pushes_are_refused(
    sandbox: TestServer, receiver: Receiver, start_config: Start, body: bytes
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    status, headers, _ = await push(gw, "hooks-std", body, push_signature("s-std", body))
    assert (status, headers["X-Gateway-Reason"]) == (400, "webhook_bad_request")


async def test_unknown_app_push_is_404(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    body = envelope(1)
    status, _, _ = await push(gw, "nobody", body, push_signature("s-std", body))
    assert status == 404


async def test_push_is_queued_then_delivered_per_notification(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    body = envelope(11, 12)
    status, _, answer = await push(gw, "hooks-std", body, push_signature("s-std", body))
    assert (status, answer) == (200, {"queued": 2, "duplicates": 0, "dropped": 0})
    await eventually(lambda: len(receiver.got) == 2)
    assert sorted(receiver.ids()) == ["11", "12"]
    for headers, payload in receiver.got:
        assert headers["X-Gateway-Delivery-Attempt"] == "1"
        assert payload["type"] == SOCIAL
        assert [n["notificationId"] for n in payload["notifications"]] == [
            int(headers["X-Gateway-Notification-Id"])
        ]
    await eventually(
        lambda: (
            runtime_of(gw).metrics.value(
                "gateway_webhook_deliveries_total", app="hooks-std", outcome="delivered"
            )
            == 2
        )
    )
    assert await runtime_of(gw).webhook_queue.pending("hooks-std") == 0


async def test_replayed_notifications_are_delivered_once(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    body = envelope(21)
    signature = push_signature("s-std", body)
    assert (await push(gw, "hooks-std", body, signature))[2]["queued"] == 1
    # LinkedIn's retry of the same push, before and after delivery.
    assert (await push(gw, "hooks-std", body, signature))[2] == {
        "queued": 0,
        "duplicates": 1,
        "dropped": 0,
    }
    await eventually(lambda: len(receiver.got) == 1)
    overlapping = envelope(21, 22)
    answer = (await push(gw, "hooks-std", overlapping, push_signature("s-std", overlapping)))[2]
    assert (answer["queued"], answer["duplicates"]) == (1, 1)
    await eventually(lambda: len(receiver.got) == 2)
    await asyncio.sleep(0.3)  # a poll interval: nothing else arrives
    assert receiver.ids() == ["21", "22"]


async def test_social_action_pushes_are_dropped_on_development(
    sandbox: TestServer, receiver: Receiver, start_config: Start, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    caplog.set_level("WARNING", logger="gateway.webhooks")
    social = envelope(31, 32)
    status, _, answer = await push(gw, "hooks-dev", social, push_signature("s-dev", social))
    assert (status, answer) == (200, {"queued": 0, "duplicates": 0, "dropped": 2})
    metrics = runtime_of(gw).metrics
    assert (
        metrics.value(
            "gateway_webhook_dropped_total", app="hooks-dev", reason="social_actions_disabled"
        )
        == 2
    )
    assert any("dropped" in r.getMessage() for r in caplog.records)
    # Other pushes of the same app are delivered.
    lead = envelope(33, kind="LEAD_ACTION")
    assert (await push(gw, "hooks-dev", lead, push_signature("s-dev", lead)))[2]["queued"] == 1
    await eventually(lambda: len(receiver.got) == 1)
    assert receiver.ids() == ["33"]


async def test_a_failing_receiver_is_retried_with_backoff(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    clock = FakeClock(NOW)
    gw = await start_config(config(str(sandbox.make_url("")), receiver), clock)
    metrics = runtime_of(gw).metrics
    receiver.statuses = [500, 503]
    body = envelope(41, kind="LEAD_ACTION")
    assert (await push(gw, "hooks-std", body, push_signature("s-std", body)))[0] == 200

    def retries() -> float:
        return metrics.value("gateway_webhook_deliveries_total", app="hooks-std", outcome="retry")

    await eventually(lambda: retries() == 1)
    await asyncio.sleep(0.3)
    assert len(receiver.got) == 1  # not due yet: the backoff is 1 s on the gateway's clock
    clock.now += 1
    await eventually(lambda: retries() == 2)
    clock.now += 1.5
    await asyncio.sleep(0.3)
    assert len(receiver.got) == 2  # the second backoff is 2 s
    clock.now += 0.5
    await eventually(lambda: len(receiver.got) == 3)
    assert [h["X-Gateway-Delivery-Attempt"] for h, _ in receiver.got] == ["1", "2", "3"]
    assert set(receiver.ids()) == {"41"}
    await eventually(
        lambda: (
            metrics.value("gateway_webhook_deliveries_total", app="hooks-std", outcome="delivered")
            == 1
        )
    )
    assert await runtime_of(gw).webhook_queue.pending("hooks-std") == 0


async def test_store_failure_is_not_acknowledged(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0?socket_timeout=0.2&connect_timeout=0.2"
    gw = await start_config(config(str(sandbox.make_url("")), receiver, store=dead))
    body = envelope(51, kind="LEAD_ACTION")
    status, headers, _ = await push(gw, "hooks-std", body, push_signature("s-std", body))
    assert (status, headers["X-Gateway-Reason"]) == (503, "webhook_store_unavailable")


# --- crash and redelivery -------------------------------------------------------------------


async def test_in_flight_item_is_redelivered_after_a_worker_dies_memory(
    receiver: Receiver,
) -> None:
    """One process: the worker dies mid-delivery, the next one (same queue) delivers it."""
    queue = MemoryWebhookQueue()
    clock = FakeClock(NOW)
    apps = {"a": AppConfig("a", "c", "s", {}, None, webhook=WebhookConfig(receiver.url("/a")))}
    receiver.hang_first = True
    await queue.enqueue("a", parse_push(envelope(61)).notifications, clock.now)
    first = DeliveryWorker(queue, apps, clock, Metrics(), asyncio.Event())
    await first.start()
    await eventually(lambda: len(receiver.got) == 1)
    await first.stop()  # dies with the delivery in flight, never acknowledged
    assert await queue.pending("a") == 1
    metrics = Metrics()
    second = DeliveryWorker(queue, apps, clock, metrics, asyncio.Event())
    await second.start()
    try:
        await asyncio.sleep(0.3)
        assert len(receiver.got) == 1  # still leased to the dead worker
        clock.now += LEASE_SECONDS
        await eventually(lambda: len(receiver.got) == 2)
        assert receiver.ids() == ["61", "61"]
        assert receiver.got[1][0]["X-Gateway-Delivery-Attempt"] == "2"
        await eventually(
            lambda: (
                metrics.value("gateway_webhook_deliveries_total", app="a", outcome="delivered") == 1
            )
        )
        assert await queue.pending("a") == 0
    finally:
        await second.stop()


@pytest.mark.redis
async def test_in_flight_item_is_redelivered_by_another_gateway_redis(
    sandbox: TestServer, receiver: Receiver, start_config: Start, redis_url: str
) -> None:
    """Two gateways on one Redis: the first dies mid-delivery, the second delivers."""
    suffix = "-" + unique_app("x")[-12:]
    store = with_query(redis_url, PATIENT)
    text = config(str(sandbox.make_url("")), receiver, store=store, suffix=suffix)
    app = f"hooks-std{suffix}"
    clock = FakeClock(NOW)
    receiver.hang_first = True
    first = await start_config(text, clock)
    body = envelope(71, kind="LEAD_ACTION")
    assert (await push(first, app, body, push_signature("s-std", body)))[2]["queued"] == 1
    await eventually(lambda: len(receiver.got) == 1)
    await first.close()  # the process goes away with the delivery in flight
    second = await start_config(text, clock)
    queue = runtime_of(second).webhook_queue
    assert await queue.pending(app) == 1
    clock.now += LEASE_SECONDS
    await eventually(lambda: len(receiver.got) == 2)
    assert receiver.ids() == ["71", "71"]
    await eventually(
        lambda: (
            runtime_of(second).metrics.value(
                "gateway_webhook_deliveries_total", app=app, outcome="delivered"
            )
            == 1
        )
    )
    assert await queue.pending(app) == 0
    # The replay of an acknowledged push is still recognised by the second gateway.
    assert (await push(second, app, body, push_signature("s-std", body)))[2]["duplicates"] == 1


# --- subscriptions (the decision) -----------------------------------------------------------


async def test_social_action_subscription_needs_standard(
    sandbox: TestServer, receiver: Receiver, start_config: Start
) -> None:
    gw = await start_config(config(str(sandbox.make_url("")), receiver))
    headers = {"LinkedIn-Version": "202505", "X-Restli-Protocol-Version": "2.0.0"}
    body = json.dumps({"webhook": "https://example.com/webhooks/hooks-dev"})
    async with aiohttp.ClientSession() as session:
        for token, status in [("tok-dev", 403), ("tok-std", 201)]:
            async with session.put(
                gw.make_url(f"/rest/eventSubscriptions/{KEY}"),
                data=body,
                headers={**headers, "Authorization": f"Bearer {token}"},
            ) as resp:
                assert resp.status == status
                if status == 403:
                    assert resp.headers["X-Gateway-Reason"] == "webhooks_disabled"
                    assert (await resp.json())["code"] == "ACCESS_DENIED"
        async with session.get(sandbox.make_url("/__sandbox/stats")) as resp:
            assert (await resp.json())["by_method"] == {"UPDATE": 1}
