#!/usr/bin/env bash
# Idle memory per connection: server RSS growth while N idle connections are held, for
# netreactor's echo example, a tokio current_thread echo (examples/tokio_echo.rs, 4 KiB buffer
# per task) and nginx (one worker, each connection served one keep-alive request), in one run.
# Usage: benches/idle_memory.sh [N]   (default 10000; the machine allows ~19,900 fds a process)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --example echo -q -p netreactor
T=${CARGO_TARGET_DIR:-target}
cargo build --release --example tokio_echo -q
bins=("netreactor:$T/release/examples/echo" "tokio_current_thread:$T/release/examples/tokio_echo")
port=17400
for entry in "${bins[@]}"; do
  name=${entry%%:*}; bin=${entry#*:}
  port=$((port + 1))
  "$bin" 127.0.0.1:$port 2>/dev/null &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  sleep 0.5
  printf '%-22s ' "$name"
  python3 benches/idle_hold.py 127.0.0.1 $port $pid "$N" echo
  kill $pid; wait $pid 2>/dev/null || true
done
if command -v nginx >/dev/null; then
  port=$((port + 1))
  dir=$(mktemp -d)
  source benches/nginx_conf.sh
  nginx_conf "$dir" "$port"
  nginx -p "$dir" -c "$dir/nginx.conf" &
  sleep 0.7
  worker=$(pgrep -f "nginx: worker process" -n)
  printf '%-22s ' "nginx_keepalive"
  python3 benches/idle_hold.py 127.0.0.1 $port "$worker" "$N" http
  kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
fi
