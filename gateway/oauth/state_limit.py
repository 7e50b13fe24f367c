"""How many flow states each client address may create: a token bucket per address.
Pure: the caller passes ``now``.

``/oauth/authorize`` needs no token, and each call keeps a state for ``oauth.state_seconds``.
Without a bound one address could fill the state store (and, on Redis, leave a key per
request). IPv6 clients are counted per /64, the block one subscriber usually holds. The
buckets themselves are bounded: past ``max_addresses`` the least recently seen is dropped
(it comes back with a full bucket, which only a many-address flood can exploit, and the
state store's own bound holds then).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

from gateway.settings.public_limits import StateLimit
from gateway.support.token_bucket import TokenBucket


def client_key(address: str | None) -> str:
    """The address a bucket is kept for: IPv4 as is, IPv6 by its /64."""
    if not address:
        return "-"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class StateLimiter:
    def __init__(self, limit: StateLimit, max_addresses: int = 10_000) -> None:
        self._limit = limit
        self._max = max_addresses
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, address: str | None, now: float) -> float:
        """Spend one state of ``address``'s budget: 0.0 when it may create one now, else
        the seconds until it may (nothing spent)."""
        limit = self._limit
        key = client_key(address)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket.full(limit.burst, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket.take(limit.burst, limit.per_second, now)
