-- POST /predict top-10 at a fixed rate: each connection waits `delay` ms between requests
-- (wrk's delay hook), so c connections send about c * 1000 / delay requests per second.
local interval = tonumber(os.getenv("RECS_BENCH_DELAY_MS") or "10")
request = function()
  local body = string.format('{"user_id":"%d","limit":10,"model":"ease"}', math.random(1, 610))
  return wrk.format("POST", "/v1/recs/predict", nil, body)
end
delay = function()
  return interval
end
