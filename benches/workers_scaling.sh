#!/usr/bin/env bash
# Thread-per-core: `netreactor --workers 2` (SO_REUSEPORT, one reactor per thread) against
# `--workers 1`, static index.html, `wrk -t2 -c100 -d4s`, ROUNDS alternating rounds. Prints
# requests/s, the server's CPU (cores, from /proc) and requests per server CPU-second: on a
# machine where wrk shares the server's cores, the throughput ratio only says how much CPU
# wrk left over; the per-CPU-second figure says whether the second reactor costs anything.
# Usage: benches/workers_scaling.sh   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
command -v wrk >/dev/null || { echo "wrk is not installed"; exit 1; }
cargo build --release -q -p netreactor-protocols --bin netreactor
ROOT=$(mktemp -d); echo "Hello, World!" > "$ROOT/index.html"
sleep 1.1  # let the file settle, so both servers serve it from the small-file cache
for ((round = 1; round <= ${ROUNDS:-3}; round++)); do
  for w in 1 2; do
    port=$((18070 + w))
    "$BIN/netreactor" --no-ws --no-ftp --no-telnet --no-echo --http 127.0.0.1:$port --root "$ROOT" --workers $w >/dev/null 2>&1 &
    pid=$!
    sleep 0.6
    c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
    rate=$(wrk -t2 -c100 -d4s "http://127.0.0.1:$port/index.html" | awk '/Requests\/sec/ {print $2}')
    c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
    kill $pid; wait $pid 2>/dev/null || true
    python3 -c "t = max($c1 - $c0, 1) / 100; print('round $round, --workers $w: %.0f req/s, server CPU %.2f cores, %.0f requests per server CPU-second' % ($rate, t / 4, $rate * 4 / t))"
  done
done
rm -rf "$ROOT"
