"""Servers the gateway calls out to cannot hold it with an answer that never ends.

A webhook receiver or the alert webhook answers 200 and then sends a body without end (or
one far longer than it says it is, trickling): the gateway reads at most
``STATUS_ONLY_BYTES`` of it and moves on, instead of waiting for the whole body until its
timeout and holding what came in memory. A role look-up's page is read up to
``PAGE_BYTES``; a longer one fails the look-up.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from gateway.roles.lookup import PAGE_BYTES, LookupFailed, RoleLookup
from gateway.roles.rules import ORGANIZATION
from gateway.settings.model import AppConfig, WebhookConfig
from gateway.support.client_session import STATUS_ONLY_BYTES, outbound_session
from gateway.support.metrics import WEBHOOK_DELIVERIES, Metrics
from gateway.usage.alerts import session_post
from gateway.webhooks.delivery import DELIVERY_TIMEOUT_SECONDS, DeliveryWorker
from gateway.webhooks.notifications import parse_push
from gateway.webhooks.queue import MemoryWebhookQueue
from tests.fake_tcp import listening
from tests.functional.gateway_harness import FIXED_NOW, FakeClock

# Well under every timeout involved: waiting for the body would take the timeout.
PROMPTLY = 2.0


class EndlessAnswer:
    """Answers each request 200 with a huge declared length, sends ``sent`` bytes of it,
    then nothing more until the test ends."""

    def __init__(self, sent: int) -> None:
        self.sent = sent
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.requests = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        writer.write(b"x" * self.sent)
        await writer.drain()
        await reader.read()  # until the client goes, or the test closes the connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


async def test_a_webhook_receiver_that_never_ends_its_answer_is_delivered_to_once() -> None:
    assert PROMPTLY < DELIVERY_TIMEOUT_SECONDS
    async with listening(EndlessAnswer(2 * STATUS_ONLY_BYTES)) as receiver:
        queue = MemoryWebhookQueue()
        apps = {"a": AppConfig("a", "c", "s", {}, None, webhook=WebhookConfig(receiver.url))}
        envelope = {"type": "LEAD_ACTION", "notifications": [{"notificationId": 7}]}
        await queue.enqueue("a", parse_push(json.dumps(envelope).encode()).notifications, 0.0)
        metrics = Metrics()
        worker = DeliveryWorker(queue, apps, FakeClock(FIXED_NOW), metrics, asyncio.Event())
        await worker.start()
        try:
            started = time.monotonic()
            while metrics.value(WEBHOOK_DELIVERIES, app="a", outcome="delivered") < 1:
                assert time.monotonic() - started < PROMPTLY, "still reading the answer"
                await asyncio.sleep(0.02)
        finally:
            await worker.stop()
        assert receiver.requests == 1
        assert await queue.pending("a") == 0


async def test_the_alert_webhook_post_does_not_wait_for_an_endless_answer() -> None:
    async with (
        listening(EndlessAnswer(2 * STATUS_ONLY_BYTES)) as receiver,
        outbound_session() as session,
    ):
        post = session_post(session)
        status = await asyncio.wait_for(post(receiver.url, {"alert": "x"}), PROMPTLY)
    assert status == 200


@pytest.mark.parametrize("sent", [PAGE_BYTES + 1, 3 * PAGE_BYTES])
async def test_a_role_page_longer_than_a_page_fails_the_look_up(sent: int) -> None:
    async with listening(EndlessAnswer(sent)) as linkedin:
        lookup = RoleLookup(f"http://127.0.0.1:{linkedin.port}", connect_timeout=2, timeout=10)
        await lookup.start()
        try:
            with pytest.raises(LookupFailed) as failed:
                await asyncio.wait_for(
                    lookup.page("rest", ORGANIZATION, "Bearer t", "202505", 0), PROMPTLY
                )
        finally:
            await lookup.close()
    assert failed.value.sent
    assert "AnswerTooLarge" in str(failed.value)
