-- Read buckets without changing anything.
--
-- KEYS[i]      full window key of bucket i
-- ARGV[1]      rolling cutoff, now - 86400: calls scored at or before it no longer count
-- ARGV[1 + i]  window kind of bucket i: 'd' fixed-window counter (UTC day, hour or minute), 'r' rolling-24h set
--
-- Returns {used_1, oldest_1, used_2, oldest_2, ...} as consume.lua does.

local after = '(' .. ARGV[1]
local reply = {}
for i = 1, #KEYS do
  local used
  local oldest = ''
  if ARGV[1 + i] == 'r' then
    used = redis.call('ZCOUNT', KEYS[i], after, '+inf')
    local first = redis.call('ZRANGEBYSCORE', KEYS[i], after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if first[2] then
      oldest = first[2]
    end
  else
    used = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  reply[#reply + 1] = used
  reply[#reply + 1] = oldest
end
return reply
