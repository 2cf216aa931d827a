#!/usr/bin/env bash
# Idle memory per connection: server RSS growth while 10,000 idle connections are held.
# Usage: benches/idle_memory.sh [N]   (default 10000; the machine allows ~19,900 fds a process)
# Servers measured in the same run: netreactor's echo example, and for scale a tokio
# current_thread echo (examples/tokio_echo.rs, 4 KiB buffer per task) when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --example echo -q
bins=("netreactor:target/release/examples/echo")
if [ -f examples/tokio_echo.rs ]; then
  cargo build --release --example tokio_echo -q
  bins+=("tokio_current_thread:target/release/examples/tokio_echo")
fi
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
