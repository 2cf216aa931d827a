#!/usr/bin/env bash
# Latency side by side, same run, same open-loop load (loadgen, RATE requests/s over CONNS
# connections, latency from each request's intended send time): netreactor echo vs tokio
# current_thread echo (64-byte messages), and netreactor http_hello vs nginx (one worker).
# Servers pinned to CPU 0, loadgen to CPU 1. Usage: benches/c19k/latency.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
RATE=${RATE:-20000}; CONNS=${CONNS:-1000}; SECS=${SECS:-5}
cargo build --release -q -p netreactor --example echo --example tokio_echo --example http_hello
cargo build --release -q -p netreactor-protocols --bin loadgen
dir=$(mktemp -d)
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 20000; }
http { access_log off; keepalive_timeout 600; keepalive_requests 1000000;
  server { listen 127.0.0.1:17304; location / { return 200 "Hello, World!"; } } }
CONF
run() { # name mode port command...
  local name=$1 mode=$2 port=$3; shift 3
  taskset -c 0 "$@" >/dev/null 2>&1 & local pid=$!
  sleep 0.7
  taskset -c 1 "$BIN/loadgen" "$mode" 127.0.0.1:$port -c "$CONNS" -d "$SECS" --rate "$RATE" --json > "$dir/$name.json"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  python3 -c "
import json,sys; r=json.load(open('$dir/$name.json')); l=r['latency_us']
print('%-24s %7.0f/s  p50 %6d  p90 %6d  p99 %6d  p99.9 %6d us  errors %d' % ('$name', r['throughput'], l['p50'], l['p90'], l['p99'], l['p999'], sum(r['errors'].values())))"
}
run netreactor_echo tcp-echo 17301 "$BIN/examples/echo" 127.0.0.1:17301
run tokio_echo tcp-echo 17302 "$BIN/examples/tokio_echo" 127.0.0.1:17302
run netreactor_http_hello http 17303 "$BIN/examples/http_hello" 127.0.0.1:17303
run nginx http 17304 nginx -p "$dir" -c "$dir/nginx.conf"
