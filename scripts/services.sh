#!/usr/bin/env bash
# Functions that start and stop a local PostgreSQL 15 and Redis 7 in a folder.
# Source this file. PostgreSQL refuses to run as root, so as root it runs as `postgres`.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( (RANDOM % 20000) + 20000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2; return 1
}

# pg_start DIR PORT [test]: initdb on first use, start on 127.0.0.1:PORT. Creates db "recs".
pg_start() {
  local dir=$1 port=$2 mode=${3:-}
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$dir" -A trust -U recs -E UTF8 >/dev/null
  fi
  local opts="-c listen_addresses=127.0.0.1 -c port=$port -k $dir -c max_connections=200"
  if [ "$mode" = test ]; then opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 30 start >/dev/null
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U recs -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname='recs'" | grep -q 1 ||
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U recs recs
}

pg_stop() {
  local dir=$1
  [ -f "$dir/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

pg_running() {
  local dir=$1
  [ -f "$dir/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

# redis_start DIR PORT [test]
redis_start() {
  local dir=$1 port=$2 mode=${3:-}
  mkdir -p "$dir"
  local persist=(--appendonly yes)
  [ "$mode" = test ] && persist=(--save "" --appendonly no)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "${persist[@]}" >/dev/null
  for _ in $(seq 1 150); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "redis did not start on port $port" >&2; return 1
}

redis_stop() {
  local dir=$1 port=$2
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}
