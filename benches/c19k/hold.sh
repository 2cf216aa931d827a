#!/usr/bin/env bash
# One reactor (one thread, pinned to CPU 0) holding 19,000 TCP connections.
#   Phase A: 19,000 idle connections: server RSS per connection, server CPU while idle (10 s),
#            connect rate.
#   Phase B: 17,100 idle + 1,900 echoing 64-byte messages (10%), open loop at RATE echoes/s
#            in all (default 19,000: ten a second on each): latency percentiles, measured
#            from each message's intended send time.
# Usage: benches/c19k/hold.sh [echo|http|nginx|ws]   (default echo)
#   echo: examples/echo; http: netreactor --http serving a 14-byte index.html, each connection
#   sending one GET every 10 s; nginx: the same load on nginx (one worker, keep-alive), the
#   peer to run right after `http`; ws: netreactor --ws, each connection upgraded, one message
#   every 10 s.
# The machine allows 20,000 descriptors per process, so the 10% are part of the 19,000, and
# clients spread over source addresses 127.0.0.2-127.0.0.40.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIND=${1:-echo}
N=${N:-19000}
PORT=17900
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
cargo build --release -q --example echo -p netreactor
cargo build --release -q -p netreactor-protocols --bin loadgen --bin netreactor
case $KIND in
  echo) taskset -c 0 "$BIN/examples/echo" 127.0.0.1:$PORT 2>/dev/null & ;;
  http) ROOT=$(mktemp -d); echo "Hello, World!" > "$ROOT/index.html"
        taskset -c 0 "$BIN/netreactor" --no-ws --no-ftp --no-telnet --no-echo --http 127.0.0.1:$PORT --root "$ROOT" 2>/dev/null & ;;
  nginx) command -v nginx >/dev/null || { echo "nginx is not installed"; exit 1; }
        ROOT=$(mktemp -d); chmod 755 "$ROOT"; echo "Hello, World!" > "$ROOT/index.html"
        source benches/nginx_conf.sh; nginx_conf "$ROOT" "$PORT" "$ROOT"
        taskset -c 0 nginx -p "$ROOT" -c "$ROOT/nginx.conf" & ;;
  ws)   taskset -c 0 "$BIN/netreactor" --no-http --no-ftp --no-telnet --no-echo --ws 127.0.0.1:$PORT 2>/dev/null & ;;
  *) echo "usage: $0 [echo|http|nginx|ws]"; exit 2 ;;
esac
SERVER=$!
MASTER=$SERVER
trap 'kill $MASTER 2>/dev/null; pkill -f "loadgen .*127.0.0.1:$PORT" 2>/dev/null || true' EXIT
sleep 0.5
if [ "$KIND" = nginx ]; then SERVER=$(pgrep -P "$MASTER" -n); fi  # measure the one worker
rss() { awk '/VmRSS/ {print $2}' /proc/$SERVER/status; }
cpu() { awk '{print $14 + $15}' /proc/$SERVER/stat; }
fds() { ls /proc/$SERVER/fd | wc -l; }
base_rss=$(rss); base_fds=$(fds)
# The idle load: hold (echo) or a request every 10 s on each connection (http, ws).
idle_load() {
  local n=$1 dur=$2 src=$3
  case $KIND in
    echo) taskset -c 1 "$BIN/loadgen" hold 127.0.0.1:$PORT -c "$n" -d "$dur" --source "$src" --ramp 20000 --json ;;
    http|nginx) taskset -c 1 "$BIN/loadgen" http 127.0.0.1:$PORT --path /index.html -c "$n" -d "$dur" --source "$src" --ramp 20000 --rate $((n / 10)) --timeout 30 --json ;;
    ws)   taskset -c 1 "$BIN/loadgen" ws-echo 127.0.0.1:$PORT -c "$n" -d "$dur" --source "$src" --ramp 20000 --rate $((n / 10)) --timeout 30 --json ;;
  esac
}
# Waits (20 s at most) until the server holds `want` descriptors.
wait_fds() { local want=$1 end=$((SECONDS + 20)); while [ $SECONDS -lt $end ]; do [ "$(fds)" -ge "$want" ] && return 0; sleep 0.2; done; echo "server holds only $(($(fds) - base_fds)) connections"; return 1; }

echo "== phase A: $N idle connections ($KIND)"
idle_load "$N" 22 127.0.0.2-127.0.0.20 > /tmp/c19k_a.json &
LA=$!
# nginx leaves about 1.3% of 19,000 behind (its worker holds ~18,750): accept 98% there.
wait_fds $((base_fds + N * $([ "$KIND" = nginx ] && echo 98 || echo 100) / 100)) || true
sleep 2
held=$(($(fds) - base_fds))
held_rss=$(rss); c0=$(cpu); sleep 10; c1=$(cpu)
wait $LA
per_conn=$(( (held_rss - base_rss) * 1024 / held ))
echo "server RSS: base ${base_rss} KiB, holding ${held} connections in ${held_rss} KiB -> ${per_conn} B per connection"
echo "server CPU while holding (10 s): $((c1 - c0)) ticks of 10 ms ($(( (c1 - c0) * 10 )) ms)"
python3 -c "import json; r=json.load(open('/tmp/c19k_a.json')); print('connected', r['connected'], 'connect rate %.0f/s' % r['connect_rate'], 'errors', r['errors'])"

echo "== phase B: $((N - N / 10)) idle + $((N / 10)) echoing"
sleep 1
idle_load $((N - N / 10)) 16 127.0.0.21-127.0.0.30 > /tmp/c19k_b_idle.json &
LB=$!
wait_fds $((base_fds + (N - N / 10) * 98 / 100)) || true
case $KIND in
  echo) mode=tcp-echo ;; http|nginx) mode="http --path /index.html" ;; ws) mode=ws-echo ;;
esac
taskset -c 1 "$BIN/loadgen" $mode 127.0.0.1:$PORT -c $((N / 10)) -d 8 --rate "${RATE:-$N}" --warmup 1 --source 127.0.0.31-127.0.0.40 --ramp 20000 --json > /tmp/c19k_b.json
wait $LB
python3 -c "
import json; r=json.load(open('/tmp/c19k_b.json')); l=r['latency_us']; g=r['send_lag_us']
print('echoing %d connections: %.0f responses/s, latency us p50 %d p90 %d p99 %d p99.9 %d max %d (loadgen send lag p99 %d), errors %d' % (r['connected'], r['throughput'], l['p50'], l['p90'], l['p99'], l['p999'], l['max'], g['p99'], sum(r['errors'].values())))"
