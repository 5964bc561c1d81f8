#!/usr/bin/env bash
# The cost of experiment routing on predictions: POST /predict top-10 on ml-latest-small
#   A. direct:  {"user_id": u, "model": "bench-a", "limit": 10}
#   B. routed:  {"user_id": u, "surface": "home", "limit": 10}: the surface's running experiment
#      (two variants, 50/50: bench-a and bench-b, the same algorithm and hyperparameters, so
#      both cost the same to score) picks the variant, and the api records an exposure,
# against one `recsplane all`, one throwaway PostgreSQL and Redis. Runs alternate A and B:
# c=8, c=32 (closed loop), then ~1000 req/s (fixed rate). Afterwards it reads the experiment's
# results (units exposed per variant, the sample-ratio check) and, when it is built, runs
# recs_assignment_benchmark (the cost of core::AssignVariant alone).
# Usage: bench/experiments.sh [build-dir] [seconds per run]
# RECS_BENCH_ALGORITHM=popularity trains popularity models instead of EASE (lambda=500).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-10}
BIN="$BUILD/bin/recsplane"
ASSIGN_BENCH="$BUILD/bin/recs_assignment_benchmark"
ALGO=${RECS_BENCH_ALGORITHM:-ease}
case "$ALGO" in
  ease) HP='{"lambda":500}'; ALGO_LABEL="EASE lambda=500" ;;
  popularity) HP='{}'; ALGO_LABEL="popularity" ;;
  *) echo "RECS_BENCH_ALGORITHM must be ease or popularity" >&2; exit 1 ;;
esac
. bench/lib.sh
. bench/procs.sh

RATINGS=${RECS_SHARED_DIR:-../shared}/data/ml-latest-small/ratings.csv
[ -x "$BIN" ] || { echo "no $BIN (build it first)" >&2; exit 1; }
[ -f "$RATINGS" ] || { echo "no $RATINGS (ml-latest-small is needed)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "no wrk on PATH" >&2; exit 1; }

TMP=$(mktemp -d /tmp/recs-experiments.XXXXXX); chmod 755 "$TMP"
PG_PORT=$(free_port); REDIS_PORT=$(free_port); PORT=$(free_port)
while [ "$REDIS_PORT" = "$PG_PORT" ]; do REDIS_PORT=$(free_port); done
while [ "$PORT" = "$PG_PORT" ] || [ "$PORT" = "$REDIS_PORT" ]; do PORT=$(free_port); done
NAMES=(); PIDS=()

cleanup() {
  stop_all
  pg_stop "$TMP/pg"; redis_stop "$TMP/redis" "$REDIS_PORT"; rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# jget JSON-TEXT PYTHON-EXPR [ARGS...]: prints the expression on d (the parsed text; the ARGS
# are sys.argv[3:]); prints nothing and fails when the text is not JSON or the expression fails.
jget() {
  python3 -c 'import json,sys
try: d=json.loads(sys.argv[1])
except Exception: sys.exit(1)
print(eval(sys.argv[2]))' "$@" 2>/dev/null
}

# create_model NAME: POST /models ($ALGO, $HP) and a train job on all the data. Prints
# "<model id> <job id>".
create_model() {
  local m j
  m=$(curl -sf "${AUTH[@]}" -d "{\"name\":\"$1\",\"algorithm\":\"$ALGO\",\"hyperparameters\":$HP}" "$URL/v1/recs/models") || return 1
  m=$(jget "$m" 'd["id"]') || return 1
  j=$(curl -sf "${AUTH[@]}" -d "{\"model_id\":\"$m\",\"holdout\":0}" "$URL/v1/recs/jobs/train") || return 1
  j=$(jget "$j" 'd["job_id"]') || return 1
  echo "$m $j"
}
# wait_job JOB: until it ends (at most 15 min, while the server runs). Sets ST ("<status>
# <progress>") and VERSION (the version it trained, "" unless it succeeded).
wait_job() {
  local end=$((SECONDS + 900)) body
  ST=""; VERSION=""
  while ((SECONDS < end)); do
    body=$(curl -sf "${AUTH[@]}" "$URL/v1/recs/jobs/$1") && ST=$(jget "$body" 'd["status"] + " " + str(round(d["progress"], 2))')
    case "$ST" in
      succeeded*) VERSION=$(jget "$body" 'd["result"]["version_id"]'); return 0 ;;
      failed*|dead*|cancelled*) return 1 ;;
    esac
    alive || { ST="(server exited)"; return 1; }
    sleep 1
  done
  ST="$ST (still running after 15 min)"; return 1
}

