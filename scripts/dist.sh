#!/usr/bin/env bash
# `make dist`: Till's Debian package, dist/till_VERSION_amd64.deb, with the desktop app, `tillctl`,
# and `till-server` with its systemd unit (disabled) and default config (packaging/).
#
#   scripts/dist.sh release   the package to ship (what `make dist` builds)
#   scripts/dist.sh debug     the same package around the debug binaries `make build` made, for
#                             the package test: nothing is compiled again
#
# TILL_DIST_DIR puts the package elsewhere than dist/. Built from a git checkout, the programs
# name its commit in `--version`; from a source tarball, set TILL_COMMIT. Nothing is downloaded:
# the bundler is the Tauri CLI that `npm ci` installed in ui/.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-}
case "$profile" in
  # A release build is the production app (`tauri build` turns on the same feature); the debug
  # one is exactly what `cargo build --workspace --bins` made, so the test bundles it as it is.
  release) cargo_flags=(--release --features tauri/custom-protocol) bundle_flags=() ;;
  debug) cargo_flags=() bundle_flags=(--debug) ;;
  *)
    echo "usage: scripts/dist.sh release|debug" >&2
    exit 2
    ;;
esac

tauri=ui/node_modules/.bin/tauri
if [ ! -x "$tauri" ]; then
  echo "dist: the Tauri CLI is missing; run scripts/install-deps.sh" >&2
  exit 1
fi

# The same command as `make build`, so a debug package reuses that build as it is.
"${CARGO:-cargo}" build --workspace --bins "${cargo_flags[@]}"
bin=$(realpath "${CARGO_TARGET_DIR:-target}/$profile")

# The packages the binaries link against, with the versions this build needs, as Debian's own
# packages work them out.
shlib_depends() {
  local work
  work=$(mktemp -d)
  mkdir "$work/debian"
  printf 'Source: till\n\nPackage: till\nArchitecture: any\n' >"$work/debian/control"
  (cd "$work" && dpkg-shlibdeps -O "$@" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
  rm -rf "$work"
}
depends=$(shlib_depends "$bin/till" "$bin/tillctl" "$bin/till-server")

# The binaries of this profile and the dependencies, on top of tauri.conf.json.
config=$(node -e '
  const [bin, depends] = process.argv.slice(1);
  console.log(JSON.stringify({ bundle: { linux: { deb: {
    depends: depends.split(",").map((d) => d.trim()).filter(Boolean),
    files: { "/usr/bin/tillctl": `${bin}/tillctl`, "/usr/bin/till-server": `${bin}/till-server` },
  } } } }));
' "$bin" "$depends")

# Only this run's package is left in the bundler's output folder.
rm -rf "$bin/bundle/deb"
"$tauri" bundle "${bundle_flags[@]}" --bundles deb --ci --no-binary-patching --config "$config"
bundled=("$bin"/bundle/deb/Till_*.deb)

# The bundler cannot mark conffiles, so the package's control archive, the one member
# replaced, gets a list of the files under /etc: an upgrade then keeps the admin's edits of
# the config.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -e "${bundled[0]}" "$work/control"
dpkg-deb -c "${bundled[0]}" | awk '$1 ~ /^-/ { sub(/^\.?\/?/, "/", $6); print $6 }' |
  grep '^/etc/' >"$work/control/conffiles"
tar --owner=0 --group=0 -czf "$work/control.tar.gz" -C "$work/control" .

out=${TILL_DIST_DIR:-dist}
mkdir -p "$out"
package="$out/till_$(dpkg-deb -f "${bundled[0]}" Version)_$(dpkg-deb -f "${bundled[0]}" Architecture).deb"
cp "${bundled[0]}" "$package"
ar r "$package" "$work/control.tar.gz"
echo "dist: $package"
