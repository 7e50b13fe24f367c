"""The quota store named by a URL."""

from __future__ import annotations

from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.quota.memory import MemoryStore
from gateway.quota.redis_store import RedisStore, split_timeouts
from gateway.quota.resp_client import endpoint_from_url
from gateway.quota.schemes import (
    CLUSTER_SCHEME,
    MEMORY_SCHEME,
    SENTINEL_SCHEME,
    SHARED_SCHEMES,
    scheme_of,
)
from gateway.quota.store import QuotaStore
from gateway.quota.topology import parse_cluster_url, parse_sentinel_url


def open_store(url: str) -> QuotaStore:
    """``memory://`` for one process; ``redis://``/``rediss://``/``unix://`` (one Redis),
    ``redis+cluster://`` or ``redis+sentinel://`` for shared counting. Nothing connects
    here: the first operation (or ``ping``) does.
    """
    check_store_url(url)
    scheme = scheme_of(url)
    if scheme == MEMORY_SCHEME:
        return MemoryStore()
    if scheme == CLUSTER_SCHEME:
        return open_cluster_store(url)
    if scheme == SENTINEL_SCHEME:
        return open_sentinel_store(url)
    return RedisStore.from_url(url)


def open_cluster_store(url: str) -> RedisStore:
    """A store on redis-py's cluster client: it follows MOVED/ASK and learns the nodes
    from the seeds. Every operation's keys share one ``{app}`` hash tag: one slot."""
    topology = parse_cluster_url(url)
    timeouts = topology.timeouts
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in topology.nodes],
        username=topology.username,
        password=topology.password,
        socket_timeout=timeouts.socket_timeout,
        socket_connect_timeout=timeouts.connect_timeout,
    )
    # The features sharing the store's client call command methods that the cluster
    # client answers alike (tests/contract/test_redis_cluster.py runs them on a cluster).
    return RedisStore(
        cast(redis.asyncio.Redis, cluster),
        reply_timeout=timeouts.socket_timeout,
        clock_allowance=timeouts.clock_allowance,
    )


def open_sentinel_store(url: str) -> RedisStore:
    """A store on the master that the Sentinels name; after a fail-over the next
    connection goes to the new master."""
    topology = parse_sentinel_url(url)
    timeouts = topology.timeouts
    sentinel = Sentinel(
        list(topology.nodes),
        socket_timeout=timeouts.socket_timeout,
        socket_connect_timeout=timeouts.connect_timeout,
    )
    master = sentinel.master_for(
        topology.master,
        redis_class=redis.asyncio.Redis,
        username=topology.username,
        password=topology.password,
        db=topology.db,
        socket_timeout=timeouts.socket_timeout,
        socket_connect_timeout=timeouts.connect_timeout,
        # As on one Redis: one immediate retry on a broken connection, which is how a
        # pooled connection to the old master is replaced; timeouts are never retried.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return RedisStore(
        master,
        reply_timeout=timeouts.socket_timeout,
        clock_allowance=timeouts.clock_allowance,
        also_close=tuple(sentinel.sentinels),
    )


def check_store_url(url: str) -> None:
    """Raises ``ValueError`` for any URL ``open_store`` (or the first connection) would
    refuse, parsing it exactly as they do and connecting nowhere; the message never
    carries the URL's password. ``check-config`` and the loader use it.
    """
    scheme = scheme_of(url)
    if scheme == MEMORY_SCHEME:
        return
    if scheme not in SHARED_SCHEMES:
        raise ValueError(
            f"unknown store scheme {scheme!r} in {_without_password(url)!r}: use memory://, "
            "redis://host:port/db, redis+cluster://host:port,host:port or "
            "redis+sentinel://host:port/master-name/db"
        )
    try:
        if scheme == CLUSTER_SCHEME:
            parse_cluster_url(url)
        elif scheme == SENTINEL_SCHEME:
            parse_sentinel_url(url)
        else:
            plain_url = split_timeouts(url).url
            parse_url(plain_url)
            endpoint_from_url(plain_url)
    except ValueError as exc:
        raise ValueError(f"store URL {_without_password(url)!r}: {exc}") from None


def shown_store_url(url: str) -> str:
    """``url`` fit for a log line or a message: its password, in the user part or as a
    ``password=`` query parameter, replaced by ``***``."""
    shown = _without_password(url)
    base, sep, query = shown.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key.lower() == "password" for key, _ in pairs):
        return shown
    masked = [(key, "***" if key.lower() == "password" else value) for key, value in pairs]
    return f"{base}{sep}{urlencode(masked, safe='*/')}"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
