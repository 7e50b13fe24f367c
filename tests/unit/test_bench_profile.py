"""The benchmark's profile gives each py-spy sample to exactly one step of the request path."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
call_profile = importlib.import_module("call_profile")
sys.path.remove(str(BENCH))

ROOT = (
    "_run_module_as_main (<frozen runpy>:198);<module> (gateway/__main__.py:3);"
    "_serve (gateway/cli.py:240);Runner.run (asyncio/runners.py:118)"
)
HANDLER = (
    f"{ROOT};RequestHandler._handle_request (aiohttp/web_protocol.py:510);"
    "Application._handle (aiohttp/web_app.py:569);handle (gateway/http/handler.py:92)"
)
FORWARD = (
    f"{HANDLER};_serve (gateway/http/handler.py:150);Upstream.forward (gateway/upstream.py:150)"
)


def step_of(stack: str) -> str:
    counts = call_profile.attribute([f"{stack} 3"])
    [(step, samples)] = [(step, n) for step, n in counts.items() if n]
    assert samples == 3
    return str(step)


@pytest.mark.parametrize(
    ("stack", "step"),
    [
        (
            f"{FORWARD};ClientSession._request (aiohttp/client.py:700)",
            "upstream client (aiohttp): send the call, read the answer",
        ),
        (
            f"{FORWARD};StreamReader.read (aiohttp/streams.py:400)",
            "upstream client (aiohttp): send the call, read the answer",
        ),
        (
            f"{FORWARD};forward_headers (gateway/upstream.py:90)",
            "forwarding: headers, URL, the response object",
        ),
        (
            f"{HANDLER};Charging.charge (gateway/quota/charging.py:96);"
            "Metrics.observe (gateway/support/metrics.py:350)",
            "quota: one EVALSHA round trip to Redis",
        ),
        (
            f"{HANDLER};_record (gateway/http/handler.py:470);log_access (gateway/support/logs.py:190)",
            "access line",
        ),
        (
            f"{HANDLER};_record (gateway/http/handler.py:460);Counter.inc (prometheus_client/metrics.py:300)",
            "metrics (prometheus-client)",
        ),
        (
            f"{HANDLER};_authenticate (gateway/http/handler.py:190);"
            "TokenChain.resolve (gateway/tokens/chain.py:80)",
            "authentication: token and member",
        ),
        (
            f"{HANDLER};_classify (gateway/http/handler.py:230)",
            "request path: classify, decide, checks, headers",
        ),
        (
            f"{ROOT};RequestHandler.finish_response (aiohttp/web_protocol.py:700);"
            "StreamWriter._writelines (aiohttp/http_writer.py:116)",
            "aiohttp server: write the answer",
        ),
        (
            f"{ROOT};GuardedRequestHandler.data_received (gateway/server/listener.py:200);"
            "RequestHandler.data_received (aiohttp/web_protocol.py:446)",
            "listener: read, parse, request object, routing",
        ),
        (
            f"{HANDLER[: HANDLER.index(';handle')]};UrlDispatcher.resolve (aiohttp/web_urldispatcher.py:1000)",
            "listener: read, parse, request object, routing",
        ),
        (ROOT, "event loop (uvloop) and the rest"),
    ],
)
def test_each_sample_goes_to_the_first_step_that_claims_it(stack: str, step: str) -> None:
    assert step_of(stack) == step


def test_a_steps_microseconds_are_its_share_of_the_measured_cpu() -> None:
    counts = call_profile.attribute(
        [f"{HANDLER};_classify (gateway/http/handler.py:230) 30", f"{ROOT} 10", "", "garbage"]
    )
    found = call_profile.Profile("gateway", 200.0, counts)
    spent = found.microseconds()
    assert spent["request path: classify, decide, checks, headers"] == pytest.approx(150.0)
    assert spent["event loop (uvloop) and the rest"] == pytest.approx(50.0)
    assert sum(spent.values()) == pytest.approx(200.0)
    table = call_profile.render([found])
    assert "| request path: classify, decide, checks, headers | 150 (75 %) |" in table
    assert "| CPU per call, from /proc | **200** |" in table
