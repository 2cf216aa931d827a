#!/usr/bin/env bash
# Latency side by side, same run, same open-loop load (loadgen, RATE requests/s over CONNS
# connections, latency from each request's intended send time): netreactor echo vs tokio
# current_thread echo (64-byte messages), and netreactor http_hello vs nginx (one worker).
# Servers pinned to CPU 0, loadgen to CPU 1, in the order A B B A (ROUNDS pairs, default 2)
# so neither side always runs first. Each line shows loadgen's own send lag p99: when it is
# large, that run's tail is the generator's. Usage: benches/c19k/latency.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
RATE=${RATE:-20000}; CONNS=${CONNS:-1000}; SECS=${SECS:-5}
cargo build --release -q -p netreactor --example echo --example tokio_echo --example http_hello
cargo build --release -q -p netreactor-protocols --bin loadgen
dir=$(mktemp -d)
source benches/nginx_conf.sh
nginx_conf "$dir" 17304
run() { # name mode port command...
  local name=$1 mode=$2 port=$3; shift 3
  taskset -c 0 "$@" >/dev/null 2>&1 & local pid=$!
  sleep 0.7
  taskset -c 1 "$BIN/loadgen" "$mode" 127.0.0.1:$port -c "$CONNS" -d "$SECS" --rate "$RATE" --warmup 1 --json > "$dir/$name.json"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  python3 -c "
import json,sys; r=json.load(open('$dir/$name.json')); l=r['latency_us']
g=r['send_lag_us']
print('%-24s %7.0f/s  p50 %6d  p90 %6d  p99 %6d  p99.9 %6d us  (send lag p99 %d)  errors %d' % ('$name', r['throughput'], l['p50'], l['p90'], l['p99'], l['p999'], g['p99'], sum(r['errors'].values())))"
}
ours_echo() { run netreactor_echo tcp-echo 17301 "$BIN/examples/echo" 127.0.0.1:17301; }
tokio_echo() { run tokio_echo tcp-echo 17302 "$BIN/examples/tokio_echo" 127.0.0.1:17302; }
ours_http() { run netreactor_http_hello http 17303 "$BIN/examples/http_hello" 127.0.0.1:17303; }
nginx_http() { run nginx http 17304 nginx -p "$dir" -c "$dir/nginx.conf"; }
for ((i = 0; i < ${ROUNDS:-2}; i++)); do
  if ((i % 2 == 0)); then ours_echo; tokio_echo; else tokio_echo; ours_echo; fi
done
for ((i = 0; i < ${ROUNDS:-2}; i++)); do
  if ((i % 2 == 0)); then ours_http; nginx_http; else nginx_http; ours_http; fi
done
