"""The durable queue behind the webhook receiver: deduplication, leases and retries.

Contract (``tests/contract/test_webhook_queue.py`` runs it on memory, fakeredis and Redis):

- ``enqueue`` marks each notification id seen for ``SEEN_SECONDS`` and queues the ones not
  seen before, in one atomic step: a notification is either queued and marked, or neither.
  The receiver acknowledges LinkedIn only after it returns.
- ``claim`` hands out due items and leases them: each claimed item becomes due again at
  ``now + lease_seconds`` unless it is acknowledged first, so an item whose worker died in
  flight is delivered again (at least once, never lost).
- ``ack`` removes an item for good; ``retry`` makes it due again at a later time.
- ``now`` is always passed in.

On Redis every operation is one Lua script (or one MULTI) on keys sharing the app's hash
tag; the queue keys expire ``QUEUE_SECONDS`` after the last operation touching them (seven
days without any gateway running), seen-marks after ``SEEN_SECONDS``. The memory queue
lives in the process: what it holds is lost when the process exits (one process only).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio

from gateway.quota.keys import bucket_key
from gateway.quota.redis_errors import redis_call
from gateway.webhooks.notifications import Notification

# LinkedIn retries an unacknowledged push every 5 minutes for 8 hours (webhook docs); a day
# of memory outlasts every retry.
SEEN_SECONDS = 86400
QUEUE_SECONDS = 7 * 86400


@dataclass(frozen=True)
class ClaimedNotification:
    """A claimed item: ``attempts`` counts claims so far, this one included."""

    id: str
    payload: bytes
    attempts: int


class WebhookQueue(Protocol):
    async def enqueue(self, app: str, notifications: Sequence[Notification], now: float) -> int:
        """Queue the notifications not seen before; returns how many were queued."""
        ...

    async def claim(
        self, app: str, now: float, lease_seconds: float, limit: int
    ) -> list[ClaimedNotification]: ...

    async def ack(self, app: str, item_id: str) -> None: ...

    async def retry(self, app: str, item_id: str, due: float) -> None: ...

    async def pending(self, app: str) -> int:
        """Items queued and not yet acknowledged (leased ones included): the backlog, which
        is how a test or an operator's shell sees that nothing was lost or left behind."""
        ...


@dataclass
class _AppQueue:
    payloads: dict[str, bytes] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    seen_order: deque[tuple[float, str]] = field(default_factory=deque)


class MemoryWebhookQueue:
    """The queue in this process's memory: atomic because nothing here awaits."""

    def __init__(self) -> None:
        self._apps: dict[str, _AppQueue] = {}

    def _app(self, app: str) -> _AppQueue:
        return self._apps.setdefault(app, _AppQueue())

    async def enqueue(self, app: str, notifications: Sequence[Notification], now: float) -> int:
        queue = self._app(app)
        while queue.seen_order and queue.seen_order[0][0] <= now:
            deadline, old = queue.seen_order.popleft()
            if queue.seen.get(old) == deadline:
                del queue.seen[old]
        fresh = 0
        for note in notifications:
            if queue.seen.get(note.id, 0.0) > now:
                continue
            deadline = now + SEEN_SECONDS
            queue.seen[note.id] = deadline
            queue.seen_order.append((deadline, note.id))
            queue.payloads[note.id] = note.payload
            queue.due[note.id] = now
            fresh += 1
        return fresh

    async def claim(
        self, app: str, now: float, lease_seconds: float, limit: int
    ) -> list[ClaimedNotification]:
        queue = self._app(app)
        ready = sorted((due, item) for item, due in queue.due.items() if due <= now)[:limit]
        out = []
        for _, item in ready:
            queue.due[item] = now + lease_seconds
            queue.attempts[item] = queue.attempts.get(item, 0) + 1
            out.append(ClaimedNotification(item, queue.payloads[item], queue.attempts[item]))
        return out

    async def ack(self, app: str, item_id: str) -> None:
        queue = self._app(app)
        queue.payloads.pop(item_id, None)
        queue.due.pop(item_id, None)
        queue.attempts.pop(item_id, None)

    async def retry(self, app: str, item_id: str, due: float) -> None:
        queue = self._app(app)
        if item_id in queue.due:
            queue.due[item_id] = due

    async def pending(self, app: str) -> int:
        return len(self._app(app).payloads)


ENQUEUE_LUA = """
-- KEYS: due zset, payload hash, attempts hash, then one seen-mark per notification.
-- ARGV: now, seen ttl, queue ttl, then id and payload per notification.
local fresh = 0
for i = 4, #KEYS do
  local j = 4 + (i - 4) * 2
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[2]) then
    redis.call('HSET', KEYS[2], ARGV[j], ARGV[j + 1])
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[j])
    fresh = fresh + 1
  end
end
if fresh > 0 then
  for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[3]) end
end
return fresh
"""

CLAIM_LUA = """
-- KEYS: due zset, payload hash, attempts hash. ARGV: now, lease until, limit, queue ttl.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    local n = redis.call('HINCRBY', KEYS[3], id, 1)
    table.insert(out, id)
    table.insert(out, payload)
    table.insert(out, n)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
if #ids > 0 then
  for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[4]) end
end
return out
"""


def queue_keys(app: str) -> tuple[str, str, str]:
    """The due set, payload hash and attempts hash of an app's queue."""
    return (bucket_key(app, "wh_due"), bucket_key(app, "wh_items"), bucket_key(app, "wh_attempts"))


def seen_key(app: str, item_id: str) -> str:
    return bucket_key(app, "wh_seen", item_id)


class RedisWebhookQueue:
    """The queue in Redis, shared by every gateway process."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._enqueue = client.register_script(ENQUEUE_LUA)
        self._claim = client.register_script(CLAIM_LUA)

    async def enqueue(self, app: str, notifications: Sequence[Notification], now: float) -> int:
        if not notifications:
            return 0
        keys = [*queue_keys(app), *(seen_key(app, n.id) for n in notifications)]
        args: list[str | bytes | float] = [repr(now), SEEN_SECONDS, QUEUE_SECONDS]
        for note in notifications:
            args += [note.id, note.payload]
        return int(await redis_call("webhook queue", self._enqueue(keys=keys, args=args)))

    async def claim(
        self, app: str, now: float, lease_seconds: float, limit: int
    ) -> list[ClaimedNotification]:
        args: list[str | int] = [repr(now), repr(now + lease_seconds), limit, QUEUE_SECONDS]
        flat = await redis_call("webhook queue", self._claim(keys=list(queue_keys(app)), args=args))
        out = []
        for i in range(0, len(flat), 3):
            raw_id, payload, attempts = flat[i : i + 3]
            item = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            out.append(ClaimedNotification(item, data, int(attempts)))
        return out

    async def ack(self, app: str, item_id: str) -> None:
        due, items, attempts = queue_keys(app)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(due, item_id)
            pipe.hdel(items, item_id)
            pipe.hdel(attempts, item_id)
            await redis_call("webhook queue", pipe.execute())

    async def retry(self, app: str, item_id: str, due: float) -> None:
        await redis_call(
            "webhook queue", self._client.zadd(queue_keys(app)[0], {item_id: due}, xx=True)
        )

    async def pending(self, app: str) -> int:
        return int(await redis_call("webhook queue", self._client.hlen(queue_keys(app)[1])))
