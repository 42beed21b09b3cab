#!/usr/bin/env bash
# `make run`: a local back office with the demo catalog, a terminal enrolled with it, and the app.
# State lives in .till-run/ so a second `make run` continues where the first stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/debug
state=.till-run
server_dir=$state/server
terminal_dir=$state/terminal
listen=${TILL_RUN_LISTEN:-127.0.0.1:7878}
mkdir -p "$server_dir" "$terminal_dir"

if [ ! -f "$server_dir/.catalog-imported" ]; then
  "$bin/till-server" catalog import catalog/demo.json --data-dir "$server_dir"
  touch "$server_dir/.catalog-imported"
fi

"$bin/till-server" serve --data-dir "$server_dir" --listen "$listen" > "$state/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on' "$state/server.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$state/server.log" >&2; exit 1; }
  sleep 0.1
done
echo "till-server: $(grep -m1 '^listening on' "$state/server.log") (log: $state/server.log)"

if [ ! -f "$terminal_dir/.enrolled" ]; then
  token=$("$bin/till-server" terminal add "Till 1" --data-dir "$server_dir" --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  "$bin/tillctl" --data-dir "$terminal_dir" enrol --server "http://$listen" --token "$token"
  touch "$terminal_dir/.enrolled"
fi

echo "till: starting the app (data dir $terminal_dir)"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "till: no display found, running under xvfb-run"
  TILL_DATA_DIR="$terminal_dir" xvfb-run -a -s "-screen 0 1280x800x24" "$bin/till"
else
  TILL_DATA_DIR="$terminal_dir" "$bin/till"
fi
