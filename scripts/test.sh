#!/usr/bin/env bash
# make test: throwaway PostgreSQL and Redis, every ctest label (or RECS_TEST_LABELS), then stop.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
ROOT=$(pwd)
. scripts/services.sh
TMP=$(mktemp -d /tmp/recs-test.XXXXXX)
chmod 755 "$TMP"
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
cleanup() {
  pg_stop "$TMP/pg"
  redis_stop "$TMP/redis" "$REDIS_PORT"
  rm -rf "$TMP"
}
trap cleanup EXIT
pg_start "$TMP/pg" "$PG_PORT" test
redis_start "$TMP/redis" "$REDIS_PORT" test
export RECS_TEST_PG_DSN="postgresql://recs@127.0.0.1:$PG_PORT/recs"
export RECS_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export RECS_TEST_DATA_DIR="$TMP/data"
export RECS_SHARED_DIR="${RECS_SHARED_DIR:-$(cd .. && pwd)/shared}"
mkdir -p "$RECS_TEST_DATA_DIR"
LABELS=${RECS_TEST_LABELS:-unit|db|redis|api|quality}
cd "$BUILD_DIR"
# RECS_TEST_ONLY: a regular expression of test names, for builds that make only some of them.
ctest -L "$LABELS" ${RECS_TEST_ONLY:+-R "$RECS_TEST_ONLY"} --output-on-failure --timeout 900
# Experiment assignment against the real GrowthBook SDK (npm) on thousands of ids.
if [[ "$LABELS" == *unit* && -z "${RECS_TEST_ONLY:-}" ]]; then
  bash "$ROOT/tests/compat/growthbook/run.sh" "$PWD/bin/recs_gb_assign"
fi
