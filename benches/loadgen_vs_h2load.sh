#!/usr/bin/env bash
# loadgen against h2load (`h2load --h1`, nghttp2-client) at CONNS connections (default
# 10,000) on the same HTTP server: `netreactor --http` (one reactor, pinned to CPU 0)
# serving a 14-byte index.html from its small-file cache, the client pinned to CPU 1, closed
# loop, one request in flight per connection, SECS seconds each (default 10), in the order
# h2load loadgen loadgen h2load. For each run: requests/s, connections the client had open
# (its own report) and connections the server held (its descriptors, sampled mid-run).
# A client process may hold 20,000 descriptors here, so 10,000 connections come from one
# process and one source address for both (loadgen could spread over --source addresses,
# h2load cannot).
# Usage: benches/loadgen_vs_h2load.sh   (needs h2load: apt-get install nghttp2-client)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
CONNS=${CONNS:-10000}; SECS=${SECS:-10}; PORT=17330
command -v h2load >/dev/null || { echo "h2load is not installed (nghttp2-client)"; exit 1; }
cargo build --release -q -p netreactor-protocols --bin loadgen --bin netreactor
ROOT=$(mktemp -d); echo "Hello, World!" > "$ROOT/index.html"
taskset -c 0 "$BIN/netreactor" --no-ws --no-ftp --no-telnet --no-echo --http 127.0.0.1:$PORT --root "$ROOT" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 0.5
base_fds=$(ls /proc/$SERVER/fd | wc -l)
held() { sleep $((SECS / 2)); echo $(($(ls /proc/$SERVER/fd | wc -l) - base_fds)); }
h2() {
  held > "$ROOT/held" & local sampler=$!
  local out; out=$(taskset -c 1 h2load --h1 -c "$CONNS" -t 1 -D "$SECS" --warm-up-time=1 "http://127.0.0.1:$PORT/index.html" 2>&1)
  wait $sampler
  local rps
  rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  echo "h2load : $rps req/s, server held $(cat "$ROOT/held") connections; $(echo "$out" | grep -E '^requests:' | head -1)"
}
lg() {
  held > "$ROOT/held" & local sampler=$!
  local out; out=$(taskset -c 1 "$BIN/loadgen" http "http://127.0.0.1:$PORT/index.html" -c "$CONNS" -d $((SECS + 1)) --warmup 1 --ramp 20000 --progress 0 --json)
  wait $sampler
  echo "$out" | python3 -c "
import json,sys; r=json.load(sys.stdin); e=r['errors']
# Responses after the warm-up second (as h2load's --warm-up-time counts them).
rps = r['latency_us']['samples'] / (r['seconds'] - 1)
print('loadgen: %.0f req/s, server held $(cat "$ROOT/held") connections; connected %d of %d, errors %d' % (rps, r['connected'], r['connections'], sum(e.values())))"
}
h2; lg; lg; h2
