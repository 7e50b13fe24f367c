"""Who is calling: the live objects that recognise tokens and run the OAuth flow, built
once per process (``start_identity``) and closed with it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import redis.asyncio

from gateway.oauth.client import LinkedInOAuth
from gateway.oauth.config import discovery_url, oauth_base
from gateway.oauth.discovery import OpenIdProvider
from gateway.oauth.flow import OAuthFlow
from gateway.quota.charging import Charging
from gateway.settings.model import Settings
from gateway.support.metrics import Metrics
from gateway.tokens.budget import IntrospectionBudget
from gateway.tokens.cache import TokenCache
from gateway.tokens.chain import TokenChain
from gateway.tokens.evictions import RedisEvictions
from gateway.tokens.introspection import IntrospectionSource
from gateway.tokens.kv import MemoryKV, RedisKV, SharedKV
from gateway.tokens.member import MemberResolver
from gateway.tokens.static import StaticTokenSource
from gateway.upstream import Upstream


@dataclass
class Identity:
    chain: TokenChain
    members: MemberResolver
    flow: OAuthFlow
    client: LinkedInOAuth
    listener: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listener
        await self.client.close()


async def start_identity(
    settings: Settings,
    charging: Charging,
    shared: redis.asyncio.Redis | None,
    upstream: Upstream,
    metrics: Metrics,
    sandbox_base: str | None,
) -> Identity:
    """Token sources, member lookups and the flow, sharing one token cache.

    The cache's shared layer is the quota store's Redis when there is one (replicas share
    answers), else this process's memory. ``sandbox_base`` is the built-in sandbox's URL
    when ``upstream: sandbox``: the OAuth endpoints then default to it.
    """
    base = oauth_base(settings.oauth, sandbox_base)
    client = LinkedInOAuth(
        base, discovery_url(settings.oauth, base), timeout=settings.oauth.timeout
    )
    await client.start()
    kv: SharedKV = MemoryKV()
    # Pending flows never share a bound with tokens: a flood of states evicts only states.
    states: SharedKV = MemoryKV(settings.public.oauth_state_entries)
    evictions: RedisEvictions | None = None
    if shared is not None:
        kv, evictions = RedisKV(shared), RedisEvictions(shared)
        states = kv
    cache = TokenCache(kv, settings.oauth, metrics, evictions)
    budget = IntrospectionBudget(settings.guards.introspection_limit)
    introspection = IntrospectionSource(client, tuple(settings.apps.values()), metrics, budget)
    chain = TokenChain(StaticTokenSource(settings.tokens), cache, introspection)
    members = MemberResolver(settings, cache, upstream, charging, metrics)
    flow = OAuthFlow(settings, client, OpenIdProvider(client), states, cache, metrics)
    listener = None
    if evictions is not None:
        listener = asyncio.create_task(evictions.listen(cache.forget_local))
    return Identity(chain, members, flow, client, listener)
