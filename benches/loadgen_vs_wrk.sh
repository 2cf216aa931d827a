#!/usr/bin/env bash
# loadgen against wrk on the same HTTP server: `netreactor --http` serving a static file of
# FILE_SIZE bytes (default 20,000; pinned to CPU 0, the client on CPU 1), closed loop, 100
# keep-alive connections, SECS seconds each, alternating wrk/loadgen, loadgen/wrk for ROUNDS
# rounds; prints both rates and their ratio. The file is larger than the server's small-file
# cache (16 KiB), so each request costs the server stat, open, a write and a sendfile, and
# the server stays the bottleneck: against a hello-world handler (or a cached file) both
# clients would measure their own speed.
# Usage: benches/loadgen_vs_wrk.sh   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
SECS=${SECS:-4}; CONNS=${CONNS:-100}; PORT=17320
command -v wrk >/dev/null || { echo "wrk is not installed"; exit 1; }
cargo build --release -q -p netreactor-protocols --bin loadgen --bin netreactor
ROOT=$(mktemp -d); head -c "${FILE_SIZE:-20000}" /dev/zero | tr '\0' 'x' > "$ROOT/index.html"
taskset -c 0 "$BIN/netreactor" --no-ws --no-ftp --no-telnet --no-echo --http 127.0.0.1:$PORT --root "$ROOT" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 0.5
wrk_rate() {
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$PORT/index.html" | awk '/Requests\/sec/ {print $2}'
}
loadgen_rate() {
  taskset -c 1 "$BIN/loadgen" http "http://127.0.0.1:$PORT/index.html" -c "$CONNS" -d "$SECS" --progress 0 --json |
    python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["throughput"])'
}
ws=""; ls=""
for ((i = 0; i < ${ROUNDS:-6}; i++)); do
  if ((i % 2 == 0)); then w=$(wrk_rate); l=$(loadgen_rate); else l=$(loadgen_rate); w=$(wrk_rate); fi
  python3 -c "print('round $i: wrk %.0f req/s, loadgen %.0f req/s, loadgen/wrk %.3f' % ($w, $l, $l / $w))"
  ws="$ws$w,"; ls="$ls$l,"
done
python3 -c "
import statistics as st
w, l = [$ws], [$ls]
r = sorted(b / a for a, b in zip(w, l))
print('all rounds: loadgen/wrk %.3f of the summed rates, median pair %.3f' % (sum(l) / sum(w), st.median(r)))"
