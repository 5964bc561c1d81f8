-- POST /predict top-10 for random ml-latest-small users (ids 1..610), either for a named model
-- or for a surface (the surface's running experiment picks the variant and its model), with one
-- request body builder for both so that only the routing differs (bench/experiments.sh):
--   RECS_BENCH_MODEL=name    {"user_id": "<u>", "model": "name", "limit": 10}
--   (unset or empty)         {"user_id": "<u>", "surface": "<RECS_BENCH_SURFACE or home>", "limit": 10}
--   RECS_BENCH_DELAY_MS=10   each connection waits 10 ms after an answer (wrk's delay hook);
--                            unset or empty: closed loop, no delay hook at all.
local model = os.getenv("RECS_BENCH_MODEL") or ""
local surface = os.getenv("RECS_BENCH_SURFACE") or ""
if surface == "" then surface = "home" end
local target
if model ~= "" then
  target = string.format('"model":"%s"', model)
else
  target = string.format('"surface":"%s"', surface)
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
end
request = function()
  local body = string.format('{"user_id":"%d",%s,"limit":10}', math.random(1, 610), target)
  return wrk.format("POST", "/v1/recs/predict", nil, body)
end

local delay_ms = os.getenv("RECS_BENCH_DELAY_MS") or ""
if delay_ms ~= "" then
  local interval = tonumber(delay_ms)
  delay = function()
    return interval
  end
end
