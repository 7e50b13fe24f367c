-- wrk script: every connection waits the given milliseconds before its next request.
local pause = 0

function init(args)
   pause = tonumber(args[1]) or 0
end

function delay()
   return pause
end
