#!/usr/bin/env bash
# Runs every fuzz target for SECS seconds each (default 60) and prints, per target, the
# executions, the coverage (libFuzzer's `cov:`), the corpus size and whether it crashed.
# New inputs that add coverage are merged into fuzz/corpus/TARGET (libFuzzer's -merge=1;
# the rest of what it found is thrown away). Needs cargo-fuzz
# (`cargo install cargo-fuzz`) and a nightly toolchain (or RUSTC_BOOTSTRAP=1).
# Usage: fuzz/campaign.sh [SECS] [TARGET...]
# Environment: RUNS=N stops a target after N executions (libFuzzer's -runs) if that comes
# before SECS; SANITIZER=none builds without AddressSanitizer (in fuzz/target-none), 2-6x
# more executions a second: the code is safe Rust outside a few `unsafe` blocks, which the
# default (address) build still covers. TRACE_COMPARES=0 builds without comparison tracing
# (in fuzz/target-SANITIZER-ntc), about twice as fast again where inputs hold no magic values
# to discover (core_echo's operations).
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list 2>/dev/null || ls fuzz_targets | sed 's/\.rs$//')
fi
if cargo +nightly --version >/dev/null 2>&1; then fuzz=(cargo +nightly fuzz); else
  export RUSTC_BOOTSTRAP=1; fuzz=(cargo fuzz); fi
build=()
dir=target
if [ -n "${SANITIZER:-}" ] && [ "$SANITIZER" != address ]; then
  build=(-s "$SANITIZER"); dir="target-$SANITIZER"
fi
if [ "${TRACE_COMPARES:-1}" = 0 ]; then build+=(--no-trace-compares); dir="$dir-ntc"; fi
build+=(--target-dir "$dir")
limit=()
if [ -n "${RUNS:-}" ]; then limit=(-runs="$RUNS"); fi
printf '%-16s %12s %8s %8s %s\n' target executions cov corpus result
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  scratch=$(mktemp -d)
  "${fuzz[@]}" run "${build[@]}" "$t" "$scratch" "corpus/$t" -- -max_total_time="$secs" "${limit[@]}" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    "${fuzz[@]}" run "${build[@]}" "$t" "corpus/$t" "$scratch" -- -merge=1 >/dev/null 2>&1 || true
  fi
  rm -rf "$scratch"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  files=$(find "corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then result=ok; else result="CRASH (see $log)"; failed=1; fi
  printf '%-16s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "$files" "$result"
done
exit $failed