echo "== predict routed by an experiment (B: surface \"home\", 2 variants) vs a named model (A)"
echo "   wrk -t2, keep-alive, ${SECS}s per run; $(nproc) cores shared by wrk, PostgreSQL, Redis and"
echo "   recsplane all; models: two $ALGO_LABEL on ml-latest-small (bench-a, bench-b)"
echo "   load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews both sides)"
echo "-- starting PostgreSQL and Redis"
pg_start "$TMP/pg" "$PG_PORT" bench || fail "PostgreSQL did not start"
redis_start "$TMP/redis" "$REDIS_PORT" test || { tail -n 5 "$TMP/redis/redis.log"; fail "Redis did not start"; }
export RECS_DATABASE_URL="postgresql://recs@127.0.0.1:$PG_PORT/recs"
export RECS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export RECS_ADMIN_KEY="bench-admin-key-$(date +%s)-0123456789abcdef" RECS_LOG_LEVEL=warn RECS_BODY_LIMIT=$((32*1024*1024))
export RECS_DRAIN_SECONDS=2
URL="http://127.0.0.1:$PORT"

echo "-- recsplane all on :$PORT"
EXTRA=(RECS_HTTP_PORT="$PORT" RECS_DATA_DIR="$TMP/data")
start all all
healthy "$URL" || fail "recsplane all never became healthy"

create_tenant "$URL" experiments
[ -n "$TENANT" ] && [ -n "$KEY" ] || fail "could not create a tenant and key"
echo "-- tenant $TENANT; loading ml-latest-small"
ml_ndjson "$RATINGS" "$TMP/ml.ndjson"
load_ndjson "$URL" "$TMP/ml.ndjson" || fail "bulk load failed"

echo "-- training bench-a and bench-b ($ALGO_LABEL, all the data)"
T0=$(date +%s)
read -r MODEL_A JOB_A <<<"$(create_model bench-a)"; [ -n "${JOB_A:-}" ] || fail "could not create model bench-a and its train job"
read -r MODEL_B JOB_B <<<"$(create_model bench-b)"; [ -n "${JOB_B:-}" ] || fail "could not create model bench-b and its train job"
wait_job "$JOB_A" || fail "bench-a's training job ended $ST"; VERSION_A=$VERSION
wait_job "$JOB_B" || fail "bench-b's training job ended $ST"; VERSION_B=$VERSION
echo "   both jobs succeeded ($(( $(date +%s) - T0 )) s): bench-a version $VERSION_A, bench-b version $VERSION_B"
for m in A B; do
  mid=MODEL_$m; vid=VERSION_$m
  DEP=$(deploy "$URL" "${!mid}" "${!vid}") || fail "deploy of model $m failed"
  echo "   deployed bench-${m,,}: rollout $(jget "$DEP" 'json.dumps(d["rollout"])')"
done
DEF=$(curl -sf "${AUTH[@]}" -X PATCH -d '{"is_default":true}' "$URL/v1/recs/models/$MODEL_A") || fail "PATCH is_default on bench-a failed"
[ "$(jget "$DEF" 'd["is_default"]')" = True ] || fail "bench-a is not the default model: $DEF"
echo "   bench-a is the tenant's default model"

# Both models answer before the experiment exists (a deploy loads the version in the background).
for m in bench-a bench-b; do
  BODY="{\"user_id\":\"1\",\"model\":\"$m\",\"limit\":10}"; code=000
  for _ in $(seq 1 100); do
    code=$(status_of "${AUTH[@]}" -d "$BODY" "$URL/v1/recs/predict"); [ "$code" = 200 ] && break; sleep 0.1
  done
  [ "$code" = 200 ] || fail "predict on $m answered $code: $(curl -s "${AUTH[@]}" -d "$BODY" "$URL/v1/recs/predict")"
done

