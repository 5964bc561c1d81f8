#!/usr/bin/env bash
# The cost of the api -> worker pool hop: POST /predict top-10 (EASE on ml-latest-small) through
#   A. `recsplane all`: api + scheduler + the pool in one process (in-process calls), and
#   B. `recsplane api` + `recsplane scheduler` + one `recsplane worker --pool default`
#      (the api finds the worker in Redis and calls it over HTTP with RECS_INTERNAL_TOKEN),
# both up at once on different ports, against one throwaway PostgreSQL and Redis and the same
# model version. Every process uses RECS_ARTIFACT_STORE=postgres (own data dir each), so B's
# worker loads the artifact that A's in-process worker trained from PostgreSQL.
# Runs alternate A and B: c=8, c=32 (closed loop), then ~1000 req/s (fixed rate).
# Usage: bench/pools.sh [build-dir] [seconds per run]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-10}
BIN="$BUILD/bin/recsplane"
. bench/lib.sh
. bench/procs.sh

RATINGS=${RECS_SHARED_DIR:-../shared}/data/ml-latest-small/ratings.csv
[ -x "$BIN" ] || { echo "no $BIN (build it first)" >&2; exit 1; }
[ -f "$RATINGS" ] || { echo "no $RATINGS (ml-latest-small is needed)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/recs-pools.XXXXXX); chmod 755 "$TMP"
PG_PORT=$(free_port); REDIS_PORT=$(free_port)
A_PORT=$(free_port); B_PORT=$(free_port)
while [ "$B_PORT" = "$A_PORT" ]; do B_PORT=$(free_port); done
NAMES=(); PIDS=()

cleanup() {
  stop_all
  pg_stop "$TMP/pg"; redis_stop "$TMP/redis" "$REDIS_PORT"; rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_q() { as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U recs -d recs -Atqc "$1"; }

echo "== predict through the api: worker pool in another process (B) vs in-process (A)"
echo "   wrk -t2, keep-alive, ${SECS}s per run; $(nproc) cores shared by wrk, PostgreSQL, Redis and"
echo "   every recsplane process (A's and B's are all up during every run; the idle side idles)"
echo "   load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews both sides)"
echo "-- starting PostgreSQL and Redis"
pg_start "$TMP/pg" "$PG_PORT" bench || fail "PostgreSQL did not start"
redis_start "$TMP/redis" "$REDIS_PORT" test || { tail -n 5 "$TMP/redis/redis.log"; fail "Redis did not start"; }
export RECS_DATABASE_URL="postgresql://recs@127.0.0.1:$PG_PORT/recs"
export RECS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export RECS_ADMIN_KEY="bench-admin-key-$(date +%s)-0123456789abcdef" RECS_LOG_LEVEL=warn RECS_BODY_LIMIT=$((32*1024*1024))
export RECS_ARTIFACT_STORE=postgres RECS_DRAIN_SECONDS=2
TOKEN="bench-internal-token-0123456789abcdef-$RANDOM$RANDOM"
A="http://127.0.0.1:$A_PORT"; B="http://127.0.0.1:$B_PORT"

echo "-- A: recsplane all on :$A_PORT (RECS_ARTIFACT_STORE=postgres)"
EXTRA=(RECS_HTTP_PORT="$A_PORT" RECS_DATA_DIR="$TMP/data/a")
start a-all all
healthy "$A" || fail "A (recsplane all) never became healthy"

create_tenant "$A" pools
[ -n "$TENANT" ] && [ -n "$KEY" ] || fail "could not create a tenant and key through A"
echo "-- tenant $TENANT; loading ml-latest-small through A"
ml_ndjson "$RATINGS" "$TMP/ml.ndjson"
load_ndjson "$A" "$TMP/ml.ndjson" || fail "bulk load through A failed"
echo "-- training EASE (lambda=500) through A (B's processes start after, so A's in-process worker runs it)"
T0=$(date +%s)
train_ease "$A"
echo "   training job: $ST ($(( $(date +%s) - T0 )) s)"
case "$ST" in succeeded*) ;; *) fail "training job ended $ST";; esac
echo "   version $VERSION, artifact_path $(psql_q "SELECT artifact_path FROM model_versions WHERE id='$VERSION'")" \
     "($(psql_q "SELECT pg_size_pretty(bytes) FROM artifacts a JOIN model_versions v ON v.artifact_path = a.ref WHERE v.id='$VERSION'") in PostgreSQL)"
DEP=$(deploy "$A" "$MODEL" "$VERSION") || fail "deploy through A failed"
echo "   deployed through A: rollout $(python3 -c 'import json,sys;print(json.dumps(json.loads(sys.argv[1])["rollout"]))' "$DEP")"

echo "-- B: recsplane api on :$B_PORT + scheduler + worker --pool default (RECS_SERVE_PORT=0)," \
     "RECS_ARTIFACT_STORE=postgres, RECS_INTERNAL_TOKEN (${#TOKEN} chars)"
