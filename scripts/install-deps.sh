#!/usr/bin/env bash
# Installs what Till needs to build, run and test, skipping whatever is already there.
# Works on Debian 12 as root or through sudo. Safe to run again and again.
set -euo pipefail

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(
  build-essential pkg-config curl ca-certificates
  # Tauri 2 on Linux: WebKitGTK and friends
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev
  # Running and testing the app without a screen, and driving its real window (xdotool gives it
  # the X input focus, which WebDriver cannot)
  xvfb xauth webkit2gtk-driver xdotool
  # Browser tests of the UI
  chromium
  # The chain-of-shops back end and its tests
  postgresql
  # The power-cut test mounts a FUSE filesystem under a till's data dir
  fuse3
  # The network-back test's private message bus (dbus-daemon)
  dbus
  # `make dist` and the package test: the package's dependencies, its desktop entry's check
  dpkg-dev desktop-file-utils
)

missing=()
for p in "${packages[@]}"; do
  case "$p" in \#*) continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The UI's build (Vite 7) needs Node.js 20.19 or newer; Debian 12's own nodejs is 18.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "install-deps: Node.js $(node --version) is too old: the UI needs 20.19 or newer" >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo is missing; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "install-deps: installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

if [ -f ui/package-lock.json ]; then
  stamp=ui/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ ui/package-lock.json -nt "$stamp" ]; then
    echo "install-deps: npm ci in ui/"
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
