"""Choosing a store from its URL, without connecting."""

from __future__ import annotations

import pytest

from gateway.errors import StoreError
from gateway.quota.factory import open_store
from gateway.quota.memory import MemoryStore
from gateway.quota.redis_store import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    RedisStore,
    split_timeouts,
)
from gateway.quota.resp_client import DEFAULT_MAX_PENDING
from tests.redis_server import free_port

M = DEFAULT_MAX_PENDING


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", MemoryStore),
        ("redis://127.0.0.1:{port}/0", RedisStore),
        ("REDIS://127.0.0.1:{port}/2", RedisStore),
        ("rediss://127.0.0.1:{port}/0", RedisStore),
        ("unix:///nonexistent/redis.sock?db=1", RedisStore),
    ],
)
async def test_the_scheme_picks_the_store_without_connecting(url: str, kind: type) -> None:
    store = open_store(url.format(port=free_port()))
    try:
        assert isinstance(store, kind)
        if isinstance(store, RedisStore):
            # Nothing listens there: opening worked only because it did not connect.
            with pytest.raises(StoreError, match="ping failed"):
                await store.ping()
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("http://localhost:6379", "http"),
        ("memcached://cache:11211", "memcached"),
        ("localhost:6379", "localhost"),
        ("", ""),
    ],
)
def test_an_unknown_scheme_is_refused_with_the_choices(url: str, scheme: str) -> None:
    with pytest.raises(ValueError, match="use memory://, redis://host:port/db") as caught:
        open_store(url)

    assert str(caught.value).startswith(f"unknown store scheme '{scheme}' in '{url}'")


def test_an_unknown_scheme_error_hides_the_password() -> None:
    with pytest.raises(ValueError, match="unknown store scheme") as caught:
        open_store("sentinel://user:hunter2@cache:26379/0")

    assert "hunter2" not in str(caught.value)
    assert "user:***@cache:26379" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis://h:6379/0",
            ("redis://h:6379/0", DEFAULT_SOCKET_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, 0.0, M),
        ),
        (
            "redis://h:6379/0?socket_timeout=0.2",
            ("redis://h:6379/0", 0.2, DEFAULT_CONNECT_TIMEOUT, 0.0, M),
        ),
        (
            "redis://h/0?connect_timeout=3&db=2",
            ("redis://h/0?db=2", DEFAULT_SOCKET_TIMEOUT, 3.0, 0.0, M),
        ),
        (
            "rediss://:pw@h/1?max_connections=9&socket_timeout=1&connect_timeout=2",
            ("rediss://:pw@h/1?max_connections=9", 1.0, 2.0, 0.0, M),
        ),
        (
            "redis://h/0?clock_allowance=0.25&socket_timeout=1",
            ("redis://h/0", 1.0, DEFAULT_CONNECT_TIMEOUT, 0.25, M),
        ),
        ("redis://h/0?clock_allowance=0", ("redis://h/0", 0.5, 1.0, 0.0, M)),
        ("redis://h/0?max_pending=64&db=1", ("redis://h/0?db=1", 0.5, 1.0, 0.0, 64)),
    ],
)
def test_timeouts_are_taken_out_of_the_url(
    url: str, expected: tuple[str, float, float, float, int]
) -> None:
    assert split_timeouts(url) == expected


@pytest.mark.parametrize(
    "query",
    ["socket_timeout=abc", "socket_timeout=0", "connect_timeout=-1", "connect_timeout=nan",
     "socket_timeout=inf", "connect_timeout=", "clock_allowance=-0.1", "clock_allowance=x",
     "max_pending=0", "max_pending=-3", "max_pending=1.5", "max_pending="],
)  # fmt: skip
def test_a_bad_timeout_is_refused(query: str) -> None:
    name = query.partition("=")[0]

    with pytest.raises(ValueError, match=f"store URL parameter {name}="):
        RedisStore.from_url(f"redis://h:6379/0?{query}")


async def test_the_client_gets_the_timeouts_from_the_url() -> None:
    store = RedisStore.from_url("redis://h:6379/3?socket_timeout=0.25&connect_timeout=0.75")
    try:
        options = store.client.connection_pool.connection_kwargs
        assert (options["socket_timeout"], options["socket_connect_timeout"], options["db"]) == (
            0.25,
            0.75,
            3,
        )
        assert store.resp is not None
        assert (store.resp.socket_timeout, store.resp.connect_timeout, store.resp.endpoint.db) == (
            0.25,
            0.75,
            3,
        )
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "pipelined"),
    [
        ("redis://h:6379/0", True),
        ("redis://:pw@h/2?max_connections=9&timeout=2&socket_timeout=1", True),
        ("rediss://h/0?ssl_cert_reqs=none", True),
        ("unix:///run/redis.sock?db=1", True),
        ("redis://h/0?health_check_interval=30", False),
        ("redis://h/0?protocol=3", False),
    ],
)
async def test_the_pipelined_client_takes_the_urls_it_understands(
    url: str, pipelined: bool
) -> None:
    store = RedisStore.from_url(url)
    try:
        assert (store.resp is not None) == pipelined
    finally:
        await store.close()
