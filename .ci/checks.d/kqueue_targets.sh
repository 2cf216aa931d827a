#!/usr/bin/env bash
# Type-checks the workspace (lib, bins, examples, tests, benches) for the kqueue targets:
# x86_64-unknown-freebsd in full; aarch64-apple-darwin (and x86_64-apple-darwin when asked)
# without the `tls` feature (its crypto provider, ring, compiles C and assembly in its build script, and
# Debian's gcc cannot target macOS: the core library and every protocol with its unit tests are
# checked there; the TLS layer, the binaries and the integration tests are not). Debian's toolchain and
# a standard library built from source (no SDK needed for `cargo check`).
# The first run checks two standard libraries and every dependency (minutes on two cores);
# all of it is cached in $CARGO_TARGET_DIR/xcheck*, so later runs only check what
# changed (seconds). Skipped, with a message, only when the Debian packages cannot be
# installed. See docs/platforms.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
packages="rustc-web rust-web-src cargo-web"
have() { for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || return 1; done; }
if ! have; then
  if ! command -v apt-get >/dev/null ||
     ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages >/dev/null; }; then
    echo "SKIPPED: kqueue type-check: could not install $packages (Debian's rustc with std sources)"
    exit 0
  fi
fi
base="${CARGO_TARGET_DIR:-target}"
xcheck() { RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo check -q -Zbuild-std=std,panic_abort "$@"; }
# Apple targets: without tls, the core library, and the protocols library with its unit tests
# (the examples and integration tests link the protocols with their default features, tls
# among them). x86_64-apple-darwin only when asked (KQUEUE_APPLE="aarch64-apple-darwin
# x86_64-apple-darwin"): no cfg of the workspace tells macOS on x86_64 apart from macOS on
# arm64 and x86_64 elsewhere (FreeBSD and Linux check those), and each target costs a
# standard library built from source.
apple=()
for t in ${KQUEUE_APPLE:-aarch64-apple-darwin}; do apple+=(--target "$t"); done
# The two checks run side by side, each in its own target directory: most of a cold run is
# the standard library's serial crates and build scripts, which leave a core idle.
(
  export CARGO_TARGET_DIR="$base/xcheck"
  xcheck --workspace --all-targets --target x86_64-unknown-freebsd
) &
freebsd=$!
(
  export CARGO_TARGET_DIR="$base/xcheck-apple"
  xcheck -p netreactor --lib "${apple[@]}"
  xcheck -p netreactor-protocols --lib --tests --no-default-features \
    --features http,websocket,ftp,telnet "${apple[@]}"
) &
applejob=$!
status=0
wait "$freebsd" || { echo "kqueue type-check failed: x86_64-unknown-freebsd"; status=1; }
wait "$applejob" || { echo "kqueue type-check failed: ${KQUEUE_APPLE:-aarch64-apple-darwin}"; status=1; }
[ "$status" -eq 0 ] && echo "kqueue targets type-check"
exit "$status"
