#!/usr/bin/env bash
# make run: PostgreSQL and Redis under ./data (reused on the next run), migrations, and
# `recsplane all` on port 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
DATA=${RECS_DATA_ROOT:-$PWD/data}
mkdir -p "$DATA"
chmod 755 "$DATA"
ENVF="$DATA/ports.env"
if [ -f "$ENVF" ]; then . "$ENVF"; fi
PG_PORT=${PG_PORT:-$(free_port)}
REDIS_PORT=${REDIS_PORT:-$(free_port)}
printf 'PG_PORT=%s\nREDIS_PORT=%s\n' "$PG_PORT" "$REDIS_PORT" > "$ENVF"

pg_running "$DATA/pg" || pg_start "$DATA/pg" "$PG_PORT"
redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || redis_start "$DATA/redis" "$REDIS_PORT"

if [ ! -f "$DATA/admin_key" ]; then
  (umask 077; echo "rk_admin_$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)" > "$DATA/admin_key")
fi
export RECS_DATABASE_URL="postgresql://recs@127.0.0.1:$PG_PORT/recs"
export RECS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export RECS_ADMIN_KEY="$(cat "$DATA/admin_key")"
export RECS_HTTP_PORT=${RECS_HTTP_PORT:-8080}
export RECS_DATA_DIR=${RECS_DATA_DIR:-$DATA/artifacts}
mkdir -p "$RECS_DATA_DIR"

./build/bin/recsplane migrate >/dev/null
cat <<MSG
recsplane: PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT (data in $DATA)
The platform admin key is in $DATA/admin_key (readable by you only).
Try:
  curl -s -H "Authorization: Bearer \$(cat $DATA/admin_key)" -H 'Content-Type: application/json' \\
       -d '{"name":"acme"}' http://localhost:$RECS_HTTP_PORT/v1/recs/admin/tenants
  curl -s http://localhost:$RECS_HTTP_PORT/v1/recs/health
Stop with Ctrl-C (PostgreSQL and Redis keep running: make stop).
MSG
exec ./build/bin/recsplane all
