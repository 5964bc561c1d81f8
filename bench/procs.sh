# Processes of a benchmark script: started with start(), watched with alive()/healthy(),
# stopped last first by stop_all(); fail() prints the logs' tails. The caller defines TMP, BIN,
# the arrays NAMES, PIDS and EXTRA, and a cleanup that calls stop_all.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]; }
# stop_all: the processes this script started, last first: SIGTERM, SIGKILL after 10 s.
stop_all() {
  local i p end
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    p=${PIDS[i]}
    kill "$p" 2>/dev/null || continue
    end=$((SECONDS + 10))
    while running "$p" && ((SECONDS < end)); do sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  PIDS=(); NAMES=()
}
# start NAME ROLE-ARGS... (extra environment in the array EXTRA): output to $TMP/NAME.log.
start() {
  local name=$1; shift
  env "${EXTRA[@]}" "$BIN" "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!); NAMES+=("$name")
}
# fail MESSAGE: prints it with the logs' tails and exits 1.
fail() {
  echo "FAILED: $*"
  for n in "${NAMES[@]}"; do
    [ -s "$TMP/$n.log" ] && { echo "--- $n.log (last lines)"; tail -n 15 "$TMP/$n.log"; }
  done
  [ -s "$TMP/pg/server.log" ] && { echo "--- PostgreSQL server.log (last lines)"; tail -n 5 "$TMP/pg/server.log"; }
  exit 1
}
alive() {  # every started process still runs
  local i
  for i in "${!PIDS[@]}"; do
    running "${PIDS[i]}" || { echo "${NAMES[i]} exited"; return 1; }
  done
}
healthy() {  # URL: health 2xx within 30 s while every process runs
  for _ in $(seq 1 60); do
    wait_health "$1" 5 && return 0
    alive || return 1
  done
  return 1
}
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
