-- Add back the calls a replica admitted on its own while the store was away, once: the
-- day's totals stay true, and a retried flush (its reply was lost) adds nothing twice.
--
-- KEYS[1]   the flush's marker, lgw:{app}:flush:<id> (same hash tag as the counters)
-- KEYS[2..] full window keys of the counters to add to
-- ARGV[1]   TTL in seconds of the marker
-- then per counter, in KEYS order: kind ('d' or 'r'), TTL in seconds the key must at
--   least keep, n; for 'd' n is the count to add; for 'r' n (score, member) pairs follow.
--
-- Returns 1 when added, 0 when this flush had already run.

if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local at = 2
for i = 2, #KEYS do
  local kind = ARGV[at]
  local ttl = tonumber(ARGV[at + 1])
  local n = tonumber(ARGV[at + 2])
  at = at + 3
  if kind == 'd' then
    redis.call('INCRBY', KEYS[i], n)
  else
    for _ = 1, n do
      redis.call('ZADD', KEYS[i], ARGV[at], ARGV[at + 1])
      at = at + 2
    end
  end
  if redis.call('TTL', KEYS[i]) < ttl then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return 1
