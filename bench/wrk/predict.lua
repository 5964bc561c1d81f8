-- POST /predict top-10 for random ml-latest-small users (ids 1..610).
request = function()
  local body = string.format('{"user_id":"%d","limit":10,"model":"ease"}', math.random(1, 610))
  return wrk.format("POST", "/v1/recs/predict", nil, body)
end
