"""The ad-account ledger shared by every gateway process: Redis, one Lua script per claim.

Each claim is one round trip touching keys that share the app's ``{app}`` hash tag (see
``gateway.adaccounts.keys``), so replicas racing for the last slot cannot both win, and it
runs on Redis Cluster too. The keys carry no TTL. Redis failures become ``StoreError``.

A claim carries a deadline on Redis's clock, as a quota consume does: the gateway refuses
a write whose claim got no reply in time, so a claim that a stalled Redis runs later must
take nothing, or a refused write would hold an ad-account slot for good.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import redis.asyncio
from redis.commands.core import AsyncScript

from gateway.adaccounts.accounts import sort_accounts
from gateway.adaccounts.keys import created_ids_key, created_slots_key, edited_key, persistent_keys
from gateway.adaccounts.ledger import EditOutcome, LedgerView
from gateway.errors import StoreError
from gateway.quota.redis_errors import redis_call
from gateway.quota.redis_replies import reply_text

# Both claims start with this: ARGV[1] is the deadline, epoch seconds on Redis's clock
# ('' for none). A claim Redis starts later returns LATE and changes nothing.
LATE = -1
_DEADLINE_LUA = """
local deadline = tonumber(ARGV[1])
if deadline then
  local clock = redis.call('TIME')
  if tonumber(clock[1]) + tonumber(clock[2]) / 1000000 > deadline then
    return {-1}
  end
end
"""

# KEYS[1] the app's set of edited accounts; ARGV[2] the most it may hold;
# ARGV[3..] the distinct accounts one write names.
# Returns {admitted, {accounts in the set}, {accounts this call added}}.
CLAIM_EDIT_LUA = (
    _DEADLINE_LUA
    + """
local limit = tonumber(ARGV[2])
local new = {}
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then
    new[#new + 1] = ARGV[i]
  end
end
if #new > 0 and redis.call('SCARD', KEYS[1]) + #new > limit then
  return {0, redis.call('SMEMBERS', KEYS[1]), {}}
end
for i = 1, #new do
  redis.call('SADD', KEYS[1], new[i])
end
return {1, redis.call('SMEMBERS', KEYS[1]), new}
"""
)

# KEYS[1] test-account slots taken; ARGV[2] slots wanted; ARGV[3] the most there may be.
# Returns {1} when taken, {0} when there is no room.
CLAIM_TEST_LUA = (
    _DEADLINE_LUA
    + """
local taken = tonumber(redis.call('GET', KEYS[1]) or '0')
if taken + tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  return {0}
end
redis.call('INCRBY', KEYS[1], ARGV[2])
return {1}
"""
)

# KEYS[1] test-account slots taken; ARGV[1] slots given back. Never below zero.
RELEASE_TEST_LUA = """
local left = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])
if left > 0 then
  redis.call('SET', KEYS[1], left)
else
  redis.call('DEL', KEYS[1])
end
return left
"""


def _texts(values: object) -> tuple[str, ...]:
    if not isinstance(values, list | set | tuple):
        raise StoreError(f"ad-account ledger: unexpected reply of type {type(values).__name__}")
    return sort_accounts(reply_text(v) for v in values)


class RedisLedger:
    """The ledger in Redis. It borrows ``client`` (the quota store's) and never closes it.

    ``deadline`` dates each claim: the quota store's ``script_deadline``, so claims and
    consumes on one client give up alike; the default dates none.
    """

    def __init__(
        self, client: redis.asyncio.Redis, *, deadline: Callable[[], str] = lambda: ""
    ) -> None:
        self._client = client
        self.deadline = deadline
        self._claim_edit = client.register_script(CLAIM_EDIT_LUA)
        self._claim_test = client.register_script(CLAIM_TEST_LUA)
        self._release_test = client.register_script(RELEASE_TEST_LUA)

    async def _claim(self, script: AsyncScript, key: str, args: list[str | int]) -> list[object]:
        reply = await redis_call(
            "ad-account ledger claim", script(keys=[key], args=[self.deadline(), *args])
        )
        if not isinstance(reply, list) or not reply:
            raise StoreError("ad-account ledger claim: unexpected reply")
        if int(reply[0]) == LATE:
            raise StoreError(
                "ad-account ledger claim reached Redis after its deadline; nothing was taken"
            )
        return reply

    async def claim_edit(self, app: str, accounts: Collection[str], limit: int) -> EditOutcome:
        reply = await self._claim(
            self._claim_edit, edited_key(app), [limit, *sorted(set(accounts))]
        )
        admitted, edited, added = reply
        return EditOutcome(int(str(admitted)) == 1, _texts(edited), _texts(added))

    async def claim_test_accounts(self, app: str, count: int, limit: int) -> bool:
        (taken,) = await self._claim(self._claim_test, created_slots_key(app), [count, limit])
        return int(str(taken)) == 1

    async def release_test_accounts(self, app: str, count: int) -> None:
        keys = [created_slots_key(app)]
        await redis_call("ad-account ledger release", self._release_test(keys=keys, args=[count]))

    async def record_test_account(self, app: str, account: str) -> None:
        await redis_call(
            "ad-account ledger record", self._client.sadd(created_ids_key(app), account)
        )

    async def view(self, app: str) -> LedgerView:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.smembers(edited_key(app))
            pipe.get(created_slots_key(app))
            pipe.smembers(created_ids_key(app))
            edited, slots, ids = await redis_call("ad-account ledger view", pipe.execute())
        return LedgerView(_texts(edited), int(reply_text(slots)) if slots else 0, _texts(ids))

    async def reset(self, app: str) -> LedgerView:
        keys = persistent_keys(app)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.smembers(keys[0])
            pipe.get(keys[1])
            pipe.smembers(keys[2])
            pipe.delete(*keys)
            edited, slots, ids, _ = await redis_call("ad-account ledger reset", pipe.execute())
        return LedgerView(_texts(edited), int(reply_text(slots)) if slots else 0, _texts(ids))
