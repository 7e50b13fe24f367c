-- Check every bucket, then count the call in all of them only if each limited one has
-- room: one atomic step, so concurrent gateways can never overshoot a limit.
--
-- KEYS[i]   full window key of bucket i (one call's keys share the {app} hash tag)
-- ARGV[1]   now, epoch seconds (the score of a rolling call)
-- ARGV[2]   rolling cutoff, now - 86400: calls scored at or before it no longer count
-- ARGV[3]   TTL in seconds of a utc-day counter written now
-- ARGV[4]   TTL in seconds of a rolling set written now
-- ARGV[5 + 3(i-1)]  limit of bucket i, -1 when unlimited
-- ARGV[6 + 3(i-1)]  window kind of bucket i: 'd' utc-day counter, 'r' rolling-24h set
-- ARGV[7 + 3(i-1)]  member id of this call in bucket i's rolling set ('' for 'd')
--
-- Returns {admitted (1 or 0), used_1, oldest_1, used_2, oldest_2, ...}: used counts this
-- call when admitted; oldest is the lowest rolling score as a string ('' if none), a string
-- because Lua numbers become integers in Redis replies.

local n = #KEYS
local used = {}
local admitted = 1

for i = 1, n do
  local at = 5 + 3 * (i - 1)
  local limit = tonumber(ARGV[at])
  if ARGV[at + 1] == 'r' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[2])
    used[i] = redis.call('ZCARD', KEYS[i])
  else
    used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  if limit >= 0 and used[i] >= limit then
    admitted = 0
  end
end

if admitted == 1 then
  for i = 1, n do
    local at = 5 + 3 * (i - 1)
    if ARGV[at + 1] == 'r' then
      redis.call('ZADD', KEYS[i], ARGV[1], ARGV[at + 2])
      redis.call('EXPIRE', KEYS[i], ARGV[4])
      used[i] = redis.call('ZCARD', KEYS[i])
    else
      used[i] = redis.call('INCR', KEYS[i])
      redis.call('EXPIRE', KEYS[i], ARGV[3])
    end
  end
end

local reply = {admitted}
for i = 1, n do
  local oldest = ''
  if ARGV[6 + 3 * (i - 1)] == 'r' then
    local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    if first[2] then
      oldest = first[2]
    end
  end
  reply[#reply + 1] = used[i]
  reply[#reply + 1] = oldest
end
return reply
