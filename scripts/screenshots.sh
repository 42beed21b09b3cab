#!/usr/bin/env bash
# `make screenshots`: the README's screenshots (docs/screenshots/*.png), taken from the real app
# under a virtual 1280×800 display, its window at 1280×800 and 1024×700, driven through
# tauri-driver against a real till-server.
# Needs `make build` first (the Makefile's `screenshots` target does it).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${TILL_BIN_DIR:-${CARGO_TARGET_DIR:-target}/debug}
for b in till till-server tillctl; do
  if [ ! -x "$bin/$b" ]; then
    echo "screenshots: $bin/$b is missing; run 'make build' first" >&2
    exit 1
  fi
done
command -v tauri-driver >/dev/null 2>&1 || { echo "screenshots: tauri-driver is missing; run scripts/install-deps.sh" >&2; exit 1; }
export TILL_BIN_DIR=$bin
exec xvfb-run -a -s "-screen 0 1280x800x24" node tests/app/screenshots.mjs