echo "-- experiment on surface \"home\": variants a (bench-a) and b (bench-b), equal weights"
# A fixed seed: the same split of the 610 users in every run (the seed is the experiment's id,
# new each run, when none is given).
EXP_BODY='{"name":"bench-home","surface":"home","seed":"bench-home","variants":[{"id":"a","model":"bench-a"},{"id":"b","model":"bench-b"}],"control":"a","metrics":["ctr"]}'
EXP=$(curl -s "${AUTH[@]}" -d "$EXP_BODY" "$URL/v1/recs/experiments")
EXP_ID=$(jget "$EXP" 'd["id"]') && [ -n "$EXP_ID" ] || fail "creating the experiment failed: $EXP"
EXP=$(curl -s "${AUTH[@]}" -X POST "$URL/v1/recs/experiments/$EXP_ID/start")
[ "$(jget "$EXP" 'd["status"]')" = running ] || fail "starting the experiment failed: $EXP"
echo "   experiment $EXP_ID: running"

BODY='{"user_id":"1","surface":"home","limit":10}'
ANS=$(curl -s "${AUTH[@]}" -d "$BODY" "$URL/v1/recs/predict")
CHECK=$(jget "$ANS" '"ok" if d.get("experiment", {}).get("id") == sys.argv[3] and d.get("variant") in ("a", "b") and d["model"].split("@")[0] == "bench-" + d["variant"] and len(d.get("items", [])) == 10 else "bad"' "$EXP_ID")
[ "$CHECK" = ok ] || fail "a predict on surface home does not carry the experiment and its variant: $ANS"
echo "   predict user 1 on home: experiment $(jget "$ANS" 'd["experiment"]["name"]'), variant $(jget "$ANS" 'd["variant"]'), model $(jget "$ANS" 'd["model"]'), $(jget "$ANS" 'len(d["items"])') items"
# Users 1..40: both variants show up, each answered by its own model.
SPLIT=$(for u in $(seq 1 40); do curl -s "${AUTH[@]}" -d "{\"user_id\":\"$u\",\"surface\":\"home\",\"limit\":10}" "$URL/v1/recs/predict"; echo; done |
  python3 -c 'import json,sys,collections
c=collections.Counter()
for line in sys.stdin:
    if not line.strip(): continue
    d=json.loads(line); v=d.get("variant")
    c[v if v and d["model"].split("@")[0]=="bench-"+v else "bad"]+=1
print(c["a"], c["b"], c["bad"])')
read -r NA NB NBAD <<<"$SPLIT"
[ "${NBAD:-1}" = 0 ] && [ "${NA:-0}" -gt 0 ] && [ "${NB:-0}" -gt 0 ] || fail "users 1..40 on home: variant a $NA, b $NB, wrong or missing $NBAD"
echo "   users 1..40 on home: $NA in a, $NB in b, each answered by its variant's model"
units_exposed() {  # prints the experiment's results' "units" (distinct units exposed)
  jget "$(curl -sf "${AUTH[@]}" "$URL/v1/recs/experiments/$EXP_ID/results")" 'd["units"]'
}
UNITS_BEFORE=$(units_exposed) || fail "GET /v1/recs/experiments/$EXP_ID/results failed: $(curl -s "${AUTH[@]}" "$URL/v1/recs/experiments/$EXP_ID/results")"
echo "   units exposed so far: $UNITS_BEFORE (users 1..40)"

# run_wrk SIDE OUT CONNECTIONS SECONDS [DELAY_MS]: A names the model, B the surface (one Lua
# script builds both bodies, bench/wrk/predict_surface.lua).
run_wrk() {
  local model=bench-a
  [ "$1" = B ] && model=""
  RECS_BENCH_MODEL=$model RECS_BENCH_SURFACE=home RECS_BENCH_DELAY_MS=${5:-} \
    wrk_predict "$URL" "$2" "$3" "$4" bench/wrk/predict_surface.lua
}

echo "-- warm-up: 2 s at c=8 on each (not counted)"
for t in A B; do run_wrk "$t" "$TMP/warm-$t.txt" 8 2; done

RUNS=("c8:8:" "c32:32:" "rate:10:10")
n=0
for r in "${RUNS[@]}"; do
  IFS=: read -r name c delay <<<"$r"
  for t in A B; do
    n=$((n + 1))
    alive || fail "recsplane exited before run $n"
    if [ -n "$delay" ]; then
      echo "-- [$n/6] $t rate: -c$c, $delay ms between an answer and the next request (~1000 req/s), ${SECS}s"
    else
      echo "-- [$n/6] $t c=$c, ${SECS}s"
    fi
    run_wrk "$t" "$TMP/$t-$name.txt" "$c" "$SECS" "$delay"
    summary "   $t $name" "$TMP/$t-$name.txt"
  done
done
alive || fail "recsplane exited during the runs"
echo "   load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$TMP" <<'PY'
import re, sys
tmp = sys.argv[1]
sys.path.insert(0, "bench")
from wrk_output import parse
runs = [("c8", "c=8"), ("c32", "c=32"), ("rate", "~1000/s c=10")]
res = {(t, r): parse(f"{tmp}/{t}-{r}.txt") for r, _ in runs for t in "AB"}
print()
print("== POST /v1/recs/predict top-10: A direct (model bench-a) vs B routed (surface home)")
print(f"{'':<14} {'req/s':^17} {'p50 ms':^15} {'p99 ms':^15} {'mean ms':^15}")
print(f"{'run':<14} {'A':>8} {'B':>8} {'A':>7} {'B':>7} {'A':>7} {'B':>7} {'A':>7} {'B':>7}  non-2xx A/B  socket errors A / B")
for r, label in runs:
    a, b = res[("A", r)], res[("B", r)]
    print(f"{label:<14} {a['rps']:>8.0f} {b['rps']:>8.0f} {a[50]:>7.2f} {b[50]:>7.2f} {a[99]:>7.2f} {b[99]:>7.2f} {a['avg']:>7.2f} {b['avg']:>7.2f}"
          f"  {str(a['non2xx']) + '/' + str(b['non2xx']):>11}  {a['sock'] or '-'} / {b['sock'] or '-'}")
print()
print("== routing cost per request (B - A)")
for r, label in runs:
    a, b = res[("A", r)], res[("B", r)]
    print(f"{label:<14} p50 {b[50]-a[50]:+7.2f} ms   p99 {b[99]-a[99]:+7.2f} ms   mean (wrk Latency Avg) {b['avg']-a['avg']:+7.2f} ms"
          f"   req/s {b['rps']-a['rps']:+6.0f} ({(b['rps']/a['rps']-1)*100:+.1f} %)")
bad = [(t, label) for r, label in runs for t in "AB" if res[(t, r)]["non2xx"] or res[(t, r)]["sock"]]
total_b = sum(res[("B", r)]["reqs"] for r, _ in runs)
print(f"\n   B sent {total_b} routed predictions in the counted runs")
if bad:
    print("\nFAILED: non-2xx answers or socket errors in " + ", ".join(f"{t} {l}" for t, l in bad))
    sys.exit(1)
PY
rc=$?
[ $rc -eq 0 ] || fail "the runs had errors"

echo
echo "== exposures recorded under load: GET /v1/recs/experiments/$EXP_ID/results"
RES=$(curl -sf "${AUTH[@]}" "$URL/v1/recs/experiments/$EXP_ID/results") || fail "GET results failed: $(curl -s "${AUTH[@]}" "$URL/v1/recs/experiments/$EXP_ID/results")"
python3 - "$RES" "$UNITS_BEFORE" <<'PY' || fail "the results do not show the exposures of the runs"
import json, sys
d, before = json.loads(sys.argv[1]), int(sys.argv[2])
for v in d["variants"]:
    print(f"   variant {v['id']:<2} weight {v['weight']:.2f}  units exposed {v['units']:>5}{'  (control)' if v['is_control'] else ''}")
sr = d["sample_ratio"]
fmt = lambda x, f: "-" if x is None else format(x, f)
print(f"   units exposed {d['units']} (before the runs: {before}; ml-latest-small has 610 users)")
print(f"   sample ratio: chi-square {fmt(sr['chi_square'], '.3f')}, p-value {fmt(sr['p_value'], '.4f')}, mismatch {str(sr['mismatch']).lower()}")
ok = d["units"] > before and all(v["units"] > 0 for v in d["variants"])
if not ok:
    print("   FAILED: no new units exposed during the runs, or a variant with none")
sys.exit(0 if ok else 1)
PY

echo
if [ -x "$ASSIGN_BENCH" ]; then
  echo "== core::AssignVariant alone ($ASSIGN_BENCH --benchmark_min_time=0.2)"
  "$ASSIGN_BENCH" --benchmark_min_time=0.2 2>&1 | sed 's/^/   /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "recs_assignment_benchmark failed"
else
  echo "== core::AssignVariant alone: no $ASSIGN_BENCH" \
       "(cmake --build $BUILD --target recs_assignment_benchmark)"
fi
echo "ok"
