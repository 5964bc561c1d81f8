#!/usr/bin/env bash
# Functions shared by the HTTP benchmarks (bench/run.sh, bench/pools.sh). Source it from the
# repository root; it sources scripts/services.sh (pg_start, redis_start, free_port, as_pg).
. scripts/services.sh

# wait_health URL [tries, 0.1 s apart]: until GET URL/v1/recs/health answers 2xx.
wait_health() {
  local url=$1 tries=${2:-100}
  for _ in $(seq 1 "$tries"); do
    curl -sf "$url/v1/recs/health" >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# create_tenant URL NAME: a tenant and an admin-scoped key for it, through the platform admin
# key in RECS_ADMIN_KEY. Sets TENANT, KEY, ADMIN (curl args) and AUTH (curl args).
create_tenant() {
  local url=$1 name=$2
  ADMIN=(-H "Authorization: Bearer $RECS_ADMIN_KEY" -H "Content-Type: application/json")
  TENANT=$(curl -sf "${ADMIN[@]}" -d "{\"name\":\"$name\"}" "$url/v1/recs/admin/tenants" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  KEY=$(curl -sf "${ADMIN[@]}" -H "X-Tenant-ID: $TENANT" -d '{"name":"b","scopes":["admin"]}' "$url/v1/recs/keys" | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
  AUTH=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
}

# ml_ndjson RATINGS.csv OUT.ndjson: MovieLens ratings as rating events, one JSON a line.
ml_ndjson() {
  python3 - "$1" "$2" <<'PY'
import csv, json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for r in csv.DictReader(f):
        out.write(json.dumps({"event_id": f"ml-{r['userId']}-{r['movieId']}", "type": "rating",
                              "user_id": r["userId"], "item_id": r["movieId"],
                              "value": float(r["rating"]), "timestamp": int(r["timestamp"]) * 1000}) + "\n")
PY
}

# load_ndjson URL FILE: one POST /events/bulk with the whole file (KEY); prints a line.
load_ndjson() {
  local url=$1 file=$2
  curl -sf -H "Authorization: Bearer $KEY" -H "Content-Type: application/x-ndjson" -H "Expect:" --data-binary @"$file" \
      "$url/v1/recs/events/bulk" | python3 -c 'import json,sys;d=json.load(sys.stdin);a=d["accepted"];t=d["took_ms"];print("   ml-latest-small loaded: %d events in %.0f ms (%.0f events/s in one request)" % (a, t, a/t*1000))'
}

# train_ease URL: creates model "ease" (EASE, lambda=500), runs a train job on all the data and
# waits for it. Sets MODEL, JOB, ST ("<status> <progress>") and VERSION.
train_ease() {
  local url=$1
  MODEL=$(curl -sf "${AUTH[@]}" -d '{"name":"ease","algorithm":"ease","hyperparameters":{"lambda":500}}' "$url/v1/recs/models" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  JOB=$(curl -sf "${AUTH[@]}" -d "{\"model_id\":\"$MODEL\",\"holdout\":0}" "$url/v1/recs/jobs/train" | python3 -c 'import json,sys;print(json.load(sys.stdin)["job_id"])')
  while :; do
    ST=$(curl -sf "${AUTH[@]}" "$url/v1/recs/jobs/$JOB" | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d["status"], round(d["progress"],2))')
    case "$ST" in succeeded*|failed*|dead*|cancelled*) break;; esac
    sleep 1
  done
  VERSION=$(curl -sf "${AUTH[@]}" "$url/v1/recs/jobs/$JOB" | python3 -c 'import json,sys;print(json.load(sys.stdin)["result"]["version_id"])')
}

# deploy URL MODEL VERSION: POST .../deploy with {}; prints the answer's body.
deploy() {
  curl -sf "${AUTH[@]}" -d '{}' "$1/v1/recs/models/$2/versions/$3/deploy"
}

# wrk_predict URL OUT CONNECTIONS SECONDS [script]: wrk -t2 with KEY's bearer token, --latency,
# output to OUT. The script defaults to bench/wrk/predict.lua (predict_rate.lua reads
# RECS_BENCH_DELAY_MS from the environment: `RECS_BENCH_DELAY_MS=10 wrk_predict ...`).
wrk_predict() {
  local url=$1 out=$2 c=$3 secs=$4 lua=${5:-bench/wrk/predict.lua}
  wrk -t2 -c"$c" -d"${secs}s" --latency -H "Authorization: Bearer $KEY" \
      -H "Content-Type: application/json" -s "$lua" "$url" >"$out"
}

summary() {  # name, wrk output file, multiplier (events per request)
  python3 - "$1" "$2" "${3:-1}" <<'PY'
import re, sys
name, path, mult = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def lat(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % p, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errs = re.search(r"Socket errors: (.*)", t)
print(f"{name:<28} {rps:>10.0f} req/s {rps*mult:>11.0f} items/s  p50 {lat(50):7.2f} ms  p99 {lat(99):7.2f} ms"
      f"  non-2xx {non2xx.group(1) if non2xx else 0}{'  socket errors: ' + errs.group(1) if errs else ''}")
PY
}
