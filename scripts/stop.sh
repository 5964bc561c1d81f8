#!/usr/bin/env bash
# make stop: stops the PostgreSQL and Redis that `make run` started under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
DATA=${RECS_DATA_ROOT:-$PWD/data}
[ -f "$DATA/ports.env" ] && . "$DATA/ports.env"
pg_stop "$DATA/pg"
[ -n "${REDIS_PORT:-}" ] && redis_stop "$DATA/redis" "$REDIS_PORT"
echo "stopped"
