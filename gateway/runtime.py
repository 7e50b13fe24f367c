"""The live objects one gateway process shares between requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from gateway.metrics import Metrics
from gateway.proxy import Upstream
from gateway.quota.store import QuotaStore
from gateway.settings.model import Settings
from gateway.tokens.model import TokenSource

Clock = Callable[[], float]


@dataclass
class Runtime:
    settings: Settings
    tokens: TokenSource
    store: QuotaStore
    upstream: Upstream
    metrics: Metrics
    clock: Clock
    draining: bool = False


RUNTIME = web.AppKey("runtime", Runtime)
