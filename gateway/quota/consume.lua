-- Check every bucket, then count the call in all of them only if each limited one has
-- room: one atomic step, so concurrent gateways can never overshoot a limit.
--
-- KEYS[i]   full window key of bucket i (one call's keys share the {app} hash tag)
-- ARGV[1]   now, epoch seconds (the score of a rolling call)
-- ARGV[2]   rolling cutoff, now - 86400: calls scored at or before it no longer count
-- ARGV[3]   TTL in seconds of a rolling set written now
-- ARGV[4 + 3(i-1)]  limit of bucket i, -1 when unlimited
-- ARGV[5 + 3(i-1)]  window kind of bucket i: 'd' fixed-window counter (a UTC day, hour or
--                   minute: the key names which), 'r' rolling-24h set
-- ARGV[6 + 3(i-1)]  'd': TTL in seconds of its counter written now (each fixed window
--                   expires with its own end); 'r': member id of this call in the set
-- ARGV[#ARGV]       deadline, epoch seconds on Redis's clock ('' for none); always last
-- KEYS[n + 1]       optional, with a deadline: this call's "once" key (n buckets, so n =
--                   (#ARGV - 4) / 3). A client that retries a command whose reply it lost
--                   sends the same key: the retry gets the first run's reply, counted once.
--
-- Returns {admitted (1 or 0), used_1, oldest_1, used_2, oldest_2, ...}: used counts this
-- call when admitted; oldest is the lowest rolling score as a string ('' if none), a string
-- because Lua numbers become integers in Redis replies. A script that starts after its
-- deadline returns {-1, Redis's time as a string} and changes nothing.

-- The gateway stops waiting for this reply at the deadline and refuses the call; a script
-- that Redis runs later (it was paused, or busy) must then count nothing, or a refused call
-- would be charged. Redis's own clock decides, so no reply is needed to learn the outcome.
local deadline = tonumber(ARGV[#ARGV])
local redis_now
if deadline then
  local clock = redis.call('TIME')
  redis_now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  if redis_now > deadline then
    return {-1, string.format('%.6f', redis_now)}
  end
end

local n = (#ARGV - 4) / 3
-- A retry after the deadline was refused above, so the once key only has to live until it.
local once = deadline and KEYS[n + 1]
if once then
  local first = redis.call('GET', once)
  if first then
    return cjson.decode(first)
  end
end
local used = {}
local admitted = 1

for i = 1, n do
  local at = 4 + 3 * (i - 1)
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
    local at = 4 + 3 * (i - 1)
    if ARGV[at + 1] == 'r' then
      redis.call('ZADD', KEYS[i], ARGV[1], ARGV[at + 2])
      redis.call('EXPIRE', KEYS[i], ARGV[3])
      used[i] = redis.call('ZCARD', KEYS[i])
    else
      used[i] = redis.call('INCR', KEYS[i])
      redis.call('EXPIRE', KEYS[i], ARGV[at + 2])
    end
  end
end

local reply = {admitted}
for i = 1, n do
  local oldest = ''
  if ARGV[5 + 3 * (i - 1)] == 'r' then
    local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    if first[2] then
      oldest = first[2]
    end
  end
  reply[#reply + 1] = used[i]
  reply[#reply + 1] = oldest
end
if once then
  local ttl = math.max(math.ceil((deadline - redis_now) * 1000), 1)
  redis.call('SET', once, cjson.encode(reply), 'PX', ttl)
end
return reply
