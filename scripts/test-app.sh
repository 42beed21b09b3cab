#!/usr/bin/env bash
# `make test-app`: the real app's end-to-end tests. The built `till` window is driven through
# tauri-driver and WebKitWebDriver against a real till-server on loopback, under a virtual X
# display (and a private D-Bus session, so the single-instance check has a bus of its own).
# Needs `make build` first (the Makefile's `test` target does it).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${TILL_BIN_DIR:-${CARGO_TARGET_DIR:-target}/debug}
for b in till till-server tillctl; do
  if [ ! -x "$bin/$b" ]; then
    echo "test-app: $bin/$b is missing; run 'make build' first" >&2
    exit 1
  fi
done
# tauri-driver drives the window; xdotool moves the X input focus, which WebDriver cannot.
for tool in tauri-driver xdotool; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-app: $tool is missing; run scripts/install-deps.sh" >&2
    exit 1
  fi
done
export TILL_BIN_DIR=$bin

# --test-force-exit: once the last test has finished the run ends, even if a process the tests
# started (WebKit's helpers, say) still holds a handle open.
run=(node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 tests/app/app.test.mjs tests/app/staff.test.mjs tests/app/close.test.mjs tests/app/printer.test.mjs tests/app/focus.test.mjs)
if command -v dbus-run-session >/dev/null 2>&1; then
  run=(dbus-run-session -- "${run[@]}")
fi
exec xvfb-run -a -s "-screen 0 1280x800x24" "${run[@]}"
