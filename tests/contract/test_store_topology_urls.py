"""``redis+cluster://`` and ``redis+sentinel://`` URLs: what they name, what is refused, and
that ``check_store_url`` (check-config) refuses exactly what ``open_store`` (serve) does."""

from __future__ import annotations

import pytest

from gateway.quota.factory import check_store_url, open_store
from gateway.quota.redis_store import RedisStore
from gateway.quota.topology import parse_cluster_url, parse_sentinel_url


@pytest.mark.parametrize(
    ("url", "nodes", "user", "password"),
    [
        ("redis+cluster://a:7000,b:7001,c", (("a", 7000), ("b", 7001), ("c", 6379)), None, None),
        ("redis+cluster://:s%40cret@a:7000/0", (("a", 7000),), None, "s@cret"),
        ("redis+cluster://u:p@[::1]:7000,b:7001/", (("::1", 7000), ("b", 7001)), "u", "p"),
        ("REDIS+CLUSTER://a:7000?socket_timeout=2", (("a", 7000),), None, None),
    ],
)
def test_cluster_urls_name_their_seed_nodes(
    url: str, nodes: tuple[tuple[str, int], ...], user: str | None, password: str | None
) -> None:
    topology = parse_cluster_url(url)

    assert (topology.nodes, topology.username, topology.password) == (nodes, user, password)


def test_cluster_url_timeouts() -> None:
    topology = parse_cluster_url(
        "redis+cluster://a:7000?socket_timeout=2&connect_timeout=3&clock_allowance=0.1"
    )

    timeouts = topology.timeouts
    assert (timeouts.socket_timeout, timeouts.connect_timeout, timeouts.clock_allowance) == (
        2.0,
        3.0,
        0.1,
    )


@pytest.mark.parametrize(
    ("url", "nodes", "master", "db"),
    [
        ("redis+sentinel://s1:26379,s2/mymaster", (("s1", 26379), ("s2", 26379)), "mymaster", 0),
        ("redis+sentinel://:pw@s1:5000/main/3", (("s1", 5000),), "main", 3),
        ("redis+sentinel://s1/main/?socket_timeout=1", (("s1", 26379),), "main", 0),
    ],
)
def test_sentinel_urls_name_sentinels_master_and_db(
    url: str, nodes: tuple[tuple[str, int], ...], master: str, db: int
) -> None:
    topology = parse_sentinel_url(url)

    assert (topology.nodes, topology.master, topology.db) == (nodes, master, db)


REFUSED = [
    ("redis+cluster://a:7000/2", "database 0 only"),
    ("redis+cluster://a:7000?max_connections=5", "unknown parameter"),
    ("redis+cluster://a:7000?max_pending=5", "unknown parameter"),
    ("redis+cluster://a:99999", "port '99999'"),
    ("redis+cluster://a:7000,:7001", "without a host"),
    ("redis+cluster://a:7000?socket_timeout=0", "socket_timeout"),
    ("redis+sentinel://s1:26379", "needs the master name"),
    ("redis+sentinel://s1:26379/main/x", "database 'x'"),
    ("redis+sentinel://s1:26379/main?db=2", "unknown parameter"),
    ("redis+sentinel://s1:port/main", "port 'port'"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_check_config_and_serve_refuse_the_same_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_store_url(url)
    with pytest.raises(ValueError, match=message):
        open_store(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://a:7000,b:7001",
        "redis+sentinel://s1:26379,s2:26380/main/1?socket_timeout=1",
    ],
)
async def test_accepted_urls_open_a_store_without_connecting(url: str) -> None:
    check_store_url(url)
    store = open_store(url)
    try:
        assert isinstance(store, RedisStore)
        assert store.resp is None
    finally:
        await store.close()


def test_a_refusal_never_shows_the_password() -> None:
    with pytest.raises(ValueError, match="master name") as caught:
        check_store_url("redis+sentinel://:hunter2@s1:26379")

    assert "hunter2" not in str(caught.value)
