-- 1,000 events per request, unique ids.
local counter = 0

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 1000 do
    parts[i] = string.format(
      '{"event_id":"b-%d-%d-%d-%d","type":"view","user_id":"u%d","item_id":"i%d"}',
      os.time(), tid, counter, i, (counter * 31 + i) % 50000, (i * 17 + counter) % 5000)
  end
  return wrk.format("POST", "/v1/recs/events/bulk", nil, "[" .. table.concat(parts, ",") .. "]")
end
