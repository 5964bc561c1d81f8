#!/usr/bin/env bash
# HTTP benchmarks against `recsplane all` on this machine (wrk shares the 2 cores):
#   health (the ceiling), /predict top-10 on an EASE model trained on ml-latest-small,
#   single-event and bulk ingestion (with a lost-event count).
# Usage: bench/run.sh [build-dir] [seconds per run]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-10}
. bench/lib.sh
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
export RECS_ADMIN_KEY="bench-admin-key-0123456789abcdef0123456789" RECS_HTTP_PORT=$HTTP_PORT RECS_DATA_DIR="$TMP/artifacts"
export RECS_LOG_LEVEL=warn RECS_BODY_LIMIT=$((32*1024*1024))
"$BUILD/bin/recsplane" all >"$TMP/server.log" 2>&1 &
SRV_PID=$!
URL="http://127.0.0.1:$HTTP_PORT"
wait_health "$URL"
create_tenant "$URL" bench
count_events() { as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U recs -d recs -Atqc "SELECT count(*) FROM events WHERE tenant_id='$TENANT'"; }

# Every event answered 2xx must be a row; rows beyond that come from requests still in flight
# when wrk stopped counting.
report_lost() {
  local what=$1 answered=$2 rows=$3 lost=0
  (( rows < answered )) && lost=$((answered - rows))
  echo "   $what: $answered answered 2xx, $rows new rows in PostgreSQL, lost: $lost"
}

echo "== recsplane HTTP benchmarks (wrk, keep-alive, ${SECS}s each, $(nproc) cores shared with wrk)"
wrk -t2 -c64 -d"${SECS}s" --latency "$URL/v1/recs/health" >"$TMP/health.txt"
summary "GET /health (c=64)" "$TMP/health.txt"

# ml-latest-small, all ratings, an EASE model.
RATINGS=${RECS_SHARED_DIR:-../shared}/data/ml-latest-small/ratings.csv
if [ -f "$RATINGS" ]; then
  ml_ndjson "$RATINGS" "$TMP/ml.ndjson"
  load_ndjson "$URL" "$TMP/ml.ndjson"
  train_ease "$URL"
  echo "   training job: $ST"
  deploy "$URL" "$MODEL" "$VERSION" >/dev/null
  # About 2,000 requests/s: 23 connections, each sending a request 10 ms after its last answer.
  RECS_BENCH_DELAY_MS=10 wrk_predict "$URL" "$TMP/predict_rate.txt" 23 "$SECS" bench/wrk/predict_rate.lua
  summary "POST /predict at ~2000 req/s" "$TMP/predict_rate.txt"
  for c in 8 32; do
    wrk_predict "$URL" "$TMP/predict$c.txt" "$c" "$SECS"
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

