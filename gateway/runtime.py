"""The live objects one gateway process shares between requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from aiohttp import web

from gateway.adaccounts.gate import AdAccountGate
from gateway.catalog.unmatched import UnmatchedCalls
from gateway.policy.decide import Decision
from gateway.policy.development_window import OncePerDay, ProductWindow
from gateway.quota.charging import Charging
from gateway.quota.store import QuotaStore
from gateway.restli.facts import RequestFacts
from gateway.roles.enforce import RoleEnforcement
from gateway.settings.model import Settings
from gateway.support.memo import Memo
from gateway.support.metrics import Metrics
from gateway.tokens.identity import Identity
from gateway.upstream import Upstream
from gateway.usage.recorder import Usage
from gateway.webhooks.queue import MemoryWebhookQueue, WebhookQueue

Clock = Callable[[], float]
# Keys are URL-sized (at most 8 KB each), so a full memo stays within tens of megabytes.
MEMO_SIZE = 1024


@dataclass
class Runtime:
    settings: Settings
    # Token recognition: static tokens, cache, introspection, members, the flow.
    identity: Identity
    store: QuotaStore
    upstream: Upstream
    metrics: Metrics
    clock: Clock
    # Every consume and refund of the request path, with what store failures do.
    charging: Charging
    # Ad accounts each app has edited and test accounts it created (Advertising Development).
    ad_accounts: AdAccountGate
    # Member roles (apps with enforce_roles): cached look-ups, and the look-up client.
    roles: RoleEnforcement
    # Usage facts for the admin page: members, refusals, learned limits, near-limit events.
    usage: Usage
    draining: bool = False
    # Verified webhook notifications awaiting delivery, and the worker's wake-up call.
    webhook_queue: WebhookQueue = field(default_factory=MemoryWebhookQueue)
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Development-window warnings already logged today, per app and product.
    window_warnings: OncePerDay = field(default_factory=OncePerDay)
    # Results of the pure steps for repeated calls: classification of body-less requests,
    # and route match plus decision for the same facts and token.
    classified: Memo[Hashable, RequestFacts] = field(default_factory=lambda: Memo(MEMO_SIZE))
    decided: Memo[Hashable, Decision] = field(default_factory=lambda: Memo(MEMO_SIZE))
    # Development-window notice headers per app and UTC day.
    window_notices: Memo[Hashable, tuple[tuple[ProductWindow, ...], dict[str, str]]] = field(
        default_factory=lambda: Memo(MEMO_SIZE)
    )
    # Calls no catalog route matched: logged once a day per path, tallied for the operator.
    unmatched: UnmatchedCalls = field(default_factory=UnmatchedCalls)


RUNTIME = web.AppKey("runtime", Runtime)