EXTRA=(RECS_HTTP_PORT="$B_PORT" RECS_DATA_DIR="$TMP/data/b-api" RECS_INTERNAL_TOKEN="$TOKEN")
start b-api api
EXTRA=(RECS_DATA_DIR="$TMP/data/b-scheduler" RECS_INTERNAL_TOKEN="$TOKEN")
start b-scheduler scheduler
EXTRA=(RECS_DATA_DIR="$TMP/data/b-worker" RECS_INTERNAL_TOKEN="$TOKEN" RECS_SERVE_PORT=0)
start b-worker worker --pool default
healthy "$B" || fail "B's api never became healthy"
MEMBERS=0
for _ in $(seq 1 300); do
  POOLS=$(curl -sf "${AUTH[@]}" "$B/v1/recs/pools")
  MEMBERS=$(python3 -c 'import json,sys
d=json.loads(sys.argv[1] or "{}")
print(sum(len(p["members"]) for p in d.get("items",[]) if p["name"]=="default"))' "$POOLS" 2>/dev/null || echo 0)
  [ "$MEMBERS" = 1 ] && break
  alive || break
  sleep 0.1
done
[ "$MEMBERS" = 1 ] || fail "B's pool 'default' never showed 1 member (GET /pools: ${POOLS:-no answer})"
echo "   GET /v1/recs/pools on B: $POOLS"
DEP=$(deploy "$B" "$MODEL" "$VERSION") || fail "deploy through B failed"
echo "   deployed through B: rollout $(python3 -c 'import json,sys;print(json.dumps(json.loads(sys.argv[1])["rollout"]))' "$DEP")"

BODY='{"user_id":"1","limit":10,"model":"ease"}'
for t in A B; do
  url=${!t}; code=000
  for _ in $(seq 1 50); do
    code=$(status_of "${AUTH[@]}" -d "$BODY" "$url/v1/recs/predict"); [ "$code" = 200 ] && break; sleep 0.1
  done
  [ "$code" = 200 ] || fail "predict through $t answered $code: $(curl -s "${AUTH[@]}" -d "$BODY" "$url/v1/recs/predict")"
  echo "   predict through $t: 200, $(curl -s "${AUTH[@]}" -d "$BODY" "$url/v1/recs/predict" | python3 -c 'import json,sys
d=json.load(sys.stdin);items=d.get("items") or d.get("recommendations") or []
print(len(items), "items, first", json.dumps(items[0]) if items else "-")')"
done
# Identical answers on both sides: same version, same artifact.
SA=$(curl -s "${AUTH[@]}" -d "$BODY" "$A/v1/recs/predict" | python3 -c 'import json,sys;d=json.load(sys.stdin);print([i.get("item_id") for i in d.get("items",[])])')
SB=$(curl -s "${AUTH[@]}" -d "$BODY" "$B/v1/recs/predict" | python3 -c 'import json,sys;d=json.load(sys.stdin);print([i.get("item_id") for i in d.get("items",[])])')
[ "$SA" = "$SB" ] && echo "   same top-10 for user 1 from A and B" || echo "   top-10 differ: A $SA, B $SB"

echo "-- warm-up: 2 s at c=8 on each (not counted)"
for t in A B; do wrk_predict "${!t}" "$TMP/warm-$t.txt" 8 2; done

RUNS=("c8:8:predict" "c32:32:predict" "rate:10:rate")
n=0
for r in "${RUNS[@]}"; do
  IFS=: read -r name c kind <<<"$r"
  for t in A B; do
    n=$((n + 1))
    alive || fail "a process exited before run $n"
    if [ "$kind" = rate ]; then
      echo "-- [$n/6] $t rate: -c$c, 10 ms between an answer and the next request (~1000 req/s), ${SECS}s"
      RECS_BENCH_DELAY_MS=10 wrk_predict "${!t}" "$TMP/$t-$name.txt" "$c" "$SECS" bench/wrk/predict_rate.lua
    else
      echo "-- [$n/6] $t c=$c, ${SECS}s"
      wrk_predict "${!t}" "$TMP/$t-$name.txt" "$c" "$SECS"
    fi
    summary "   $t $name" "$TMP/$t-$name.txt"
  done
done
alive || fail "a process exited during the runs"
echo "   load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$TMP" <<'PY'
import re, sys
tmp = sys.argv[1]
sys.path.insert(0, "bench")
from wrk_output import parse
runs = [("c8", "c=8"), ("c32", "c=32"), ("rate", "~1000/s c=10")]
topo = {"A": "A in-process", "B": "B worker process"}
res = {(t, r): parse(f"{tmp}/{t}-{r}.txt") for r, _ in runs for t in "AB"}
print()
print("== POST /v1/recs/predict top-10 (EASE, ml-latest-small)")
print(f"{'topology':<18} {'run':<14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'avg ms':>8} {'non-2xx':>8}  socket errors")
for r, label in runs:
    for t in "AB":
        d = res[(t, r)]
        print(f"{topo[t]:<18} {label:<14} {d['rps']:>8.0f} {d[50]:>8.2f} {d[99]:>8.2f} {d['avg']:>8.2f} {d['non2xx']:>8}  {d['sock'] or '-'}")
print()
print("== hop cost per request (B - A)")
for r, label in runs:
    a, b = res[("A", r)], res[("B", r)]
    print(f"{label:<14} p50 {b[50]-a[50]:+7.2f} ms   p99 {b[99]-a[99]:+7.2f} ms   mean (wrk Latency Avg) {b['avg']-a['avg']:+7.2f} ms"
          f"   req/s {b['rps']-a['rps']:+6.0f} ({(b['rps']/a['rps']-1)*100:+.1f} %)")
bad = [(t, label) for r, label in runs for t in "AB" if res[(t, r)]["non2xx"] or res[(t, r)]["sock"]]
if bad:
    print("\nFAILED: non-2xx answers or socket errors in " + ", ".join(f"{t} {l}" for t, l in bad))
    sys.exit(1)
PY
rc=$?
[ $rc -eq 0 ] || exit $rc
echo "ok"
