# Sourced by the HTTP script tests: start persona-server on an ephemeral port with a
# fresh keys file, and export BASE, KEY (the bootstrap admin key) and SERVER_PID.
# Usage: source start_server.sh SERVER_BIN WORK_DIR [extra server flags...]
server_bin=$1; work=$2; shift 2
rm -rf "$work" && mkdir -p "$work"
"$server_bin" --port 0 --threads 2 --keys "$work/keys.txt" --db "$work/persona.db" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null' EXIT
# Ready once the whole "serving … on http://127.0.0.1:PORT with …" line is there, port included.
for _ in $(seq 200); do
  grep -Eq 'on http://[^ ]+:[0-9]+ with' "$work/stderr.txt" 2>/dev/null && break
  kill -0 $SERVER_PID 2>/dev/null || { cat "$work/stderr.txt"; echo "server died"; exit 1; }
  sleep 0.05
done
PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/stderr.txt" | head -1 | sed 's/.*://')
[[ -n $PORT ]] || { cat "$work/stderr.txt"; echo "no port"; exit 1; }
BASE="http://127.0.0.1:$PORT"
KEY=$(grep -o 'pk_[0-9a-f]*' "$work/stdout.txt" | head -1)
[[ -n $KEY ]] || { echo "no bootstrap key printed"; exit 1; }
export BASE KEY SERVER_PID
