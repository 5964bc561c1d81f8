#!/usr/bin/env bash
# HTTP benchmarks against `recsplane all` on this machine (wrk shares the 2 cores):
#   health (the ceiling), /predict top-10 on an EASE model trained on ml-latest-small,
#   single-event and bulk ingestion (with a lost-event count).
# Usage: bench/run.sh [build-dir] [seconds per run]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-10}
. scripts/services.sh
TMP=$(mktemp -d /tmp/recs-bench.XXXXXX); chmod 755 "$TMP"
PG_PORT=$(free_port); REDIS_PORT=$(free_port); HTTP_PORT=$(free_port)
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
  pg_stop "$TMP/pg"; redis_stop "$TMP/redis" "$REDIS_PORT"; rm -rf "$TMP"
}
trap cleanup EXIT
pg_start "$TMP/pg" "$PG_PORT" bench
redis_start "$TMP/redis" "$REDIS_PORT" test
export RECS_DATABASE_URL="postgresql://recs@127.0.0.1:$PG_PORT/recs"
export RECS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export RECS_ADMIN_KEY="bench-admin-key" RECS_HTTP_PORT=$HTTP_PORT RECS_DATA_DIR="$TMP/artifacts"
export RECS_LOG_LEVEL=warn RECS_BODY_LIMIT=$((32*1024*1024))
"$BUILD/bin/recsplane" all >"$TMP/server.log" 2>&1 &
SRV_PID=$!
URL="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 1 100); do curl -sf "$URL/v1/recs/health" >/dev/null && break; sleep 0.1; done
ADMIN=(-H "Authorization: Bearer $RECS_ADMIN_KEY" -H "Content-Type: application/json")
TENANT=$(curl -sf "${ADMIN[@]}" -d '{"name":"bench"}' "$URL/v1/recs/admin/tenants" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
KEY=$(curl -sf "${ADMIN[@]}" -H "X-Tenant-ID: $TENANT" -d '{"name":"b","scopes":["admin"]}' "$URL/v1/recs/keys" | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
AUTH=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
count_events() { as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U recs -d recs -Atqc "SELECT count(*) FROM events WHERE tenant_id='$TENANT'"; }

# Every event answered 2xx must be a row; rows beyond that come from requests still in flight
# when wrk stopped counting.
report_lost() {
  local what=$1 answered=$2 rows=$3 lost=0
  (( rows < answered )) && lost=$((answered - rows))
  echo "   $what: $answered answered 2xx, $rows new rows in PostgreSQL, lost: $lost"
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

echo "== recsplane HTTP benchmarks (wrk, keep-alive, ${SECS}s each, $(nproc) cores shared with wrk)"
wrk -t2 -c64 -d"${SECS}s" --latency "$URL/v1/recs/health" >"$TMP/health.txt"
summary "GET /health (c=64)" "$TMP/health.txt"

# ml-latest-small, all ratings, an EASE model.
RATINGS=${RECS_SHARED_DIR:-../shared}/data/ml-latest-small/ratings.csv
if [ -f "$RATINGS" ]; then
  python3 - "$RATINGS" "$TMP/ml.ndjson" <<'PY'
import csv, json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for r in csv.DictReader(f):
        out.write(json.dumps({"event_id": f"ml-{r['userId']}-{r['movieId']}", "type": "rating",
                              "user_id": r["userId"], "item_id": r["movieId"],
                              "value": float(r["rating"]), "timestamp": int(r["timestamp"]) * 1000}) + "\n")
PY
  curl -sf -H "Authorization: Bearer $KEY" -H "Content-Type: application/x-ndjson" -H "Expect:" --data-binary @"$TMP/ml.ndjson" \
      "$URL/v1/recs/events/bulk" | python3 -c 'import json,sys;d=json.load(sys.stdin);a=d["accepted"];t=d["took_ms"];print("   ml-latest-small loaded: %d events in %.0f ms (%.0f events/s in one request)" % (a, t, a/t*1000))'
  MODEL=$(curl -sf "${AUTH[@]}" -d '{"name":"ease","algorithm":"ease","hyperparameters":{"lambda":500}}' "$URL/v1/recs/models" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  JOB=$(curl -sf "${AUTH[@]}" -d "{\"model_id\":\"$MODEL\",\"holdout\":0}" "$URL/v1/recs/jobs/train" | python3 -c 'import json,sys;print(json.load(sys.stdin)["job_id"])')
  while :; do
    ST=$(curl -sf "${AUTH[@]}" "$URL/v1/recs/jobs/$JOB" | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d["status"], round(d["progress"],2))')
    case "$ST" in succeeded*|failed*|dead*|cancelled*) break;; esac
    sleep 1
  done
  echo "   training job: $ST"
  VERSION=$(curl -sf "${AUTH[@]}" "$URL/v1/recs/jobs/$JOB" | python3 -c 'import json,sys;print(json.load(sys.stdin)["result"]["version_id"])')
  curl -sf "${AUTH[@]}" -d '{}' "$URL/v1/recs/models/$MODEL/versions/$VERSION/deploy" >/dev/null
  # About 2,000 requests/s: 23 connections, each sending a request 10 ms after its last answer.
  RECS_BENCH_DELAY_MS=10 wrk -t2 -c23 -d"${SECS}s" --latency -H "Authorization: Bearer $KEY" \
      -H "Content-Type: application/json" -s bench/wrk/predict_rate.lua "$URL" >"$TMP/predict_rate.txt"
  summary "POST /predict at ~2000 req/s" "$TMP/predict_rate.txt"
  for c in 8 32; do
    wrk -t2 -c$c -d"${SECS}s" --latency -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
        -s bench/wrk/predict.lua "$URL" >"$TMP/predict$c.txt"
    summary "POST /predict top-10 (c=$c)" "$TMP/predict$c.txt"
  done
else
  echo "   (no $RATINGS: predict benchmark skipped)"
fi

# Ingestion last, so that its background work (checkpoints, autovacuum) does not land on the
# predict runs.
before=$(count_events)
wrk -t2 -c64 -d"${SECS}s" --latency -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
    -s bench/wrk/event.lua "$URL" >"$TMP/event.txt"
summary "POST /events (c=64)" "$TMP/event.txt"
sent=$(python3 -c "import re;t=open('$TMP/event.txt').read();print(int(re.search(r'(\d+) requests in',t).group(1)) - int((re.search(r'Non-2xx or 3xx responses: (\d+)',t) or [0,0])[1]))")
after=$(count_events)
report_lost "single events" "$sent" "$((after-before))"

before=$(count_events)
wrk -t2 -c8 -d"${SECS}s" --latency -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
    -s bench/wrk/bulk.lua "$URL" >"$TMP/bulk.txt"
summary "POST /events/bulk x1000 (c=8)" "$TMP/bulk.txt" 1000
reqs=$(python3 -c "import re;t=open('$TMP/bulk.txt').read();print(int(re.search(r'(\d+) requests in',t).group(1)) - int((re.search(r'Non-2xx or 3xx responses: (\d+)',t) or [0,0])[1]))")
after=$(count_events)
report_lost "bulk events" "$((reqs*1000))" "$((after-before))"

