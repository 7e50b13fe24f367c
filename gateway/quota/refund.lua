-- Take back one admitted call, once.
--
-- KEYS[1]      this refund's marker: a retried refund (its reply was lost) finds it and
--              takes back nothing more
-- ARGV[1]      seconds the marker lives, longer than any retry of the refund
-- KEYS[i + 1]  full window key of entry i of the ticket
-- ARGV[i + 1]  the call's member in that rolling set, or '' for a fixed-window counter
--
-- A counter is decremented only while it exists and is above zero: recreating an expired
-- key would leave it without a TTL. DECR keeps the key's TTL.

if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
for i = 2, #KEYS do
  if ARGV[i] == '' then
    local raw = redis.call('GET', KEYS[i])
    if raw and tonumber(raw) > 0 then
      redis.call('DECR', KEYS[i])
    end
  else
    redis.call('ZREM', KEYS[i], ARGV[i])
  end
end
return 0
