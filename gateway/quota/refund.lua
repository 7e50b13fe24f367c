-- Take back one admitted call.
--
-- KEYS[i]  full window key of entry i of the ticket
-- ARGV[i]  the call's member in that rolling set, or '' for a fixed-window counter
--
-- A counter is decremented only while it exists and is above zero: recreating an expired
-- key would leave it without a TTL. DECR keeps the key's TTL.

for i = 1, #KEYS do
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
