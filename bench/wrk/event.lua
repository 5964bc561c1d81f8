-- One event per request, unique ids per thread and request.
local counter = 0

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"event_id":"s-%d-%d-%d","type":"click","user_id":"u%d","item_id":"i%d"}',
    os.time(), tid, counter, math.random(1, 10000), math.random(1, 2000))
  return wrk.format("POST", "/v1/recs/events", nil, body)
end
