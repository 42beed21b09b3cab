#!/usr/bin/env bash
# `make bench`: every benchmark in release mode, each printing its figures as one JSON line.
# Figures depend on the machine: run them on an otherwise idle one and quote the machine with them.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet -p till-bench -p till-server -p tillctl
cargo build --release --quiet -p till
bench=target/release/till-bench

run() {
  echo "== till-bench $*" >&2
  "$bench" "$@" --json | tail -n 1
}

run ring-up --tickets 2000
run push
run drain --tickets 10000
run drain --tickets 100000
run ring-up --during-drain
# The same with the engine never giving way to the till: what the drain costs a sale by itself.
run ring-up --during-drain --give-way-ms 0
run fleet --terminals 50 --tickets 200 --backend sqlite
# The throwaway cluster of with-postgres.sh runs with fsync off; say so next to its figures.
scripts/with-postgres.sh bash -c '
  for r in 1 2; do
    echo "== till-bench fleet --backend postgres --replicas $r (cluster fsync=off)" >&2
    '"$bench"' fleet --terminals 50 --tickets 200 --backend postgres --replicas "$r" \
      --database "$TILL_TEST_POSTGRES_URL" --json | tail -n 1
  done'
run app
