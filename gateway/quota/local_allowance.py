"""What one replica may admit on its own while the quota store is away. Pure: the time is
a parameter, the memory of what the store said is passed in.

Each replica remembers, per counter, what the store last said remained; with ``replicas``
replicas sharing the app, each may admit at most that ÷ ``replicas`` while the store is
away. When every replica heard the store's latest count, the shares add up to no more than
what truly remained: nothing is admitted over the limit. A replica that heard an older
count (others consumed since) can over-admit by at most those calls ÷ ``replicas``.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.quota.model import BucketSpec, is_fixed
from gateway.quota.windows import counted_window, counter_key


def remaining_basis(
    spec: BucketSpec, now: float, seen: Mapping[str, int], stems_seen: frozenset[str] | set[str]
) -> int | None:
    """What remained of ``spec`` at ``now`` as far as this replica knows, or None when it
    knows nothing (then it admits nothing for that bucket).

    The store's last word for the window containing ``now``; a fixed window (utc-day, -hour,
    -minute) that began since the store went away starts full, as it does in the store.
    """
    if spec.limit is None:
        return None
    key = counter_key(spec, now)
    if key in seen:
        return seen[key]
    if is_fixed(counted_window(spec)) and spec.key in stems_seen:
        return spec.limit
    return None


def allowance(remaining: int | None, replicas: int, used_here: int) -> int:
    """Calls this replica may still admit for one bucket: its share of what the store last
    said remained, less what it admitted alone since."""
    if remaining is None:
        return 0
    return max(remaining // replicas - used_here, 0)
