# Sourced by the HTTP script tests: start persona-server on an ephemeral port with a
# fresh keys file, and export BASE, KEY (the bootstrap admin key) and SERVER_PID.
# Usage: source start_server.sh SERVER_BIN WORK_DIR [extra server flags...]
server_bin=$1; work=$2; shift 2
rm -rf "$work" && mkdir -p "$work"
"$server_bin" --port 0 --threads 2 --keys "$work/keys.txt" --db "$work/persona.db" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../../support/server_port.sh"
wait_for_port "$work/stderr.txt" $SERVER_PID || exit 1
BASE="http://127.0.0.1:$PORT"
KEY=$(grep -o 'pk_[0-9a-f]*' "$work/stdout.txt" | head -1)
[[ -n $KEY ]] || { echo "no bootstrap key printed"; exit 1; }
export BASE KEY SERVER_PID
