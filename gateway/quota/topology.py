"""Store URLs naming more than one Redis: a Cluster's seed nodes, or Sentinels and a master.

Pure parsing, no I/O. ``redis+cluster://[[user]:password@]host:port[,host:port...][/0]``
names seed nodes of one Redis Cluster (the client learns the rest). ``redis+sentinel://
[[user]:password@]host:port[,host:port...]/master-name[/db]`` names Sentinels and the
master set they watch; the credentials are the master's. Both take the gateway's own
``socket_timeout=``, ``connect_timeout=`` and ``clock_allowance=`` and nothing else, so no
option is silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from gateway.quota.redis_store import StoreURL, split_timeouts
from gateway.quota.resp_client import DEFAULT_PORT
from gateway.quota.schemes import CLUSTER_SCHEME, SENTINEL_SCHEME

DEFAULT_SENTINEL_PORT = 26379
_OWN = frozenset({"socket_timeout", "connect_timeout", "clock_allowance"})


@dataclass(frozen=True)
class Topology:
    """Where the Redis nodes are and how to log in, with the gateway's timeouts."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    timeouts: StoreURL
    master: str = ""
    db: int = 0

    def __repr__(self) -> str:
        nodes = ",".join(f"{host}:{port}" for host, port in self.nodes)
        return f"Topology({nodes}, master={self.master!r}, db={self.db})"


def parse_cluster_url(url: str) -> Topology:
    """The seed nodes of ``redis+cluster://``; ``ValueError`` when malformed."""
    timeouts, rest, path = _split(url, CLUSTER_SCHEME)
    username, password, nodes = _nodes(rest, DEFAULT_PORT)
    if path not in {"", "0"}:
        raise ValueError(f"a Redis Cluster has database 0 only, not {path!r}")
    return Topology(nodes, username, password, timeouts)


def parse_sentinel_url(url: str) -> Topology:
    """The Sentinels, master name and db of ``redis+sentinel://``; ``ValueError`` when
    malformed."""
    timeouts, rest, path = _split(url, SENTINEL_SCHEME)
    username, password, nodes = _nodes(rest, DEFAULT_SENTINEL_PORT)
    master, _, db_text = path.partition("/")
    if not master:
        raise ValueError("redis+sentinel:// needs the master name: host:port/mymaster[/db]")
    if not db_text.isascii() or (db_text and not db_text.isdigit()):
        raise ValueError(f"database {db_text!r}: expected a number >= 0")
    return Topology(nodes, username, password, timeouts, unquote(master), int(db_text or 0))


def _split(url: str, scheme: str) -> tuple[StoreURL, str, str]:
    timeouts = split_timeouts(url)
    head = timeouts.url.partition("?")[0]
    names = sorted({name for name, _ in parse_qsl(url.partition("?")[2])} - _OWN)
    if names:
        raise ValueError(
            f"unknown parameter(s) {', '.join(names)}: {scheme}:// takes socket_timeout, "
            "connect_timeout and clock_allowance only"
        )
    prefix = f"{scheme}://"
    if not head.lower().startswith(prefix):
        raise ValueError(f"expected a {scheme}:// URL")
    rest, _, path = head[len(prefix) :].partition("/")
    return timeouts, rest, path.strip("/")


def _nodes(
    netloc: str, default_port: int
) -> tuple[str | None, str | None, tuple[tuple[str, int], ...]]:
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon and secret else None
    nodes = tuple(_node(part, default_port) for part in hosts.split(","))
    return username, password, nodes


def _node(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        host, _, after = text[1:].partition("]")
        port_text = after.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError("a node without a host: expected host:port[,host:port...]")
    if not port_text:
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"port {port_text!r}: expected 1-65535")
    return host, int(port_text)
