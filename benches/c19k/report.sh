#!/usr/bin/env bash
# 19,000 connections from three generator processes started together, merged into one
# report: the several-machines recipe of docs/loadgen.md on one machine. `netreactor --http`
# (one reactor, CPU 0) serves a 14-byte index.html; three loadgen processes (CPU 1, a
# process may hold 20,000 descriptors) open N/3 connections each from their own source
# addresses, all beginning at the same --start-at, open loop at RATE requests/s in all
# (default 19,000: one a second per connection), SECS seconds (default 20), --warmup 1,
# each writing an --hdr-log; then `loadgen report` merges the three logs into
# $OUT/report.html and prints the table. SHOT=1 also takes a headless Chromium screenshot
# ($OUT/report.png).
# Usage: benches/c19k/report.sh   (OUT defaults to a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-19000}; RATE=${RATE:-$N}; SECS=${SECS:-20}; PORT=17910
OUT=${OUT:-$(mktemp -d)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
cargo build --release -q -p netreactor-protocols --bin loadgen --bin netreactor
ROOT=$(mktemp -d); echo "Hello, World!" > "$ROOT/index.html"
taskset -c 0 "$BIN/netreactor" --no-ws --no-ftp --no-telnet --no-echo --http 127.0.0.1:$PORT --root "$ROOT" >/dev/null 2>&1 &
SERVER=$!
PIDS=()
trap 'kill $SERVER "${PIDS[@]}" 2>/dev/null' EXIT
sleep 0.5
START=$(python3 -c 'import time; print("%.3f" % (time.time() + 3))')
for g in 1 2 3; do
  n=$(( N / 3 + (g <= N % 3 ? 1 : 0) ))
  src="127.0.$g.1-127.0.$g.20"
  taskset -c 1 "$BIN/loadgen" http "http://127.0.0.1:$PORT/index.html" -c "$n" -d "$SECS" \
    --rate $(( RATE * n / N )) --warmup 1 --timeout 30 --ramp 20000 --source "$src" \
    --start-at "$START" --progress 0 --hdr-log "$OUT/gen$g.hlog" --json > "$OUT/gen$g.json" &
  PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
for g in 1 2 3; do
  python3 -c "
import json; r=json.load(open('$OUT/gen$g.json')); l=r['latency_us']; e=r['errors']
print('generator $g: %d of %d connected, %.0f responses/s, p50 %d p99 %d us, send lag p99 %d us, errors %d' % (r['connected'], r['connections'], r['throughput'], l['p50'], l['p99'], r['send_lag_us']['p99'], sum(e.values())))"
done
"$BIN/loadgen" report "$OUT"/gen*.hlog --out "$OUT/report.html" --title "19,000 connections, three generators"
if [ "${SHOT:-0}" = 1 ]; then
  /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$OUT/chromium" \
    --screenshot="$OUT/report.png" --window-size=1200,1900 "file://$OUT/report.html" 2>/dev/null
  echo "screenshot: $OUT/report.png"
fi
