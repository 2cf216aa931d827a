#!/usr/bin/env bash
# A user's crate outside the workspace (.ci/consumer): the core plus netreactor-protocols with
# `default-features = false, features = ["http"]`. It must build (with the README's example
# and the guide's snippets, by path), and carry none of the binaries' dependencies.
set -euo pipefail
cd "$(dirname "$0")/../consumer"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../../target}/consumer"
cargo build --all-targets
cargo test --doc # the guide's snippets, by path
tree=$(cargo tree -e normal)
for dep in clap serde hdrhistogram tracing-subscriber; do
  if grep -q " $dep v" <<<"$tree"; then
    echo "consumer crate pulls in $dep:"; grep " $dep v" <<<"$tree"; exit 1
  fi
done
echo "consumer crate: builds, and no clap, serde, hdrhistogram or tracing-subscriber"
