# Sourced by the script tests that start persona-server with --port 0.
#
# wait_for_port ERR_FILE PID: wait (up to 10 s) until the server's startup line
# "serving … on http://127.0.0.1:PORT with …" is complete in ERR_FILE, its stderr, and
# set PORT. Returns 1, after printing that stderr, if the process exits first or the time
# runs out.
wait_for_port() {
  local err=$1 pid=$2 line='on http://127\.0\.0\.1:[0-9]+ with'
  for _ in $(seq 200); do
    grep -Eq "$line" "$err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  # Read after the loop whatever ended it: the line may be written just before an exit.
  PORT=$(grep -Eo "$line" "$err" 2>/dev/null | head -1 | sed -E 's/.*:([0-9]+) with$/\1/' || true)
  [[ -n $PORT ]] && return 0
  cat "$err" >&2
  echo "persona-server (pid $pid) did not report a port on 127.0.0.1" >&2
  return 1
}
