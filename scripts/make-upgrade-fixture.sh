#!/usr/bin/env bash
# Writes an upgrade fixture: a back office's data dir (SQLite) and a till's data dir enrolled with
# it, as the binaries of one release leave them, with work of every kind in the till's queue.
# The upgrade test opens both with today's binaries and drains the queue.
#
# Usage: scripts/make-upgrade-fixture.sh BIN_DIR OUT_DIR
#   BIN_DIR  holds `till-server` and `tillctl` built from the release the fixture is named after
#   OUT_DIR  receives `back-office/`, `till/` and `fixture.json` (it must not exist yet)
#
# The back office holds the demo catalog (catalog/demo.json), one terminal and three customers.
# What the till holds when it is done:
# - sales 1 to 3, synced;
# - customer Ann's name edited on both sides: an open conflict;
# - customer Dee's e-mail edited while the till's clock ran a day ahead: refused by the back
#   office (`clock_ahead`), the failed item;
# - with the back office stopped: sales 4 to 8, a refund of sale 1, a void of sale 2, an edit
#   of customer Bea and a new customer Cy, all queued.
# Ids, tokens and clock stamps differ from run to run; the shape does not. Only the binaries'
# command lines write the data dirs; the back office's database is then checkpointed and
# vacuumed with sqlite3 (the till's carries page checksums only its own code writes).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BIN_DIR OUT_DIR" >&2
    exit 2
fi
bin=$(cd "$1" && pwd)
catalog=$(cd "$(dirname "$0")/.." && pwd)/catalog/demo.json
out=$2
if [[ -e $out ]]; then
    echo "$out exists: the fixture is written into a new directory" >&2
    exit 2
fi
for tool in sqlite3 python3 cc; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }
done

mkdir -p "$out/back-office" "$out/till"
office=$(cd "$out/back-office" && pwd)
till=$(cd "$out/till" && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ann=01900000-0000-7000-8000-00000000a001
bea=01900000-0000-7000-8000-00000000b001
dee=01900000-0000-7000-8000-00000000d001

server() { "$bin/till-server" --data-dir "$office" "$@"; }
tillctl() { "$bin/tillctl" --data-dir "$till" "$@"; }
sync_till() { tillctl sync --until-drained --timeout 60 >/dev/null; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# Started directly, not through `server`, so that `$!` is the server's own process.
start_server() {
    "$bin/till-server" --data-dir "$office" serve --listen 127.0.0.1:0 \
        >"$work/server.out" 2>"$work/server.log" &
    server_pid=$!
    for _ in $(seq 300); do
        url=$(sed -n 's/^listening on //p' "$work/server.out")
        [[ -n $url ]] && return
        sleep 0.1
    done
    cat "$work/server.log" >&2
    exit 1
}

# A clean shutdown (SIGTERM), so the back office closes its database.
stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=
}

# A wall clock a day ahead, for one command: the monotonic clocks stay as they are.
cc -shared -fPIC -o "$work/day-ahead.so" -x c - -ldl <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += 86400;
    return rc;
}
C

server catalog import "$catalog" >/dev/null
start_server
added=$(server terminal add till-1 --json)
terminal_id=$(json_field id <<<"$added")
token=$(json_field token <<<"$added")
server customer add "$ann" --name Ann --email ann@example.com >/dev/null
server customer add "$bea" --name Bea --email bea@example.com >/dev/null
server customer add "$dee" --name Dee --email dee@example.com >/dev/null

tillctl enrol --server "$url" --token "$token" >/dev/null
tillctl ring-up --demo 3 --seed 1 >/dev/null
sync_till

# The failed item: an edit stamped by a clock a day ahead.
LD_PRELOAD="$work/day-ahead.so" tillctl customers edit "$dee" --email dee@example.org >/dev/null
sync_till

# The conflict: Ann's name, edited here and in the back office before the till synced.
tillctl customers edit "$ann" --name "Ann (till)" >/dev/null
server customer edit "$ann" --name "Ann (office)" >/dev/null
sync_till

# The back office goes away; the till keeps selling, and queues.
stop_server
tillctl ring-up --demo 5 --seed 2 >/dev/null
tillctl refund 1 --line 1:1 >/dev/null
tillctl void 2 >/dev/null
tillctl customers edit "$bea" --email bea@example.org >/dev/null
cy=$(tillctl customers add --name Cy --email cy@example.com)
tillctl verify-journal >/dev/null

status=$(tillctl status --json)
conflicts=$(tillctl conflicts list --json)
failed=$(tillctl failed list --json)

sqlite3 "$office/till-server.sqlite3" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
rm -f "$office/till-server.sqlite3-wal" "$office/till-server.sqlite3-shm"

export terminal_id token ann bea cy dee status conflicts failed
python3 - "$out/fixture.json" <<'PY'
import json, os, sys
env = os.environ
status = json.loads(env["status"])
fixture = {
    "terminal_id": env["terminal_id"],
    "token": env["token"],
    "customers": {
        "conflicted": env["ann"],
        "edited": env["bea"],
        "added": env["cy"].strip(),
        "refused": env["dee"],
    },
    "queued": {key: status[key] for key in ("pending", "failed", "conflicts", "tickets")},
    "open_conflicts": json.loads(env["conflicts"]),
    "failed_items": json.loads(env["failed"]),
}
with open(sys.argv[1], "w") as f:
    json.dump(fixture, f, indent=2, sort_keys=True)
    f.write("\n")
PY
echo "fixture written to $out"
ls -la "$office" "$till"
