#!/usr/bin/env bash
# Type-checks the workspace (lib, bins, examples, tests, benches) for the kqueue targets:
# x86_64-unknown-freebsd in full; aarch64-apple-darwin and x86_64-apple-darwin without the
# `tls` feature (its crypto provider, ring, compiles C and assembly in its build script, and
# Debian's gcc cannot target macOS: the core library and every protocol with its unit tests are
# checked there; the TLS layer, the binaries and the integration tests are not). Debian's toolchain and
# a standard library built from source (no SDK needed for `cargo check`).
# The first run checks three standard libraries and every dependency (several minutes on two
# cores); all of it is cached in $CARGO_TARGET_DIR/xcheck, so later runs only check what
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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/xcheck"
xcheck() { RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo check -q -Zbuild-std=std,panic_abort "$@"; }
xcheck --workspace --all-targets --target x86_64-unknown-freebsd
# Without tls: the core library, and the protocols library with its unit tests (the
# examples and integration tests link the protocols with their default features, tls among
# them).
xcheck -p netreactor --lib \
  --target aarch64-apple-darwin --target x86_64-apple-darwin
xcheck -p netreactor-protocols --lib --tests --no-default-features \
  --features http,websocket,ftp,telnet \
  --target aarch64-apple-darwin --target x86_64-apple-darwin
echo "kqueue targets type-check"
