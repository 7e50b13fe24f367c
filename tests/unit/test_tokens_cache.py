"""The token cache's pure parts and its two layers over an in-memory shared space."""

from __future__ import annotations

import pytest

from gateway.settings.model import OAuthSettings
from gateway.support.metrics import Metrics
from gateway.support.ttl_cache import BoundedTTLCache
from gateway.tokens.cache import (
    Cached,
    Negative,
    TokenCache,
    decode_validity,
    encode_validity,
    member_key,
    validity_key,
)
from gateway.tokens.kv import MemoryKV
from gateway.tokens.model import TokenInfo, token_digest

NOW = 1_800_000_000.0
D = token_digest("some-token")


def info(expires_at: float | None = NOW + 3600, member: str | None = None) -> TokenInfo:
    return TokenInfo(D, "social", member, frozenset({"r_basicprofile", "openid"}), expires_at)


def make(**options: float) -> tuple[TokenCache, MemoryKV, Metrics]:
    kv, metrics = MemoryKV(), Metrics()
    settings = OAuthSettings(**options)  # type: ignore[arg-type]
    return TokenCache(kv, settings, metrics), kv, metrics


def test_bounded_cache_drops_the_least_recently_used() -> None:
    cache: BoundedTTLCache[int] = BoundedTTLCache(2)
    cache.put("a", 1, NOW + 10)
    cache.put("b", 2, NOW + 10)
    assert cache.get("a", NOW) == 1  # a is now the most recent
    cache.put("c", 3, NOW + 10)
    assert (cache.get("a", NOW), cache.get("b", NOW), cache.get("c", NOW)) == (1, None, 3)
    assert len(cache) == 2


@pytest.mark.parametrize(("at", "found"), [(NOW + 9.999, 5), (NOW + 10, None), (NOW + 11, None)])
def test_bounded_cache_entries_expire(at: float, found: int | None) -> None:
    cache: BoundedTTLCache[int] = BoundedTTLCache(4)
    cache.put("k", 5, NOW + 10)
    assert cache.get("k", at) == found


def test_keys_hold_the_digest_only_under_one_hash_tag() -> None:
    assert validity_key(D) == f"lgw:tok:{{{D}}}"
    assert member_key(D) == f"lgw:tok:{{{D}}}:member"
    assert "some-token" not in validity_key(D) + member_key(D)


def test_validity_record_round_trips_without_the_member() -> None:
    raw = encode_validity(Cached(info(member="urn:li:person:x"), "flow"), NOW + 300)
    assert "urn:li:person:x" not in raw
    back = decode_validity(D, raw, "urn:li:person:y")
    assert back == (Cached(info(member="urn:li:person:y"), "flow"), NOW + 300)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "[]",
        "{}",
        '{"app": 1, "scopes": [], "expires_at": null, "origin": "flow", "until": 1}',
        '{"app": "a", "scopes": [], "expires_at": "x", "origin": "flow", "until": 1}',
        '{"app": "a", "scopes": [], "expires_at": null, "origin": "static", "until": 1}',
        '{"app": "a", "scopes": [], "expires_at": null, "origin": "flow"}',
    ],
)
def test_a_record_that_is_not_ours_is_a_miss(raw: str) -> None:
    assert decode_validity(D, raw, None) is None


@pytest.mark.parametrize(
    ("expires_in", "cache_seconds", "alive_until"),
    [(3600, 300, 300), (100, 300, 100), (3600, 60, 60)],
)
async def test_positive_answers_live_until_the_earlier_of_expiry_and_the_maximum(
    expires_in: float, cache_seconds: float, alive_until: float
) -> None:
    cache, _, _ = make(cache_seconds=cache_seconds, local_cache_seconds=1)
    await cache.store(Cached(info(NOW + expires_in), "introspection"), NOW)
    assert isinstance(await cache.lookup(D, NOW + alive_until - 0.5), Cached)
    assert await cache.lookup(D, NOW + alive_until + 0.001) is None


async def test_an_expired_token_is_not_stored() -> None:
    cache, kv, _ = make()
    await cache.store(Cached(info(NOW - 1), "introspection"), NOW)
    assert len(kv) == 0 and await cache.lookup(D, NOW) is None


async def test_the_local_layer_answers_without_the_shared_space() -> None:
    cache, kv, metrics = make(local_cache_seconds=5)
    await cache.store(Cached(info(), "introspection"), NOW)
    await kv.delete([validity_key(D)])
    assert isinstance(await cache.lookup(D, NOW + 4), Cached)
    assert metrics.value("gateway_token_cache_total", result="local_hit") == 1
    assert await cache.lookup(D, NOW + 6) is None  # local entry gone, shared entry gone


async def test_a_shared_hit_fills_the_local_layer_with_the_member() -> None:
    writer, kv, _ = make()
    await writer.store(Cached(info(member="urn:li:person:m"), "flow"), NOW)
    reader = TokenCache(kv, OAuthSettings(), Metrics())  # another replica
    found = await reader.lookup(D, NOW)
    assert isinstance(found, Cached) and found.info.member == "urn:li:person:m"
    assert found.origin == "flow"


async def test_the_member_outlives_the_validity_record() -> None:
    cache, _, _ = make(cache_seconds=300)
    await cache.store(Cached(info(NOW + 7200), "introspection"), NOW)
    await cache.store_member(info(NOW + 7200), "urn:li:person:m", NOW)
    assert await cache.lookup(D, NOW + 400) is None
    assert await cache.known_member(D, NOW + 400) == "urn:li:person:m"
    assert await cache.known_member(D, NOW + 7201) is None


async def test_eviction_clears_both_layers_and_the_member() -> None:
    cache, kv, metrics = make()
    await cache.store(Cached(info(member="urn:li:person:m"), "flow"), NOW)
    await cache.evict(D)
    assert await cache.lookup(D, NOW) is None
    assert await cache.known_member(D, NOW) is None
    assert len(kv) == 0
    assert metrics.value("gateway_token_evictions_total", source="answer") == 1


async def test_negative_answers_are_short_lived_and_bounded() -> None:
    cache, kv, _ = make(negative_cache_seconds=10, negative_cache_entries=3)
    for i in range(50):
        cache.remember_negative(token_digest(f"random-{i}"), Negative("invalid"), NOW)
    assert cache.negative_entries == 3
    assert len(kv) == 0  # never in the shared space
    last = token_digest("random-49")
    assert await cache.lookup(last, NOW + 9) == Negative("invalid")
    assert await cache.lookup(last, NOW + 10) is None


async def test_a_positive_answer_replaces_a_negative_one() -> None:
    cache, _, _ = make()
    cache.remember_negative(D, Negative("invalid"), NOW)
    await cache.store(Cached(info(), "flow"), NOW)
    assert isinstance(await cache.lookup(D, NOW), Cached)


async def test_refresh_owner_is_kept_for_the_refresh_tokens_life() -> None:
    cache, _, _ = make()
    r = token_digest("refresh")
    await cache.store_refresh(r, "social", "urn:li:person:m", 100, NOW)
    assert await cache.refresh_owner(r, NOW + 99) == ("social", "urn:li:person:m")
    assert await cache.refresh_owner(r, NOW + 101) is None
